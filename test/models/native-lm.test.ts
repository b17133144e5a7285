/**
 * The language model trained on the native backend follows the reference backend: same seed, same
 * data, every cell kind and input path, a few training steps (forward, loss, backward, clipping,
 * Adam), compared step by step. Differences are float rounding only (a different summation order
 * in the GEMMs, vectorised exp / tanh), so the first step's loss and gradients agree to ~1e-6 and
 * the losses stay within 1e-4 over the steps. Skipped, with the reason, where the addon is not built.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { NativeKernels } from '../../src/kernels/native/index.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { LanguageModelTrainer } from '../../src/train/language-model-trainer.js'
import { charData, syntheticCorpus } from '../helpers/lm.js'
import { scaledRelativeError } from '../helpers/setup.js'

function nativeOrReason(): NativeKernels | string {
  try {
    return new NativeKernels({ threads: 2 })
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

const { vocabulary, ids } = charData(syntheticCorpus(400))

const variants: [string, Partial<LanguageModelArchitecture>][] = [
  ['LSTM, 2 layers', { cell: 'lstm' }],
  ['LSTM with peepholes', { cell: 'lstm', peephole: true }],
  ['GRU, reset after', { cell: 'gru', reset: 'after' }],
  ['GRU, reset before', { cell: 'gru', reset: 'before' }],
  ['RNN', { cell: 'rnn' }],
  ['LSTM with an embedding and dropout', { cell: 'lstm', embedding: 24, dropout: 0.2 }],
]

function model(k: Kernels, overrides: Partial<LanguageModelArchitecture>): LanguageModel {
  return new LanguageModel(k, {
    cell: 'lstm', layers: 2, hidden: 64, vocabularySize: vocabulary.size, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...overrides,
  }, 3)
}

function trainer(m: LanguageModel): LanguageModelTrainer {
  return new LanguageModelTrainer(m, ids, {
    batch: 16, seqLength: 24, steps: 8, lr: 0.01, optimizer: 'adam', weightDecay: 0, clip: 1, schedule: 'constant', warmup: 0, seed: 5,
  })
}

describe('language model: native training follows the reference backend', () => {
  for (const [name, overrides] of variants) {
    test(name, async (t) => {
      const native = nativeOrReason()
      if (typeof native === 'string') return t.skip(`native backend unavailable: ${native}`)
      const reference = new ReferenceKernels('f32')
      const a = model(native, overrides), b = model(reference, overrides)
      assert.deepEqual(await a.params.readValues(), await b.params.readValues(), 'same initial parameters')

      // One forward and backward: the loss and every gradient, before any update.
      const T = 24, B = 16
      const inputs = Array.from(ids.subarray(0, T * B)), targets = Array.from(ids.subarray(1, T * B + 1))
      for (const m of [a, b]) {
        m.forward(T, B, inputs, null)
        m.params.zeroGrads()
        m.lossAndBackward(targets)
      }
      const lossA = await a.loss.mean(native), lossB = await b.loss.mean(reference)
      assert.ok(Math.abs(lossA - lossB) <= 1e-5 * lossB, `first loss: native ${lossA}, reference ${lossB}`)
      const gradA = await native.read(a.params.grads), gradB = await reference.read(b.params.grads)
      const gradError = scaledRelativeError(gradA, gradB)
      assert.ok(gradError <= 1e-3, `gradients differ by ${gradError.toExponential(2)} (relative, floored at 1e-3 of the largest)`)

      // A few training steps: losses step by step.
      const ta = trainer(model(native, overrides)), tb = trainer(model(reference, overrides))
      for (let step = 1; step <= 8; step++) {
        ta.trainStep()
        tb.trainStep()
        const la = await ta.readLoss(), lb = await tb.readLoss()
        assert.ok(Math.abs(la - lb) <= 1e-4 * lb, `step ${step}: loss native ${la}, reference ${lb}`)
      }
    })
  }
})
