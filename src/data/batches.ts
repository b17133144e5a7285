/**
 * Batches of variable-length sequences: right padding with masks, in the time-major layout of the
 * kernels, and the order in which a training run visits the examples (shuffled, optionally
 * length-bucketed so that a batch holds sequences of similar length and little padding).
 *
 * Layout, stated once: B sequences of lengths L_b padded to T >= max_b L_b (the longest, unless a
 * length is asked for: the task models pad to `gridLength`) are stored time-major,
 * (T,B): value t of sequence b is at [t*B + b]. Padding goes on the right (t >= L_b); there
 * mask[t*B + b] = 0 and the value is the pad value; elsewhere mask = 1. A zero-length sequence is
 * all padding (a model that reads a final state must refuse it or treat it specially).
 *
 * Every random choice goes through `random.uniform()` (pass a seeded `Random` from
 * `../random.js`), so the same seed gives the same order on every platform.
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError, expectInt } from '../errors.js'

/** A padded batch of token ids. */
export interface PaddedBatch {
  /** Time steps: the longest length. */
  T: number
  /** Sequences. */
  B: number
  /** (T,B) token ids, padId after each sequence's end. */
  ids: Int32Array
  /** (T,B) 1 for a real token, 0 for padding. */
  mask: Float32Array
  /** (B) each sequence's length. */
  lengths: Int32Array
}

/** A padded batch of per-token class labels (multi-class tagging). */
export interface PaddedLabels {
  T: number
  B: number
  /** (T,B) label ids, padLabel after each sequence's end. */
  labels: Int32Array
  /** (T,B) 1 for a real token, 0 for padding. */
  mask: Float32Array
  /** (B) each sequence's length. */
  lengths: Int32Array
}

/** A padded batch of per-token float targets (binary tagging with a sigmoid: 0 or 1 per token). */
export interface PaddedTargets {
  T: number
  B: number
  /** (T,B) targets, padValue after each sequence's end. */
  targets: Float32Array
  /** (T,B) 1 for a real token, 0 for padding. */
  mask: Float32Array
  /** (B) each sequence's length. */
  lengths: Int32Array
}

/** Options of the padding functions. */
export interface PadOptions {
  /** Pad to at least this many time steps (default: the longest sequence). */
  length?: number
}

/**
 * The padded length the task models use for a batch whose longest sequence is `T`: T itself up to
 * 8, above that the next value of a grid with four steps per octave (10, 12, 14, 16, 20, 24, 28,
 * 32, 40, ...), so at most 25% padding. Models keep their buffers per (T,B) shape; on this grid a
 * dataset with lengths up to Tmax makes about 4 log2(Tmax) shapes whose buffers add up to about 6x
 * those of the longest, where exact lengths would keep one set per distinct length (hundreds).
 * Padding never changes a result (the masks keep it out); it costs the padded steps' time.
 */
export function gridLength(T: number): number {
  expectInt('gridLength: T', T, 0)
  if (T <= 8) return T
  let step = 1
  while (step * 8 < T) step *= 2
  return Math.ceil(T / step) * step
}

/** The length of the longest sequence. */
export function longestLength(sequences: readonly ArrayLike<number>[]): number {
  let T = 0
  for (const sequence of sequences) if (sequence !== null && typeof sequence === 'object' && sequence.length > T) T = sequence.length
  return T
}

/**
 * Pads token-id sequences on the right into a time-major (T,B) batch with its mask.
 * @param sequences B >= 1 sequences of integer ids >= 0
 * @param padId the id written into padding (the vocabulary's `<PAD>` id, or any id: the mask
 *   keeps it out of every result)
 * @throws RecurError 'SHAPE' for no sequences, 'RANGE' for a bad padId or an id that is not an
 *   integer >= 0.
 */
export function padBatch(sequences: readonly ArrayLike<number>[], padId: number, options: PadOptions = {}): PaddedBatch {
  expectInt('padBatch: padId', padId, 0)
  const { T, B, lengths, mask } = layout('padBatch', sequences, options)
  const ids = new Int32Array(T * B).fill(padId)
  fill('padBatch', 'id', sequences, B, ids, (value) => Number.isInteger(value) && value >= 0 && value <= 0x7fffffff)
  return { T, B, ids, mask, lengths }
}

/**
 * Pads per-token label-id sequences the way `padBatch` pads token ids.
 * @param padLabel the label id written into padding, default 0 (a valid class id, so that a loss
 *   kernel can index it; the mask gives it weight 0)
 * @throws RecurError 'SHAPE' for no sequences, 'RANGE' for a label that is not an integer >= 0.
 */
export function padLabels(sequences: readonly ArrayLike<number>[], padLabel = 0, options: PadOptions = {}): PaddedLabels {
  expectInt('padLabels: padLabel', padLabel, 0)
  const { T, B, lengths, mask } = layout('padLabels', sequences, options)
  const labels = new Int32Array(T * B).fill(padLabel)
  fill('padLabels', 'label', sequences, B, labels, (value) => Number.isInteger(value) && value >= 0 && value <= 0x7fffffff)
  return { T, B, labels, mask, lengths }
}

/**
 * Pads per-token float targets (e.g. 0/1 per token for a sigmoid tagger) the same way.
 * @param padValue the value written into padding, default 0
 * @throws RecurError 'SHAPE' for no sequences, 'NON_FINITE' for a value that is not finite.
 */
export function padTargets(sequences: readonly ArrayLike<number>[], padValue = 0, options: PadOptions = {}): PaddedTargets {
  if (!Number.isFinite(padValue)) throw new RecurError('NON_FINITE', `padTargets: padValue ${padValue} is not finite`)
  const { T, B, lengths, mask } = layout('padTargets', sequences, options)
  const targets = new Float32Array(T * B).fill(padValue)
  for (let b = 0; b < B; b++) {
    const sequence = sequences[b]!
    for (let t = 0; t < sequence.length; t++) {
      const value = sequence[t]!
      if (!Number.isFinite(value)) throw new RecurError('NON_FINITE', `padTargets: sequence ${b} has ${value} at position ${t}`)
      targets[t * B + b] = value
    }
  }
  return { T, B, targets, mask, lengths }
}

/**
 * The (B,K) 0/1 target matrix of multi-label examples: row b has 1 in the columns of its labels.
 * @param labelIds for each example, the ids of its labels (each in [0, K); repeats allowed)
 * @throws RecurError 'RANGE' for a bad K or a label id outside [0, K).
 */
export function multiHot(labelIds: readonly ArrayLike<number>[], K: number): Float32Array {
  expectInt('multiHot: K', K, 1)
  const B = labelIds.length
  const out = new Float32Array(B * K)
  for (let b = 0; b < B; b++) {
    const ids = labelIds[b]!
    for (let i = 0; i < ids.length; i++) {
      const k = ids[i]!
      if (!Number.isInteger(k) || k < 0 || k >= K) {
        throw new RecurError('RANGE', `multiHot: example ${b} has label id ${k}, expected an integer in [0, ${K - 1}]`)
      }
      out[b * K + k] = 1
    }
  }
  return out
}

/** Options of `batchOrder`. */
export interface BatchOrderOptions {
  /** Group sequences of similar length into the same batch (less padding). */
  bucket: boolean
  /** Shuffle the examples (and then the batches); off gives file order, for prediction. */
  shuffle: boolean
  /** With `bucket`: how many batches' worth of examples are sorted by length together. Default 50. */
  bucketBatches?: number
}

/**
 * The batches of one epoch, as lists of example indices; every index in [0, N) appears exactly
 * once, every batch but possibly one holds `batchSize` indices (the short one is the last when
 * nothing is shuffled).
 * 1. start from 0 .. N-1, shuffled if `shuffle`;
 * 2. if `bucket`: cut that list into chunks of `bucketBatches * batchSize` and sort each chunk by
 *    length (stable: equal lengths keep their shuffled order), so that neighbours have similar
 *    lengths while the chunk boundaries keep some randomness;
 * 3. cut into batches of `batchSize`;
 * 4. if `shuffle`: shuffle the batches, so that short and long batches alternate across the epoch.
 * Deterministic for a seeded `random` (which is only used when `shuffle` is on).
 * @param lengths the length of each example's sequence (only read when bucketing)
 * @throws RecurError 'RANGE' for a bad batchSize, bucketBatches or length.
 */
export function batchOrder(lengths: readonly number[], batchSize: number, random: { uniform(): number }, options: BatchOrderOptions): number[][] {
  const operation = 'batchOrder'
  expectInt(`${operation}: batchSize`, batchSize, 1)
  const bucketBatches = options.bucketBatches ?? 50
  expectInt(`${operation}: bucketBatches`, bucketBatches, 1)
  const N = lengths.length
  const order = Array.from({ length: N }, (_, i) => i)
  if (options.shuffle) shuffleInPlace(order, random)
  if (options.bucket) {
    for (let i = 0; i < N; i++) expectInt(`${operation}: length of example ${i}`, lengths[i]!, 0)
    const chunk = bucketBatches * batchSize
    for (let start = 0; start < N; start += chunk) {
      const sorted = order.slice(start, start + chunk).sort((a, b) => lengths[a]! - lengths[b]!)
      for (let i = 0; i < sorted.length; i++) order[start + i] = sorted[i]!
    }
  }
  const batches: number[][] = []
  for (let start = 0; start < N; start += batchSize) batches.push(order.slice(start, start + batchSize))
  if (options.shuffle) shuffleInPlace(batches, random)
  return batches
}

/**
 * Splits N examples into a training and a validation part, at random: a seeded shuffle, the first
 * round(N * fraction) indices (at least 1 and at most N-1 when fraction > 0) for validation, the
 * rest for training. Both lists come back in increasing order.
 * @throws RecurError 'RANGE' for a fraction outside [0, 1) or a bad N; 'DATA' when fraction > 0
 *   and there are fewer than 2 examples to split.
 */
export function splitTrainValidation(n: number, fraction: number, random: { uniform(): number }): { train: number[]; validation: number[] } {
  const operation = 'splitTrainValidation'
  expectInt(`${operation}: n`, n, 0)
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RecurError('RANGE', `${operation}: fraction ${fraction} is not in [0, 1)`, 'Give the share of the examples to hold out for validation, e.g. 0.1')
  }
  const all = Array.from({ length: n }, (_, i) => i)
  if (fraction === 0) return { train: all, validation: [] }
  if (n < 2) {
    throw new RecurError('DATA', `${operation}: cannot hold out a validation share of ${n} ${n === 1 ? 'example' : 'examples'}`, 'Use a larger dataset or a separate validation file')
  }
  const count = Math.min(n - 1, Math.max(1, Math.round(n * fraction)))
  shuffleInPlace(all, random)
  const byIndex = (a: number, b: number): number => a - b
  return { train: all.slice(count).sort(byIndex), validation: all.slice(0, count).sort(byIndex) }
}

/** Fisher-Yates: every permutation equally likely for a uniform `random`. */
export function shuffleInPlace<T>(items: T[], random: { uniform(): number }): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random.uniform() * (i + 1)))
    const held = items[i]!
    items[i] = items[j]!
    items[j] = held
  }
  return items
}

// ---------------------------------------------------------------------------------------------
// Helpers

function layout(operation: string, sequences: readonly ArrayLike<number>[], options: PadOptions): { T: number; B: number; lengths: Int32Array; mask: Float32Array } {
  if (!Array.isArray(sequences) || sequences.length === 0) {
    throw new RecurError('SHAPE', `${operation}: expected a non-empty array of sequences, got ${Array.isArray(sequences) ? 'an empty one' : typeof sequences}`)
  }
  const B = sequences.length
  const lengths = new Int32Array(B)
  let T = 0
  for (let b = 0; b < B; b++) {
    const sequence = sequences[b]
    if (sequence === null || typeof sequence !== 'object' || typeof sequence.length !== 'number') {
      throw new RecurError('SHAPE', `${operation}: sequence ${b} is not an array`)
    }
    lengths[b] = sequence.length
    if (sequence.length > T) T = sequence.length
  }
  if (options.length !== undefined) {
    expectInt(`${operation}: options.length`, options.length, T)
    T = options.length
  }
  const mask = new Float32Array(T * B)
  for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]!; t++) mask[t * B + b] = 1
  return { T, B, lengths, mask }
}

function fill(operation: string, what: string, sequences: readonly ArrayLike<number>[], B: number, out: Int32Array, valid: (value: number) => boolean): void {
  for (let b = 0; b < B; b++) {
    const sequence = sequences[b]!
    for (let t = 0; t < sequence.length; t++) {
      const value = sequence[t]!
      if (!valid(value)) throw new RecurError('RANGE', `${operation}: sequence ${b} has ${what} ${value} at position ${t}, expected an integer >= 0`)
      out[t * B + b] = value
    }
  }
}
