/**
 * Learning test, GRU family: the adding problem (Hochreiter & Schmidhuber 1997), a long-range task.
 *
 *   task:   T = 30 steps of (value ~ U(0,1), marker); one step in the first half and one in the
 *           second are marked; after the last step, output the sum of the two marked values
 *           (test/helpers/tasks.ts: addingBatch). The first value must be kept for up to 29 steps
 *           while 28 distractors go by.
 *   model:  xs (T,B,2) -> GRU (1 layer, H = 16, reset 'after') -> final a<T> -> Dense (H -> 1);
 *           squared error, whose gradient enters the GRU as the gradient of its final state.
 *           Adam, lr 0.02 with a cosine decay to 5% over the 1500 steps, clipping at norm 1.
 *   accuracy: a prediction is correct when |prediction - sum| < 0.04 (the original paper's criterion).
 *   check:  every 100 steps, accuracy on 1000 fresh sequences; once it reaches 99.5%, training stops
 *           and 2000 other fresh sequences must score >= 99%. It must get there within 1500 steps
 *           (a sweep over seeds 1-3 took 500-1100 steps).
 *
 * recur has no squared-error loss, so the test builds it from kernels without a read-back:
 * diff = pred - y (copy, axpy), dPred = (2/B) diff (copy, scale), and for the log Σ diff² (sumSquares).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import { Dense } from '../../src/layers/dense.js'
import { StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { Random } from '../../src/random.js'
import { Optimizer, clipGradients, scheduledLr } from '../../src/train/optimizers.js'
import { addingBatch, upload } from '../helpers/tasks.js'

const T = 30, H = 16, B = 64, lr = 0.02
const maxSteps = 1500, evalEvery = 100, stopAt = 0.995, required = 0.99, tolerance = 0.04

test(`GRU solves the adding problem (T = ${T}) to >= ${required * 100}% within |error| < ${tolerance} in at most ${maxSteps} steps`, async (t) => {
  const k = new ReferenceKernels('f32')
  const params = new ParamBuilder()
  const gru = new StackedRecurrent(params, 'gru', { kind: 'gru', inputSize: 2, hiddenSize: H, reset: 'after' })
  const head = new Dense(params, 'head', H, 1)
  const store = params.build(k, new Random(2))
  const optimizer = new Optimizer(store, { kind: 'adam', lr })
  const data = new Random(102), validation = new Random(202), testData = new Random(302)
  const xs = k.alloc(T * B * 2), sums = k.alloc(B), diff = k.alloc(B), dPred = k.alloc(B)
  const sumSq = k.alloc(1), errorSq = k.alloc(1)

  /** Fraction of `sequences` fresh sequences predicted within the tolerance (forward only). */
  const accuracy = async (random: Random, sequences: number): Promise<number> => {
    const batch = addingBatch(random, T, sequences)
    const { finals } = gru.forward(k, T, sequences, upload(k, batch.xs), null)
    const predictions = await k.read(head.forward(k, sequences, finals[0].h))
    return predictions.filter((p, b) => Math.abs(p - batch.sums[b]) < tolerance).length / sequences
  }

  let step = 0, reached = 0, lastMse = NaN
  while (step < maxSteps && reached < stopAt) {
    step++
    const batch = addingBatch(data, T, B)
    k.write(xs, batch.xs)
    k.write(sums, batch.sums)
    store.zeroGrads()
    const { finals } = gru.forward(k, T, B, xs, null)
    const pred = head.forward(k, B, finals[0].h)
    // L = (1/B) Σ (pred - y)²  ->  dL/dpred = (2/B) (pred - y)
    k.copy(1, B, pred, 0, diff, 0)
    k.axpy(B, -1, sums, diff)
    k.copy(1, B, diff, 0, dPred, 0)
    k.scale(B, dPred, 2 / B)
    // Only a<T> feeds the loss: its gradient is the final state's; the outputs get none.
    gru.backward(k, null, [{ h: head.backward(k, dPred), c: null }])
    clipGradients(store, { maxNorm: 1 }, sumSq)
    optimizer.update(scheduledLr(lr, step, { kind: 'cosine', total: maxSteps, minFactor: 0.05 }))
    if (step % evalEvery === 0) {
      k.sumSquares(B, diff, errorSq)
      lastMse = (await k.read(errorSq))[0] / B
      reached = await accuracy(validation, 1000)
    }
  }
  assert.ok(reached >= stopAt, `validation accuracy ${reached} after ${step} steps (mse ${lastMse}); needs ${stopAt}`)
  const final = await accuracy(testData, 2000)
  t.diagnostic(`validation ${(reached * 100).toFixed(2)}% at step ${step}, test ${(final * 100).toFixed(2)}%, mse ${lastMse.toExponential(2)}`)
  assert.ok(final >= required, `test accuracy ${final} at step ${step}; needs ${required}`)
})
