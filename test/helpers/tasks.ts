/**
 * Synthetic sequence tasks for the learning tests, drawn from a seeded Random so every run sees the
 * same data. Every array is time-major like the layers: index (t * B + b) for (T,B), times X for (T,B,X).
 */
import type { BufferHandle, FloatArray, Kernels } from '../../src/kernels/types.js'
import type { Random } from '../../src/random.js'

/**
 * Reverse: read n symbols, then write them back in reverse order.
 *
 *   t:        0 .. n-1          n .. 2n-1
 *   input:    s_0 .. s_{n-1}    0 .. 0          ids: 0 = "answer now", symbol s -> s + 1  (V_in = A + 1)
 *   target:   (masked)          s_{n-1} .. s_0  classes 0 .. A-1, mask 1 on the answer steps only
 */
export interface ReverseBatch {
  T: number
  B: number
  inputs: Int32Array
  targets: Int32Array
  mask: Float32Array
  /** Σ mask = n * B, the positions the loss and the accuracy count. */
  count: number
}

export function reverseBatch(random: Random, B: number, n: number, alphabet: number): ReverseBatch {
  const T = 2 * n
  const inputs = new Int32Array(T * B), targets = new Int32Array(T * B), mask = new Float32Array(T * B)
  for (let b = 0; b < B; b++) {
    const symbols = Array.from({ length: n }, () => random.int(alphabet))
    for (let t = 0; t < n; t++) inputs[t * B + b] = symbols[t] + 1
    for (let t = n; t < T; t++) {
      targets[t * B + b] = symbols[T - 1 - t]
      mask[t * B + b] = 1
    }
  }
  return { T, B, inputs, targets, mask, count: n * B }
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997): x<t> = (value ~ U(0,1), marker). Exactly two
 * steps are marked, one in the first half and one in the second; the target is the sum of their
 * values (in [0, 2]), to be output after the last step. Inputs (T,B,2), sums (B).
 */
export interface AddingBatch {
  xs: Float32Array
  sums: Float32Array
}

export function addingBatch(random: Random, T: number, B: number): AddingBatch {
  const xs = new Float32Array(T * B * 2), sums = new Float32Array(B)
  const half = Math.floor(T / 2)
  for (let b = 0; b < B; b++) {
    const first = random.int(half), second = half + random.int(T - half)
    for (let t = 0; t < T; t++) {
      const value = random.uniform()
      xs[(t * B + b) * 2] = value
      if (t === first || t === second) {
        xs[(t * B + b) * 2 + 1] = 1
        sums[b] += value
      }
    }
  }
  return { xs, sums }
}

/**
 * Delayed recall: x<0> is the one-hot of a class in [0, V), the T-1 steps after it are N(0, noise²)
 * distractors; the target (B) is the class, to be output after the last step. Inputs (T,B,V).
 */
export function recallBatch(random: Random, T: number, B: number, V: number, noise: number): { xs: Float32Array; classes: Int32Array } {
  const xs = new Float32Array(T * B * V), classes = new Int32Array(B)
  for (let b = 0; b < B; b++) {
    classes[b] = random.int(V)
    xs[b * V + classes[b]] = 1
    for (let t = 1; t < T; t++) {
      for (let j = 0; j < V; j++) xs[(t * B + b) * V + j] = noise * random.normal()
    }
  }
  return { xs, classes }
}

/** Fraction of the rows of logits (N,V) whose argmax is the target, over rows with mask 1 (all rows without a mask). */
export function tokenAccuracy(logits: FloatArray, V: number, targets: Int32Array, mask: Float32Array | null = null): number {
  let correct = 0, counted = 0
  for (let r = 0; r < targets.length; r++) {
    if (mask !== null && mask[r] === 0) continue
    let best = 0
    for (let v = 1; v < V; v++) if (logits[r * V + v] > logits[r * V + best]) best = v
    if (best === targets[r]) correct++
    counted++
  }
  return correct / counted
}

/** A new buffer holding `data` (i32 for an Int32Array, float otherwise). */
export function upload(k: Kernels, data: Float32Array | Int32Array): BufferHandle {
  const buf = k.alloc(data.length, data instanceof Int32Array ? 'i32' : 'f32')
  k.write(buf, data)
  return buf
}

/** Largest |value| of a read-back, or NaN if any value is not finite. */
export function maxAbs(values: FloatArray): number {
  let worst = 0
  for (const v of values) {
    if (!Number.isFinite(v)) return NaN
    worst = Math.max(worst, Math.abs(v))
  }
  return worst
}

/**
 * Word order, for text classification: a sentence of `minLength` to `minLength + lengthSpan - 1`
 * words drawn from `filler`, with 'cat' and 'dog' once each at random places; the label says which
 * comes first ('cat-first' or 'dog-first'), so a bag of words cannot tell.
 */
export function wordOrderSentence(random: Random, filler: readonly string[], minLength: number, lengthSpan: number): { text: string; label: string } {
  const length = minLength + random.int(lengthSpan)
  const words = Array.from({ length }, () => filler[random.int(filler.length)]!)
  const cat = random.int(length)
  let dog = random.int(length - 1)
  if (dog >= cat) dog++
  words[cat] = 'cat'
  words[dog] = 'dog'
  return { text: words.join(' '), label: cat < dog ? 'cat-first' : 'dog-first' }
}
