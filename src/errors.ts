/**
 * Typed errors. Every error recur throws on purpose is a `RecurError` with a stable `code`, a
 * message that names the operation and the values involved, and (where there is one) what to do.
 * The library never prints; the CLI turns these into one-line messages.
 */

/** Stable error codes; the CLI and tests match on these, never on message text. */
export type RecurErrorCode =
  | 'SHAPE' // a tensor or array has the wrong size
  | 'RANGE' // a number is outside its allowed range (token id, option value)
  | 'NON_FINITE' // NaN or Infinity where a finite number is needed
  | 'OPTION' // an unknown or contradictory option
  | 'BACKEND' // a backend cannot start or is unknown
  | 'FILE' // missing, unreadable or unwritable file
  | 'FORMAT' // a file's content is malformed, truncated or corrupt
  | 'VERSION' // a file of another format version or model kind
  | 'DATA' // a corpus or dataset that cannot be used (empty, too short, binary)
  | 'TOKEN' // an unknown token where unknown tokens are refused
  | 'STATE' // an API used in the wrong order (e.g. backward before forward)

export class RecurError extends Error {
  readonly code: RecurErrorCode
  /** What the user can do about it, when there is something. */
  readonly hint: string | undefined

  constructor(code: RecurErrorCode, message: string, hint?: string) {
    super(hint === undefined ? message : `${message}. ${hint}`)
    this.name = 'RecurError'
    this.code = code
    this.hint = hint
  }
}

/** Throws a SHAPE error unless `got` equals `expected`. `what` names the operand. */
export function expectSize(what: string, expected: number, got: number): void {
  if (expected !== got) {
    throw new RecurError('SHAPE', `${what}: expected ${expected} values, got ${got}`)
  }
}

/** Throws a RANGE error unless `value` is an integer in [lo, hi]. */
export function expectInt(what: string, value: number, lo: number, hi = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    const range = hi === Number.MAX_SAFE_INTEGER ? `an integer >= ${lo}` : `an integer in [${lo}, ${hi}]`
    throw new RecurError('RANGE', `${what}: expected ${range}, got ${value}`)
  }
}

/** Throws an OPTION error unless `value` is one of `allowed`. */
export function expectOneOf(what: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) {
    throw new RecurError('OPTION', `${what}: expected one of ${allowed.join(', ')}, got '${String(value)}'`)
  }
}

/** Throws a NON_FINITE error naming the first bad index of `values`. */
export function expectFinite(what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RecurError('NON_FINITE', `${what}: value ${values[i]} at index ${i} is not finite`)
    }
  }
}

/**
 * A value as an error message names it: a string quoted (cut to 40 characters), a number or
 * boolean as written, else what it is ('null', 'missing', 'an array', 'an object', 'a function').
 */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'object') return 'an object'
  if (value === undefined) return 'missing'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return `a ${typeof value}`
}
