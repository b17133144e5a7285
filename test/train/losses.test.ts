/**
 * SoftmaxCrossEntropy and BinaryCrossEntropy against values worked out by hand (logits chosen so
 * the softmax is a simple fraction), with masks, and with logits of ±1e4 where the textbook
 * formulas overflow. Float64 comparisons are to 1e-12; the float32 backend is held to finite
 * results within its precision.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RecurError } from '../../src/errors.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { BinaryCrossEntropy, SoftmaxCrossEntropy } from '../../src/train/losses.js'
import { f32, f64 } from '../helpers/setup.js'

const { log, log1p, exp, LN2 } = Math

function buffer(k: Kernels, values: readonly number[], dtype: 'f32' | 'i32' = 'f32'): BufferHandle {
  const buf = k.alloc(values.length, dtype)
  k.write(buf, values)
  return buf
}

async function near(k: Kernels, what: string, buf: BufferHandle, want: readonly number[], tol: number): Promise<void> {
  const got = [...(await k.read(buf))]
  assert.equal(got.length, want.length, `${what}: length`)
  got.forEach((g, i) => {
    assert.ok(Number.isFinite(g), `${what}[${i}] = ${g} is not finite`)
    assert.ok(Math.abs(g - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `${what}[${i}]: got ${g}, want ${want[i]}`)
  })
}

function nearValue(what: string, got: number, want: number, tol: number): void {
  assert.ok(Number.isFinite(got), `${what} = ${got} is not finite`)
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`)
}

// ---- softmax cross-entropy -------------------------------------------------------------------------------------
// V = 3. Row 0: logits [0, ln 2, ln 5] -> softmax [1/8, 2/8, 5/8]; target 2 -> loss ln(8/5).
// Row 1: [1, 1, 1] -> [1/3, 1/3, 1/3]; target 0 -> ln 3.
// Row 2: [5, -5, 0]; target 1 -> loss = log(e^5 + e^-5 + 1) + 5 = 10 + log1p(e^-10 + e^-5).

const SOFTMAX_LOGITS = [0, LN2, log(5), 1, 1, 1, 5, -5, 0]
const SOFTMAX_TARGETS = [2, 0, 1]
const ROW2_LOSS = 10 + log1p(exp(-10) + exp(-5))
const ROW2_PROBS = [exp(5), exp(-5), 1].map((e) => e / (exp(5) + exp(-5) + 1))

test('softmax cross-entropy without a mask: per-row losses, mean, and the gradient of the mean', async () => {
  const k = f64()
  const loss = new SoftmaxCrossEntropy()
  loss.compute(k, 3, 3, buffer(k, SOFTMAX_LOGITS), buffer(k, SOFTMAX_TARGETS, 'i32'))
  await near(k, 'losses', loss.losses, [log(8 / 5), log(3), ROW2_LOSS], 1e-12)
  nearValue('mean', await loss.mean(k), (log(8 / 5) + log(3) + ROW2_LOSS) / 3, 1e-12)
  // d mean / d logits = (softmax - onehot) / 3
  await near(k, 'dLogits', loss.dLogits, [
    1 / 24, 2 / 24, (5 / 8 - 1) / 3,
    (1 / 3 - 1) / 3, 1 / 9, 1 / 9,
    ROW2_PROBS[0] / 3, (ROW2_PROBS[1] - 1) / 3, ROW2_PROBS[2] / 3,
  ], 1e-12)
})

test('softmax cross-entropy with a mask: masked rows count for nothing, the mean is over the real ones', async () => {
  const k = f64()
  const loss = new SoftmaxCrossEntropy()
  loss.compute(k, 3, 3, buffer(k, SOFTMAX_LOGITS), buffer(k, SOFTMAX_TARGETS, 'i32'), buffer(k, [1, 1, 0]), 2)
  await near(k, 'losses', loss.losses, [log(8 / 5), log(3), 0], 1e-12)
  nearValue('mean', await loss.mean(k), (log(8 / 5) + log(3)) / 2, 1e-12)
  await near(k, 'dLogits', loss.dLogits, [1 / 16, 2 / 16, -3 / 16, -1 / 3, 1 / 6, 1 / 6, 0, 0, 0], 1e-12)
  // A weighted mask scales each row's loss and gradient; count is Σ mask.
  loss.compute(k, 3, 3, buffer(k, SOFTMAX_LOGITS), buffer(k, SOFTMAX_TARGETS, 'i32'), buffer(k, [2, 0.5, 0]), 2.5)
  await near(k, 'weighted losses', loss.losses, [2 * log(8 / 5), 0.5 * log(3), 0], 1e-12)
  nearValue('weighted mean', await loss.mean(k), (2 * log(8 / 5) + 0.5 * log(3)) / 2.5, 1e-12)
})

test('softmax cross-entropy with logits of ±1e4: finite losses and gradients, in f64 and f32', async () => {
  // Row 0: target at -1e4 while another logit is 1e4 -> loss 2e4, softmax is onehot(0).
  // Row 1: target at the maximum -> loss 0.  Rows 2, 3: all equal at ±1e4 -> ln 3, softmax 1/3 each.
  const logits = [1e4, -1e4, 0, 1e4, -1e4, 0, 1e4, 1e4, 1e4, -1e4, -1e4, -1e4]
  const targets = [1, 0, 2, 1]
  const losses = [2e4, 0, log(3), log(3)]
  const grads = [1, -1, 0, 0, 0, 0, 1 / 3, 1 / 3, -2 / 3, 1 / 3, -2 / 3, 1 / 3].map((g) => g / 4)
  for (const [k, tol] of [[f64(), 1e-12], [f32(), 1e-6]] as const) {
    const loss = new SoftmaxCrossEntropy()
    loss.compute(k, 4, 3, buffer(k, logits), buffer(k, targets, 'i32'))
    await near(k, `${k.precision} losses`, loss.losses, losses, tol)
    nearValue(`${k.precision} mean`, await loss.mean(k), (2e4 + 2 * log(3)) / 4, tol)
    await near(k, `${k.precision} dLogits`, loss.dLogits, grads, tol)
  }
})

test('softmax cross-entropy with gradient = false leaves dLogits as it was', async () => {
  const k = f64()
  const loss = new SoftmaxCrossEntropy()
  const targets = buffer(k, SOFTMAX_TARGETS, 'i32')
  loss.compute(k, 3, 3, buffer(k, SOFTMAX_LOGITS), targets)
  const before = [...await k.read(loss.dLogits)]
  loss.compute(k, 3, 3, buffer(k, SOFTMAX_LOGITS.map((z) => -z)), targets, null, undefined, false)
  assert.deepEqual([...await k.read(loss.dLogits)], before)
  await near(k, 'losses of the second call', loss.losses, [log(1 + 1 / 2 + 1 / 5) + log(5), log(3), log(exp(-5) + exp(5) + 1) - 5], 1e-12)
})

test('a loss with no unmasked position is refused (DATA), naming the count', () => {
  const k = f64()
  for (const count of [0, -1, NaN]) {
    assert.throws(() => new SoftmaxCrossEntropy().compute(k, 1, 2, buffer(k, [0, 0]), buffer(k, [0], 'i32'), buffer(k, [0]), count), (e: unknown) => {
      assert.ok(e instanceof RecurError)
      assert.equal(e.code, 'DATA')
      assert.ok(e.message.includes(`count ${count}`), e.message)
      return true
    })
    assert.throws(() => new BinaryCrossEntropy().compute(k, 1, buffer(k, [0]), buffer(k, [1]), buffer(k, [0]), count), { name: 'RecurError' })
  }
})

// ---- binary cross-entropy -----------------------------------------------------------------------------------
// σ(0) = 1/2, σ(ln 3) = 3/4. loss = -(y log σ(z) + (1-y) log(1 - σ(z))), gradient σ(z) - y.
// At z = ±1e4 the textbook form takes log(0); the answer is |z| when the target is on the wrong
// side and 0 when it is on the right one.

const Z = [0, log(3), log(3), log(3), 1e4, -1e4, 1e4, -1e4]
const Y = [1, 1, 0, 0.5, 0, 0, 1, 1]
const BCE_LOSSES = [LN2, log(4 / 3), log(4), 0.5 * log(4 / 3) + 0.5 * log(4), 1e4, 0, 0, 1e4]
const BCE_SLOPES = [-0.5, -0.25, 0.75, 0.25, 1, 0, 0, -1] // σ(z) - y

test('binary cross-entropy without a mask, including logits of ±1e4, in f64 and f32', async () => {
  for (const [k, tol] of [[f64(), 1e-12], [f32(), 1e-6]] as const) {
    const loss = new BinaryCrossEntropy()
    loss.compute(k, 8, buffer(k, Z), buffer(k, Y))
    await near(k, `${k.precision} losses`, loss.losses, BCE_LOSSES, tol)
    nearValue(`${k.precision} mean`, await loss.mean(k), BCE_LOSSES.reduce((a, b) => a + b) / 8, tol)
    await near(k, `${k.precision} dLogits`, loss.dLogits, BCE_SLOPES.map((g) => g / 8), tol)
  }
})

test('binary cross-entropy with a mask: masked steps count for nothing', async () => {
  const k = f64()
  const mask = [1, 1, 0, 1, 1, 0, 1, 1]
  const loss = new BinaryCrossEntropy()
  loss.compute(k, 8, buffer(k, Z), buffer(k, Y), buffer(k, mask), 6)
  await near(k, 'losses', loss.losses, BCE_LOSSES.map((l, i) => l * mask[i]), 1e-12)
  nearValue('mean', await loss.mean(k), BCE_LOSSES.reduce((a, l, i) => a + l * mask[i], 0) / 6, 1e-12)
  await near(k, 'dLogits', loss.dLogits, BCE_SLOPES.map((g, i) => (g * mask[i]) / 6), 1e-12)
})
