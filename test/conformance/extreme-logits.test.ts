/**
 * Stable math for extreme logits: softmax cross-entropy (its log-sum-exp and its gradient),
 * softmax, sigmoid binary cross-entropy (loss and gradient) and the sigmoid / tanh activations,
 * with logits of ±1e4 (e^1e4 overflows any float), on every backend: the reference (f32 and f64)
 * and the native addon on each instruction set this CPU runs. Every result must be finite and
 * match values computed here in f64 with the max-shifted / softplus forms. Rows are 37 wide so
 * that the native kernels run both their vector loops and their scalar leftovers.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { NATIVE_ISAS, NativeKernels } from '../../src/kernels/native/index.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'

const V = 37
const BIG = 1e4

/** Rows of logits (N, V): the extremes, mixed, and the same value everywhere. */
function logitRows(): number[][] {
  const spread = Array.from({ length: V }, (_, v) => (v % 3 === 0 ? BIG : v % 3 === 1 ? -BIG : 0))
  const oneHigh = Array.from({ length: V }, (_, v) => (v === 5 ? BIG : -BIG))
  const twoHigh = Array.from({ length: V }, (_, v) => (v === 0 ? BIG : v === V - 1 ? BIG - 1 : -BIG))
  return [spread, oneHigh, twoHigh, Array(V).fill(BIG), Array(V).fill(-BIG), spread.map((z) => -z)]
}
/** A target per row: a top logit, a bottom one, the runner-up, the last, the first, a middle one. */
const TARGETS = [1, 5, V - 1, V - 1, 0, 17]

/** log Σ e^z in f64, max-shifted. */
function logSumExp(row: readonly number[]): number {
  const max = Math.max(...row)
  return max + Math.log(row.reduce((sum, z) => sum + Math.exp(z - max), 0))
}

const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/** The backends under test, or the reason one cannot start here. */
function backends(): { name: string; make: () => Kernels | string }[] {
  const list: { name: string; make: () => Kernels | string }[] = [
    { name: 'reference f32', make: () => new ReferenceKernels('f32') },
    { name: 'reference f64', make: () => new ReferenceKernels('f64') },
  ]
  for (const isa of NATIVE_ISAS) {
    list.push({
      name: `native (${isa})`,
      make: () => {
        try {
          return new NativeKernels({ isa, threads: 2 })
        } catch (error) {
          return error instanceof Error ? error.message : String(error)
        }
      },
    })
  }
  return list
}

/** Asserts that every value is finite and within `tolerance` x max(1, |want|) of `want`. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`)
  for (let i = 0; i < want.length; i++) {
    assert.ok(Number.isFinite(got[i]), `${what}[${i}] is ${got[i]}, expected ${want[i]}`)
    const error = Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!))
    assert.ok(error <= tolerance, `${what}[${i}] is ${got[i]}, expected ${want[i]} (relative error ${error})`)
  }
}

function upload(k: Kernels, values: readonly number[], dtype: 'f32' | 'i32' = 'f32') {
  const buf = k.alloc(values.length, dtype)
  k.write(buf, values)
  return buf
}

// f32 rounding of results of size up to 2e4, and of probabilities: a few ulps of f32.
const TOLERANCE = 4e-7

for (const backend of backends()) {
  const made = backend.make()
  describe(`extreme logits: ${backend.name}`, { skip: typeof made === 'string' ? made : false }, () => {
    const k = made as Kernels

    test('softmax cross-entropy: loss = log-sum-exp - z[target], gradient = softmax - onehot', async () => {
      const rows = logitRows()
      const N = rows.length
      const losses = k.alloc(N)
      const dLogits = k.alloc(N * V)
      const mask = upload(k, [1, 1, 1, 1, 1, 0.5])
      k.softmaxCrossEntropy(N, V, upload(k, rows.flat()), upload(k, TARGETS, 'i32'), mask, losses, dLogits, 0.25)
      const wantLoss = rows.map((row, r) => (r === N - 1 ? 0.5 : 1) * (logSumExp(row) - row[TARGETS[r]!]!))
      assertClose(await k.read(losses), wantLoss, TOLERANCE, 'losses')
      const wantGrad = rows.flatMap((row, r) => {
        const lse = logSumExp(row)
        const m = r === N - 1 ? 0.5 : 1
        return row.map((z, v) => 0.25 * m * (Math.exp(z - lse) - (v === TARGETS[r] ? 1 : 0)))
      })
      assertClose(await k.read(dLogits), wantGrad, TOLERANCE, 'dLogits')
    })

    test('softmax: probabilities of ±1e4 logits, at temperature 1 and 0.5', async () => {
      const rows = logitRows()
      const probs = k.alloc(rows.length * V)
      for (const invTemperature of [1, 2]) {
        k.softmax(rows.length, V, upload(k, rows.flat()), probs, invTemperature)
        const want = rows.flatMap((row) => {
          const scaled = row.map((z) => z * invTemperature)
          const lse = logSumExp(scaled)
          return scaled.map((z) => Math.exp(z - lse))
        })
        assertClose(await k.read(probs), want, TOLERANCE, `probabilities at 1/T = ${invTemperature}`)
      }
    })

    test('sigmoid binary cross-entropy: loss = y softplus(-z) + (1-y) softplus(z), gradient = σ(z) - y', async () => {
      const zs = [BIG, -BIG, 100, -100, 88.8, -88.8, 20, -20, 0, 1e-3]
      const ys = [0, 1, 0.5, 0.25]
      const z = Array.from({ length: V }, (_, i) => zs[i % zs.length]!)
      const y = Array.from({ length: V }, (_, i) => ys[i % ys.length]!)
      const losses = k.alloc(V)
      const dLogits = k.alloc(V)
      k.sigmoidCrossEntropy(V, upload(k, z), upload(k, y), null, losses, dLogits, 1)
      assertClose(await k.read(losses), z.map((zi, i) => y[i]! * softplus(-zi) + (1 - y[i]!) * softplus(zi)), TOLERANCE, 'losses')
      assertClose(await k.read(dLogits), z.map((zi, i) => sigmoid(zi) - y[i]!), TOLERANCE, 'dLogits')
    })

    test('sigmoid and tanh activations saturate to exact limits, never NaN', async () => {
      const x = Array.from({ length: V }, (_, i) => [BIG, -BIG, 100, -100, 0][i % 5]!)
      const y = k.alloc(V)
      k.activation('sigmoid', V, upload(k, x), y)
      assertClose(await k.read(y), x.map(sigmoid), TOLERANCE, 'sigmoid')
      k.activation('tanh', V, upload(k, x), y)
      assertClose(await k.read(y), x.map(Math.tanh), TOLERANCE, 'tanh')
    })
  })
}
