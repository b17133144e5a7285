/**
 * Checks for values a model reads from a file's JSON (architecture fields, training records,
 * vocabularies) before they size anything, and for the weights it reads. The model loaders
 * (language-model-file.ts, task-file.ts, pytorch.ts) use them so a damaged or forged file ends in
 * one clear RecurError instead of a TypeError, a huge allocation or a model that computes NaN.
 *
 * Each check takes `bad`, the loader's way to make its 'FORMAT' error (it names the file), and
 * returns the value with its type narrowed.
 *
 * Browser-safe: no `node:` imports.
 */
import { RecurError } from '../errors.js'
import { resolveTokenizerOptions, type TokenizerOptions, type TokenizerOptionsInput } from '../text/tokenizers.js'
import { Vocabulary } from '../text/vocabulary.js'
import { describeValue, quoteName, shortName } from './describe.js'

/** Makes the loader's error for a problem with the file's contents. */
export type BadFile = (problem: string) => RecurError

/** `value` as an integer in [min, max]; else `bad` names `what`. */
export function fileInt(value: unknown, what: string, min: number, max: number, bad: BadFile): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max >= Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`
    throw bad(`${what} is ${describeValue(value)}, expected an integer ${range}`)
  }
  return value
}

/** `value` as a finite number in [min, max]. */
export function fileNumber(value: unknown, what: string, min: number, max: number, bad: BadFile): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw bad(`${what} is ${describeValue(value)}, expected a number in [${min}, ${max}]`)
  }
  return value
}

/** `value` as one of `allowed`. */
export function fileEnum<T extends string>(value: unknown, what: string, allowed: readonly T[], bad: BadFile): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw bad(`${what} is ${describeValue(value)}, expected one of ${allowed.join(', ')}`)
  }
  return value as T
}

/** `value` as a boolean. */
export function fileBoolean(value: unknown, what: string, bad: BadFile): boolean {
  if (typeof value !== 'boolean') throw bad(`${what} is ${describeValue(value)}, expected true or false`)
  return value
}

/** `value` as a plain JSON object (not null, not an array). */
export function fileRecord(value: unknown, what: string, bad: BadFile): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} is ${describeValue(value)}, expected an object`)
  return value as Record<string, unknown>
}

/**
 * The checked fields of `checked`, in the order the file wrote them (so a model saved again
 * writes the same bytes), without the file's unknown fields (which nothing would check).
 */
export function inFileOrder<T extends object>(file: Record<string, unknown>, checked: T): T {
  const known = Object.keys(checked)
  const order = [...Object.keys(file).filter((key) => known.includes(key)), ...known.filter((key) => !Object.hasOwn(file, key))]
  return Object.fromEntries(order.map((key) => [key, checked[key as keyof T]])) as T
}

/** `value` as a list of strings. */
export function fileStrings(value: unknown, what: string, bad: BadFile): string[] {
  if (!Array.isArray(value)) throw bad(`${what} is ${describeValue(value)}, expected a list of strings`)
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') throw bad(`${what}[${i}] is ${describeValue(value[i])}, expected a string`)
  }
  return value as string[]
}

/**
 * `value` as a record of scalars (strings, finite numbers, booleans, null), or null: what a task
 * model records about its training. Nested values are refused, so nothing from the file is walked
 * deeply later (saving the model again prints it).
 */
export function fileScalarRecord(value: unknown, what: string, bad: BadFile): Record<string, string | number | boolean | null> | null {
  if (value === null || value === undefined) return null
  const record = fileRecord(value, what, bad)
  for (const [key, field] of Object.entries(record)) {
    const scalar = field === null || typeof field === 'string' || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field))
    if (!scalar) throw bad(`${what}.${quoteName(key).slice(1, -1)} is ${describeValue(field)}, expected a string, number, boolean or null`)
  }
  return record as Record<string, string | number | boolean | null>
}

/** The first line of what `error` says, cut to `most` characters: for quoting another check's message in ours. */
export function causeText(error: unknown, most = 200): string {
  const text = error instanceof Error ? error.message : String(error)
  return shortName(text.split('\n')[0] ?? text, most)
}

/**
 * A vocabulary from the file (`Vocabulary.fromJSON`): its refusals keep their code ('FORMAT' or
 * 'VERSION') and gain the file's name, with a quoted token cut short.
 */
export function fileVocabulary(value: unknown, source: string, what: string): Vocabulary {
  try {
    return Vocabulary.fromJSON(value)
  } catch (error) {
    if (!(error instanceof RecurError)) throw error
    throw new RecurError(error.code, `${source}: ${what}: ${causeText(error)}`, 'The file is damaged or was not written by recur')
  }
}

/** Tokenizer settings from the file, completed with their defaults; 'FORMAT' when they are not valid. */
export function fileTokenizer(value: unknown, what: string, bad: BadFile): TokenizerOptions {
  try {
    return resolveTokenizerOptions(value as TokenizerOptionsInput)
  } catch (error) {
    throw bad(`invalid ${what} (${causeText(error)})`)
  }
}

/**
 * Refuses weights that are not all finite: a model with a NaN or infinite weight computes NaN for
 * every input that reaches it, so loading it would only move the failure somewhere less clear
 * (a prediction of NaN, a sample drawn from NaN probabilities). 'NON_FINITE' names the file, the
 * tensor and the first bad index.
 */
export function checkFiniteWeights(source: string, name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RecurError(
        'NON_FINITE',
        `${source}: tensor ${quoteName(name)} holds ${values[i]} at index ${i}; a model's weights must be finite numbers`,
        'The model diverged while training, or the file is damaged: load an earlier checkpoint, or train again with a lower --lr or with --clip',
      )
    }
  }
}

/**
 * The number of float32 values the file's tensors hold: an upper bound on the parameters any
 * architecture it describes may have (every parameter is stored). Loaders compare an
 * architecture's size with it before building the model, so a forged header cannot make them
 * allocate more than the file holds.
 */
export function storedFloats(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>): number {
  let total = 0
  for (const t of tensors.values()) if (t.data instanceof Float32Array) total += t.data.length
  return total
}

/** Refuses an architecture whose weights (at least `needed` floats) cannot be in a file holding `stored`. */
export function checkParameterBudget(needed: number, stored: number, what: string, bad: BadFile): void {
  if (!(needed <= stored)) {
    const count = Number.isFinite(needed) && needed < 1e15 ? String(needed) : needed.toExponential(2)
    throw bad(`${what} needs at least ${count} weights, but the file's tensors hold ${stored}`)
  }
}
