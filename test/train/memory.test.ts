/**
 * The memory estimator against what the code allocates: a backend wrapper counts every byte that
 * `kernels.alloc` hands out while a language model is built, trained, validated and sampled the
 * way `recur train` does it, and the count must equal the estimate's backend bytes exactly.
 * (Process RSS against the whole estimate is measured by bench/memory.ts: it depends on the
 * machine, so it is not a test.)
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { sampleTokens } from '../../src/decode/sampling.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, DType, Kernels } from '../../src/kernels/types.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { LanguageModelTrainer, evaluateStream } from '../../src/train/language-model-trainer.js'
import {
  estimateLanguageModelTraining, languageModelParameterCount, largestRow, parseMemorySize, validationShapes, type LanguageModelMemoryConfig,
} from '../../src/train/memory.js'
import type { OptimizerKind } from '../../src/train/optimizers.js'
import { charData, syntheticCorpus } from '../helpers/lm.js'

/**
 * A reference backend that adds up the bytes of every buffer it allocates, its own included (the
 * scratch of its composed step kernels goes through `this.alloc`).
 */
function countingKernels(precision: 'f32' | 'f64'): { kernels: Kernels; allocated: () => number } {
  let bytes = 0
  class CountingKernels extends ReferenceKernels {
    override alloc(length: number, dtype: DType = 'f32'): BufferHandle {
      bytes += length * (dtype === 'i32' ? 4 : precision === 'f32' ? 4 : 8)
      return super.alloc(length, dtype)
    }
  }
  return { kernels: new CountingKernels(precision), allocated: () => bytes }
}

interface Case {
  name: string
  architecture: Omit<LanguageModelArchitecture, 'vocabularySize'>
  batch: number
  seqLength: number
  optimizer: OptimizerKind
  precision: 'f32' | 'f64'
  valTokens: number
}

const base = { layers: 1, hidden: 6, embedding: 0, dropout: 0, reset: 'after', peephole: false } as const
const CASES: Case[] = [
  { name: 'LSTM, 2 layers, one-hot input, dropout, adam', architecture: { ...base, cell: 'lstm', layers: 2, dropout: 0.25 }, batch: 3, seqLength: 7, optimizer: 'adam', precision: 'f32', valTokens: 0 },
  { name: 'GRU reset before, embedding, adamw, f64', architecture: { ...base, cell: 'gru', reset: 'before', embedding: 5 }, batch: 2, seqLength: 9, optimizer: 'adamw', precision: 'f64', valTokens: 300 },
  { name: 'RNN, 3 layers, sgd', architecture: { ...base, cell: 'rnn', layers: 3, hidden: 4 }, batch: 4, seqLength: 5, optimizer: 'sgd', precision: 'f32', valTokens: 0 },
  { name: 'LSTM with peepholes, embedding, 2 layers', architecture: { ...base, cell: 'lstm', layers: 2, peephole: true, embedding: 3 }, batch: 1, seqLength: 12, optimizer: 'adam', precision: 'f32', valTokens: 150 },
]

describe('memory estimate of language-model training', () => {
  const { vocabulary, ids } = charData(syntheticCorpus(150))
  const valCount = Math.floor(ids.length * 0.1)
  const trainIds = ids.subarray(0, ids.length - valCount)
  const valIds = ids.slice(ids.length - valCount)

  for (const c of CASES) {
    test(`${c.name}: the backend bytes equal what is allocated`, async () => {
      const architecture: LanguageModelArchitecture = { ...c.architecture, vocabularySize: vocabulary.size }
      const config: LanguageModelMemoryConfig = {
        architecture, batch: c.batch, seqLength: c.seqLength, optimizer: c.optimizer, bytesPerValue: c.precision === 'f32' ? 4 : 8,
        corpusTokens: ids.length, validationTokens: valIds.length, validationSubset: c.valTokens, sampling: true,
      }
      const estimate = estimateLanguageModelTraining(config)
      const counting = countingKernels(c.precision)
      const model = new LanguageModel(counting.kernels, architecture, 1)
      assert.equal(languageModelParameterCount(architecture), model.params.size, 'P')
      assert.equal(estimate.parameters, model.params.size)
      // As recur train does it: steps, validation windows of 128, a sample.
      const trainer = new LanguageModelTrainer(model, trainIds, { batch: c.batch, seqLength: c.seqLength, steps: 3, optimizer: c.optimizer, lr: 0.01 })
      for (let step = 0; step < 3; step++) trainer.trainStep()
      const subset = c.valTokens > 0 ? valIds.subarray(0, c.valTokens) : valIds
      await evaluateStream(model, subset, { streams: Math.min(c.batch, Math.max(1, Math.floor(subset.length / 512))), window: 128 })
      for await (const _ of sampleTokens(model, vocabulary, { length: 4, seed: 2 })) void _
      assert.equal(counting.allocated(), estimate.backendBytes)
      assert.equal(estimate.total, estimate.rows.reduce((sum, row) => sum + row.bytes, 0))
    })
  }

  test('rows: parameters, gradients and moments are P values each', () => {
    const architecture = { cell: 'lstm', layers: 2, hidden: 256, vocabularySize: 100, embedding: 0, dropout: 0, reset: 'after', peephole: false } as const
    const estimate = estimateLanguageModelTraining({
      architecture, batch: 32, seqLength: 64, optimizer: 'adam', bytesPerValue: 4, corpusTokens: 1_000_000, validationTokens: 100_000, validationSubset: 10_000, sampling: true,
    })
    const row = (name: string) => estimate.rows.find((r) => r.name === name)!.bytes
    const P = estimate.parameters
    // 2 x 256 LSTM on 100 characters: layer 0 reads a one-hot lookup (V, 4H).
    assert.equal(P, 100 * 1024 + 1024 * 256 + 2 * 1024 + (1024 * 256 * 2 + 2 * 1024) + 256 * 100 + 100)
    assert.equal(row('parameters'), 4 * P)
    assert.equal(row('gradients'), 4 * P)
    assert.equal(row('optimizer state'), 8 * P)
    assert.equal(row('token ids'), 4 * 1_100_000)
    assert.ok(row('activations') > 0 && row('workspace') > 0)
  })

  test('the logits (in the workspace) and checkpoints dominate at a large vocabulary; the activations at a long window', () => {
    const words = estimateLanguageModelTraining({
      architecture: { cell: 'gru', layers: 1, hidden: 128, vocabularySize: 200_000, embedding: 128, dropout: 0, reset: 'after', peephole: false },
      batch: 16, seqLength: 32, optimizer: 'adam', bytesPerValue: 4, corpusTokens: 0, validationTokens: 0, validationSubset: 0, sampling: false,
    })
    const row = (name: string) => words.rows.find((r) => r.name === name)!.bytes
    // dz and dLogits (T,B,V) against the logits (T,B,V) and the cells' buffers.
    assert.ok(row('workspace') > row('activations'))
    // A checkpoint reads back and copies P values per weight and moment, and writes a file of them.
    assert.equal(largestRow(words).name, 'checkpoint')
    assert.equal(row('checkpoint'), 3 * 4 * (3 * words.parameters + 16 * 128))
    const long = estimateLanguageModelTraining({
      architecture: { cell: 'lstm', layers: 4, hidden: 512, vocabularySize: 60, embedding: 0, dropout: 0, reset: 'after', peephole: false },
      batch: 64, seqLength: 2000, optimizer: 'adam', bytesPerValue: 4, corpusTokens: 0, validationTokens: 0, validationSubset: 0, sampling: false,
    })
    assert.equal(largestRow(long).name, 'activations')
  })

  test('validation shapes follow recur train: streams of >= 512 tokens, windows of 128', () => {
    assert.deepEqual(validationShapes(100_000, 10_000, 32), [{ T: 128, B: 19 }, { T: 13, B: 19 }])
    assert.deepEqual(validationShapes(300, 0, 8), [{ T: 128, B: 1 }, { T: 43, B: 1 }])
    assert.deepEqual(validationShapes(1, 0, 8), [])
  })

  test('sizes out of range are refused', () => {
    assert.throws(
      () => estimateLanguageModelTraining({
        architecture: { cell: 'rnn', layers: 1, hidden: 0, vocabularySize: 10, embedding: 0, dropout: 0, reset: 'after', peephole: false },
        batch: 1, seqLength: 1, optimizer: 'sgd', bytesPerValue: 4, corpusTokens: 0, validationTokens: 0, validationSubset: 0, sampling: false,
      }),
      /hidden must be an integer >= 1, got 0/,
    )
  })
})

describe('parseMemorySize', () => {
  test('binary units, optional B / iB, case-insensitive', () => {
    assert.equal(parseMemorySize('4G'), 4 * 2 ** 30)
    assert.equal(parseMemorySize('512M'), 512 * 2 ** 20)
    assert.equal(parseMemorySize('1.5g'), 1.5 * 2 ** 30)
    assert.equal(parseMemorySize('4GiB'), 4 * 2 ** 30)
    assert.equal(parseMemorySize('4 GB'), 4 * 2 ** 30)
    assert.equal(parseMemorySize('2048k'), 2 * 2 ** 20)
    assert.equal(parseMemorySize('1T'), 2 ** 40)
    assert.equal(parseMemorySize('1000000'), 1_000_000)
    assert.equal(parseMemorySize('0'), 0)
  })

  test('anything else is null', () => {
    for (const text of ['', 'G', '4X', '-1G', 'four', '4GG', '1e9', '4 G B']) assert.equal(parseMemorySize(text), null, text)
  })
})
