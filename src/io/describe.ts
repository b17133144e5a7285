/**
 * Values from files in error messages. A file from a stranger may hold a 100,000-character name,
 * a 10,000-element shape or an array nested 100,000 deep where a number belongs; a message quotes
 * such values shortened (so it stays one readable line) and never walks or prints them whole
 * (JSON.stringify of very deep nesting overflows the stack).
 *
 * Browser-safe: no `node:` imports.
 */

/** Characters of a string shown before it is cut. */
const MOST_CHARACTERS = 40
/** Elements of an array shown before it is cut. */
const MOST_ELEMENTS = 6

/** `text` cut to `most` characters (code units), with '...' when it was longer. */
function cut(text: string, most: number): string {
  return text.length > most ? `${text.slice(0, most)}...` : text
}

/**
 * A short description of any value for an error message: strings quoted (and cut), numbers,
 * booleans and null as JSON writes them, arrays and objects by their size. Never longer than
 * about 60 characters, whatever the value.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`
  switch (typeof value) {
    case 'string':
      return JSON.stringify(cut(value, MOST_CHARACTERS))
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'undefined':
      return 'nothing'
    case 'object':
      return ArrayBuffer.isView(value) ? `a ${value.constructor.name}` : 'an object'
    default:
      return `a ${typeof value}`
  }
}

/** A name from a file (a tensor, field or label name), quoted and cut to `most` characters. */
export function quoteName(name: string, most = 60): string {
  return JSON.stringify(cut(name, most))
}

/** A name from a file, unquoted, cut to `most` characters. */
export function shortName(name: string, most = 60): string {
  return cut(name, most)
}

/** A shape as `[a, b, c]`, cut after a few dimensions; entries that are not numbers are described. */
export function describeShape(shape: readonly unknown[]): string {
  const shown = shape.slice(0, MOST_ELEMENTS).map((d) => (typeof d === 'number' ? String(d) : describeValue(d)))
  return `[${shown.join(', ')}${shape.length > MOST_ELEMENTS ? `, ... (${shape.length} dimensions)` : ''}]`
}
