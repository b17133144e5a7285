/**
 * Vanishing and exploding gradients, measured on recur's own backward pass (float32 reference
 * backend, standard initialisation: Glorot W_ih, orthogonal W_hh blocks, LSTM forget bias 1).
 *
 *   vanishing: T = 50, loss = Σ a<T> * R (a fixed random projection of the last step only), so
 *              dL/dx<t> is what reaches step t from the end. ratio = ||dL/dx<1>|| / ||dL/dx<T>||.
 *              Measured over seeds 1-3: vanilla RNN 5e-8 .. 9e-8, LSTM 1.3e-2 .. 1.8e-2 (its cell
 *              state carries the gradient through Γf ~ σ(1)), so the RNN's ratio is 3e-6 .. 7e-6 of
 *              the LSTM's; the test asserts < 1e-3 per seed.
 *   exploding: a vanilla RNN with W_hh scaled by 3 on a delayed-recall task (class at t = 1, noise
 *              after, answer after t = T = 50). Measured over seeds 1-3: gradient norm 4.3e5 .. 2.7e6
 *              against 1.9 .. 2.3 unscaled (asserted: > 1e3 times). With SGD at lr 0.1 and no
 *              clipping, the largest |weight| goes from 1.74 .. 1.86 to 8.5e3 .. 5.2e4 within the 100
 *              steps (asserted: > 1e3, or non-finite); clipped to global norm 1, the 100 steps stay
 *              finite with the largest |weight| at 1.78 .. 1.85 (asserted: below twice its start)
 *              while the raw norms still reach 2.3e6 .. 3.7e6 (asserted: > 1e3).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CellKind } from '../../src/cells/recurrent.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import { Dense } from '../../src/layers/dense.js'
import { StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { Random } from '../../src/random.js'
import { SoftmaxCrossEntropy } from '../../src/train/losses.js'
import { Optimizer, clipGradients, type ClipOptions } from '../../src/train/optimizers.js'
import { maxAbs, recallBatch, upload } from '../helpers/tasks.js'

const T = 50
const seeds = [1, 2, 3]

/** ||dL/dx<1>|| / ||dL/dx<T>|| for loss = Σ a<T> * R, x<t> ~ N(0,1). */
async function firstToLastRatio(k: Kernels, kind: CellKind, seed: number): Promise<number> {
  const B = 8, X = 8, H = 32
  const params = new ParamBuilder()
  const stack = new StackedRecurrent(params, kind, { kind, inputSize: X, hiddenSize: H })
  params.build(k, new Random(seed))
  const random = new Random(seed + 100)
  const xs = upload(k, Float32Array.from({ length: T * B * X }, () => random.normal()))
  const R = upload(k, Float32Array.from({ length: B * H }, () => random.normal()))
  stack.forward(k, T, B, xs, null)
  // Only a<T> feeds the loss: the outputs get no gradient, the final state gets R (and dc<T> = 0).
  const { dxs } = stack.backward(k, null, [{ h: R, c: null }])
  const d = await k.read(dxs!)
  const norm = (t: number) => Math.hypot(...d.subarray(t * B * X, (t + 1) * B * X))
  return norm(0) / norm(T - 1)
}

test(`vanishing gradients (T = ${T}): a vanilla RNN's ||dL/dx<1>|| / ||dL/dx<T>|| is < 1e-3 times an LSTM's`, async () => {
  const k = new ReferenceKernels('f32')
  for (const seed of seeds) {
    const rnn = await firstToLastRatio(k, 'rnn', seed)
    const lstm = await firstToLastRatio(k, 'lstm', seed)
    assert.ok(rnn > 0 && lstm > 0 && Number.isFinite(lstm), `seed ${seed}: ratios rnn ${rnn}, lstm ${lstm}`)
    assert.ok(rnn < 1e-3 * lstm, `seed ${seed}: RNN ratio ${rnn.toExponential(2)} is not < 1e-3 x LSTM ratio ${lstm.toExponential(2)}`)
  }
})

/** A vanilla RNN (H = 32) + Dense on delayed recall of one of V = 4 classes, W_hh scaled by `recurrentScale`. */
function recallModel(k: Kernels, seed: number, recurrentScale: number) {
  const V = 4, H = 32, B = 16
  const params = new ParamBuilder()
  const rnn = new StackedRecurrent(params, 'rnn', { kind: 'rnn', inputSize: V, hiddenSize: H })
  const head = new Dense(params, 'head', H, V)
  const store = params.build(k, new Random(seed))
  const wHh = store.get('rnn.l0.weight_hh')
  k.scale(wHh.size, wHh.value, recurrentScale)
  const loss = new SoftmaxCrossEntropy()
  const data = new Random(seed + 100)
  const xs = k.alloc(T * B * V), classes = k.alloc(B, 'i32'), sumSq = k.alloc(1)
  /** One step: zero grads, forward, loss, backward, clip (sumSq holds the squared norm before clipping). */
  const gradientStep = (clip: ClipOptions): void => {
    const batch = recallBatch(data, T, B, V, 0.1)
    k.write(xs, batch.xs)
    k.write(classes, batch.classes)
    store.zeroGrads()
    const { finals } = rnn.forward(k, T, B, xs, null)
    const logits = head.forward(k, B, finals[0].h)
    loss.compute(k, B, V, logits, classes)
    rnn.backward(k, null, [{ h: head.backward(k, loss.dLogits), c: null }])
    clipGradients(store, clip, sumSq)
  }
  const gradientNorm = async () => Math.sqrt((await k.read(sumSq))[0])
  return { store, loss, gradientStep, gradientNorm }
}

test('exploding gradients: W_hh x 3 gives > 1e3 x the gradient norm (T = 50)', async () => {
  const k = new ReferenceKernels('f32')
  for (const seed of seeds) {
    const norms = []
    for (const scale of [1, 3]) {
      const model = recallModel(k, seed, scale)
      model.gradientStep({})
      norms.push(await model.gradientNorm())
    }
    const [standard, scaled] = norms
    assert.ok(Number.isFinite(scaled), `seed ${seed}: norm ${scaled}`)
    assert.ok(scaled > 1e3 * standard, `seed ${seed}: norm ${scaled.toExponential(2)} with W_hh x 3 is not > 1e3 x ${standard.toExponential(2)}`)
  }
})

test('exploding gradients, SGD lr 0.1, W_hh x 3: unclipped weights blow up > 1e3; clipped at norm 1 they stay finite and < 2x their start for 100 steps', async () => {
  const k = new ReferenceKernels('f32')
  const steps = 100, readEvery = 10
  for (const seed of seeds) {
    // Without clipping.
    {
      const model = recallModel(k, seed, 3)
      const optimizer = new Optimizer(model.store, { kind: 'sgd', lr: 0.1, momentum: 0 })
      const start = maxAbs(await k.read(model.store.values))
      for (let step = 1; step <= steps; step++) {
        model.gradientStep({})
        optimizer.update()
      }
      const end = maxAbs(await k.read(model.store.values))
      assert.ok(Number.isNaN(end) || end > 1e3, `seed ${seed}, no clipping: largest |weight| ${start} -> ${end}, expected > 1e3`)
    }
    // With clipping by global norm.
    {
      const model = recallModel(k, seed, 3)
      const optimizer = new Optimizer(model.store, { kind: 'sgd', lr: 0.1, momentum: 0 })
      const start = maxAbs(await k.read(model.store.values))
      let largestNorm = 0
      for (let step = 1; step <= steps; step++) {
        model.gradientStep({ maxNorm: 1 })
        optimizer.update()
        if (step % readEvery === 0) {
          const loss = await model.loss.mean(k)
          const norm = await model.gradientNorm()
          assert.ok(Number.isFinite(loss) && Number.isFinite(norm), `seed ${seed}, clipped, step ${step}: loss ${loss}, norm ${norm}`)
          largestNorm = Math.max(largestNorm, norm)
        }
      }
      const end = maxAbs(await k.read(model.store.values))
      assert.ok(end < 2 * start, `seed ${seed}, clipped: largest |weight| ${start} -> ${end}, expected finite and < ${2 * start}`)
      assert.ok(largestNorm > 1e3, `seed ${seed}, clipped: raw gradient norms up to ${largestNorm}, expected the explosion (> 1e3) to persist`)
    }
  }
})
