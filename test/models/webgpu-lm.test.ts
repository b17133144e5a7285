/**
 * The language model trained on the WebGPU backend follows the reference backend: same seed, same
 * data, every cell kind and input path, a forward and backward and a few training steps (loss,
 * backward, clipping, Adam) compared step by step, as for the native backend. Differences are float
 * rounding only (other summation orders in the tiled GEMM and the reductions, the GPU's exp), so the
 * first loss and gradients agree to ~1e-6 and the losses stay within 1e-4 over the steps.
 *
 * The cells run on webgpu's fused step kernels (one dispatch per time step, the recurrent GEMM and
 * the gate math together; checked with a spy), so all of this tests them inside a model too.
 *
 * Then the end-to-end check: a small LSTM trained 16 steps on webgpu lowers its loss, ends where the
 * reference backend ends, and, saved and loaded on the reference backend, samples the same text as
 * it does on webgpu with the same seed.
 *
 * Without a GPU this runs on Chromium's SwiftShader driver (set here when VK_DRIVER_FILES is unset),
 * so the models are small; where no adapter can be had, the tests skip with the reason.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'

import { sampleTokens } from '../../src/decode/sampling.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import { WebGpuKernels } from '../../src/kernels/webgpu/index.js'
import { startWebGpuNode } from '../../src/kernels/webgpu/node.js'
import { decodeLanguageModel, encodeLanguageModel } from '../../src/models/language-model-file.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import { LanguageModelTrainer } from '../../src/train/language-model-trainer.js'
import { countCalls } from '../helpers/count-calls.js'
import { charData, collect, syntheticCorpus } from '../helpers/lm.js'
import { scaledRelativeError } from '../helpers/setup.js'

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json'
if (process.env['VK_DRIVER_FILES'] === undefined && existsSync(SWIFTSHADER)) process.env['VK_DRIVER_FILES'] = SWIFTSHADER

let started: Promise<WebGpuKernels> | null = null

async function webgpuOrReason(): Promise<WebGpuKernels | string> {
  try {
    return await (started ??= startWebGpuNode({ allowSoftware: true }))
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

const { vocabulary, ids } = charData(syntheticCorpus(300))
const [T, B] = [8, 8] // small: each time step is a few dispatches, each a round of the CPU emulation

const variants: [string, Partial<LanguageModelArchitecture>][] = [
  ['LSTM, 2 layers', { cell: 'lstm' }],
  ['LSTM with peepholes', { cell: 'lstm', peephole: true }],
  ['GRU, reset after', { cell: 'gru', reset: 'after' }],
  ['GRU, reset before', { cell: 'gru', reset: 'before' }],
  ['RNN', { cell: 'rnn' }],
  ['LSTM with an embedding and dropout', { cell: 'lstm', embedding: 12, dropout: 0.2 }],
]

function model(k: Kernels, overrides: Partial<LanguageModelArchitecture>, hidden = 24): LanguageModel {
  return new LanguageModel(k, {
    cell: 'lstm', layers: 2, hidden, vocabularySize: vocabulary.size, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...overrides,
  }, 3)
}

function trainer(m: LanguageModel, steps: number): LanguageModelTrainer {
  return new LanguageModelTrainer(m, ids, {
    batch: B, seqLength: T, steps, lr: 0.01, optimizer: 'adam', weightDecay: 0, clip: 1, schedule: 'constant', warmup: 0, seed: 5,
  })
}

describe('language model: webgpu training follows the reference backend', () => {
  for (const [name, overrides] of variants) {
    test(name, async (t) => {
      const gpu = await webgpuOrReason()
      if (typeof gpu === 'string') return t.skip(`webgpu backend unavailable: ${gpu}`)
      const reference = new ReferenceKernels('f32')
      const a = model(gpu, overrides), b = model(reference, overrides)
      assert.deepEqual(await a.params.readValues(), await b.params.readValues(), 'same initial parameters')

      // One forward and backward: the loss and every gradient, before any update.
      const inputs = Array.from(ids.subarray(0, T * B)), targets = Array.from(ids.subarray(1, T * B + 1))
      for (const m of [a, b]) {
        m.forward(T, B, inputs, null)
        m.params.zeroGrads()
        m.lossAndBackward(targets)
      }
      const lossA = await a.loss.mean(gpu), lossB = await b.loss.mean(reference)
      assert.ok(Math.abs(lossA - lossB) <= 1e-5 * lossB, `first loss: webgpu ${lossA}, reference ${lossB}`)
      const gradError = scaledRelativeError(await gpu.read(a.params.grads), await reference.read(b.params.grads))
      assert.ok(gradError <= 1e-3, `gradients differ by ${gradError.toExponential(2)} (relative, floored at 1e-3 of the largest)`)

      // A few training steps: losses step by step.
      const ta = trainer(model(gpu, overrides), 2), tb = trainer(model(reference, overrides), 2)
      for (let step = 1; step <= 2; step++) {
        ta.trainStep()
        tb.trainStep()
        const la = await ta.readLoss(), lb = await tb.readLoss()
        assert.ok(Math.abs(la - lb) <= 1e-4 * lb, `step ${step}: loss webgpu ${la}, reference ${lb}`)
      }
    })
  }
})

test('on webgpu the cells take the fused step kernels: one per layer and time step, forward and backward', async (t) => {
  const gpu = await webgpuOrReason()
  if (typeof gpu === 'string') return t.skip(`webgpu backend unavailable: ${gpu}`)
  const spied = new WebGpuKernels(gpu.device, gpu.adapter) // the same device and compiled programs, counted
  const calls = countCalls(spied, ['lstmStep', 'lstmBackwardStep', 'lstmForward', 'lstmBackward'])
  const m = model(spied, { cell: 'lstm' })
  m.forward(T, B, Array.from(ids.subarray(0, T * B)), null)
  m.params.zeroGrads()
  m.lossAndBackward(Array.from(ids.subarray(1, T * B + 1)))
  assert.ok(Number.isFinite(await m.loss.mean(spied)))
  const layers = 2
  assert.deepEqual(Object.fromEntries(calls), { lstmStep: layers * T, lstmBackwardStep: layers * T, lstmForward: 0, lstmBackward: 0 })
})

test('a small LSTM trained 16 steps on webgpu: the loss falls as on the reference backend, and it samples the same text there', async (t) => {
  const gpu = await webgpuOrReason()
  if (typeof gpu === 'string') return t.skip(`webgpu backend unavailable: ${gpu}`)
  const reference = new ReferenceKernels('f32')
  const steps = 16
  const onGpu = model(gpu, { cell: 'lstm' }), onReference = model(reference, { cell: 'lstm' })
  const ta = trainer(onGpu, steps), tb = trainer(onReference, steps)
  const losses: number[] = []
  for (let step = 1; step <= steps; step++) {
    ta.trainStep()
    tb.trainStep()
    if (step === 1 || step === steps) {
      const la = await ta.readLoss(), lb = await tb.readLoss()
      assert.ok(Math.abs(la - lb) <= 1e-3 * lb, `step ${step}: loss webgpu ${la}, reference ${lb}`)
      losses.push(la)
    }
  }
  assert.ok(losses[1] < 0.9 * losses[0], `the loss falls: ${losses[0]} -> ${losses[1]}`)

  // Saved from webgpu, loaded on the reference backend: the same tokens for the same seed.
  const bytes = await encodeLanguageModel({ model: onGpu, vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, validationIds: null })
  const loaded = decodeLanguageModel(bytes, reference)
  const options = { length: 30, seed: 11, temperature: 0.8 }
  const here = await collect(sampleTokens(onGpu, vocabulary, options))
  const there = await collect(sampleTokens(loaded.model, loaded.vocabulary, options))
  assert.equal(vocabulary.decode(here).join(''), vocabulary.decode(there).join(''))
  assert.ok(here.length > 0)
})
