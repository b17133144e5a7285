/**
 * Learning test, LSTM family: a 2-layer LSTM learns to reverse sequences of symbols.
 *
 *   task:   read 5 symbols from an alphabet of 6, then output them in reverse order during 5 more
 *           steps (test/helpers/tasks.ts: reverseBatch); loss and accuracy count the answer steps only.
 *   model:  ids (T,B) -> StackedRecurrent (LSTM, 2 layers, H = 16, lookup input = one-hot x<t>)
 *           -> Dense (H -> 6) -> masked softmax cross-entropy; Adam, lr 0.03, clipping at norm 5.
 *   check:  every 100 steps, token accuracy on 500 fresh sequences; once it reaches 99.5%, training
 *           stops and 2000 other fresh sequences (10000 answer tokens) must score >= 99%. It must
 *           get there within 1500 steps (a sweep over seeds 1-6 took 600-1100 steps).
 *
 * Float32 reference backend, fixed seeds: the run is deterministic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import { Dense } from '../../src/layers/dense.js'
import { StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { Random } from '../../src/random.js'
import { SoftmaxCrossEntropy } from '../../src/train/losses.js'
import { Optimizer, clipGradients } from '../../src/train/optimizers.js'
import { reverseBatch, tokenAccuracy, upload } from '../helpers/tasks.js'

const n = 5, A = 6, H = 16, B = 32
const maxSteps = 1500, evalEvery = 100, stopAt = 0.995, required = 0.99

test(`2-layer LSTM reverses 5 symbols of 6 to >= ${required * 100}% token accuracy within ${maxSteps} steps`, async (t) => {
  const k = new ReferenceKernels('f32')
  const params = new ParamBuilder()
  const stack = new StackedRecurrent(params, 'lstm', { kind: 'lstm', input: 'lookup', inputSize: A + 1, hiddenSize: H, layers: 2 })
  const head = new Dense(params, 'head', H, A)
  const store = params.build(k, new Random(1))
  const optimizer = new Optimizer(store, { kind: 'adam', lr: 0.03 })
  const loss = new SoftmaxCrossEntropy()
  const T = 2 * n, N = T * B
  const inputs = k.alloc(N, 'i32'), targets = k.alloc(N, 'i32'), mask = k.alloc(N), sumSq = k.alloc(1)
  const data = new Random(101), validation = new Random(201), testData = new Random(301)

  /** Token accuracy over the answer steps of `sequences` fresh sequences (forward only). */
  const accuracy = async (random: Random, sequences: number): Promise<number> => {
    const batch = reverseBatch(random, sequences, n, A)
    const { ys } = stack.forward(k, T, sequences, upload(k, batch.inputs), null)
    const logits = head.forward(k, T * sequences, ys)
    return tokenAccuracy(await k.read(logits), A, batch.targets, batch.mask)
  }

  let step = 0, reached = 0, lastLoss = NaN
  while (step < maxSteps && reached < stopAt) {
    step++
    const batch = reverseBatch(data, B, n, A)
    k.write(inputs, batch.inputs)
    k.write(targets, batch.targets)
    k.write(mask, batch.mask)
    store.zeroGrads()
    const { ys } = stack.forward(k, T, B, inputs, null)
    const logits = head.forward(k, N, ys)
    loss.compute(k, N, A, logits, targets, mask, batch.count)
    stack.backward(k, head.backward(k, loss.dLogits), null)
    clipGradients(store, { maxNorm: 5 }, sumSq)
    optimizer.update()
    if (step % evalEvery === 0) {
      lastLoss = await loss.mean(k)
      reached = await accuracy(validation, 500)
    }
  }
  assert.ok(reached >= stopAt, `validation accuracy ${reached} after ${step} steps (loss ${lastLoss}); needs ${stopAt}`)
  const final = await accuracy(testData, 2000)
  t.diagnostic(`validation ${(reached * 100).toFixed(2)}% at step ${step}, test ${(final * 100).toFixed(2)}%, loss ${lastLoss.toFixed(4)}`)
  assert.ok(final >= required, `test accuracy ${final} at step ${step}; needs ${required}`)
})
