/**
 * The language model end to end on the f32 reference backend: it learns, a checkpoint resumes
 * training bit for bit, damaged model files are refused, a decoded model computes the same logits,
 * and evaluateStream's loss is the mean of -log P(y<t+1> | y<1..t>) computed one step at a time.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { encodeModelFile, type ModelFileInput } from '../../src/io/model-format.js'
import type { LanguageModel, LanguageModelArchitecture } from '../../src/models/language-model.js'
import {
  LANGUAGE_MODEL_KIND, decodeLanguageModel, encodeLanguageModel, languageModelFileContents, type LanguageModelBundle, type TrainingInfo,
} from '../../src/models/language-model-file.js'
import { Random } from '../../src/random.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import type { Vocabulary } from '../../src/text/vocabulary.js'
import { LanguageModelTrainer, evaluateStream, type TrainerOptions, type TrainerState } from '../../src/train/language-model-trainer.js'
import { assertSameTensors, bits, charData, expectRecurError, f32, softmaxRow, syntheticCorpus, tinyModel } from '../helpers/lm.js'

const tokenizer = defaultTokenizerOptions('char')

function trainerOptions(overrides: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    batch: 3, seqLength: 5, steps: 9, lr: 0.02, optimizer: 'adam', weightDecay: 0, clip: 1, schedule: 'cosine', warmup: 2, seed: 7, ...overrides,
  }
}

function trainingInfo(options: TrainerOptions, tokens: number): TrainingInfo {
  return { options, corpus: { name: 'synthetic', tokens, valFraction: 0 } }
}

/** Runs `steps` training steps and returns the loss of each, as read from the backend. */
async function run(trainer: LanguageModelTrainer, steps: number): Promise<number[]> {
  const losses: number[] = []
  for (let i = 0; i < steps; i++) {
    trainer.trainStep()
    losses.push(await trainer.readLoss())
  }
  return losses
}

function assertSameState(actual: TrainerState, expected: TrainerState, what: string): void {
  assert.equal(actual.step, expected.step, `${what}: step`)
  assert.equal(actual.position, expected.position, `${what}: stream position`)
  assert.deepEqual(actual.random, expected.random, `${what}: generator state`)
  assert.equal(actual.optimizer.step, expected.optimizer.step, `${what}: optimizer step`)
  const named = (arrays: Float32Array[], prefix: string) => new Map(arrays.map((a, i) => [`${prefix}${i}`, a]))
  assertSameTensors(named(actual.optimizer.moments, 'moment'), named(expected.optimizer.moments, 'moment'), `${what}: optimizer moments`)
  assertSameTensors(named(actual.carried, 'carried'), named(expected.carried, 'carried'), `${what}: carried states`)
}

describe('LanguageModel training', () => {
  test('a tiny LSTM learns a synthetic corpus: validation loss falls from ln V to below 0.8 nats in 100 steps', async () => {
    const { vocabulary, ids } = charData(syntheticCorpus(300))
    const trainIds = ids.subarray(0, ids.length - 600)
    const valIds = ids.slice(ids.length - 600)
    const model = tinyModel(f32(), vocabulary.size, { hidden: 32 })
    const trainer = new LanguageModelTrainer(model, trainIds, trainerOptions({ batch: 8, seqLength: 16, steps: 100, lr: 0.02, clip: 5, schedule: 'constant', warmup: 0, seed: 1 }))
    const before = (await evaluateStream(model, valIds)).loss
    // An untrained model is close to uniform over the V characters.
    assert.ok(Math.abs(before - Math.log(vocabulary.size)) < 0.3, `initial loss ${before} should be near ln V = ${Math.log(vocabulary.size)}`)
    const losses = await run(trainer, 100)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    assert.ok(mean(losses.slice(-10)) < mean(losses.slice(0, 10)) - 1, `training loss: first 10 ${mean(losses.slice(0, 10))}, last 10 ${mean(losses.slice(-10))}`)
    const after = (await evaluateStream(model, valIds)).loss
    assert.ok(after < 0.8, `validation loss after 100 steps is ${after}, expected < 0.8 nats`)
  })
})

describe('checkpoint resume is bit-identical', () => {
  // 54 training tokens in 3 streams of 18: windows of 5 -> 3 windows per epoch, so the streams
  // start over (from a zero state) after steps 3, 6 and 9.
  const { vocabulary, ids } = charData(syntheticCorpus(40, 3))
  const trainIds = ids.slice(0, 54)

  const cases: { name: string; architecture: Partial<LanguageModelArchitecture>; options: Partial<TrainerOptions>; N: number; M: number }[] = [
    { name: '2-layer LSTM, dropout 0.25, saved mid-epoch (wrap-around after the save)', architecture: { cell: 'lstm', layers: 2, dropout: 0.25 }, options: {}, N: 4, M: 5 },
    { name: '2-layer GRU with embedding, dropout 0.5, adamw, saved exactly at the end of an epoch', architecture: { cell: 'gru', layers: 2, dropout: 0.5, embedding: 6 }, options: { optimizer: 'adamw', weightDecay: 0.01 }, N: 3, M: 4 },
    { name: 'RNN, sgd, saved after a wrap-around, clip off', architecture: { cell: 'rnn', layers: 1 }, options: { optimizer: 'sgd', lr: 0.1, clip: 0, schedule: 'step' }, N: 5, M: 2 },
    { name: 'LSTM with peepholes, 3 layers, dropout 0.3, saved after one step', architecture: { cell: 'lstm', layers: 3, dropout: 0.3, peephole: true }, options: {}, N: 1, M: 6 },
  ]

  for (const c of cases) {
    test(c.name, async () => {
      const options = trainerOptions({ ...c.options, steps: c.N + c.M })
      // N + M steps without a break.
      const straightModel = tinyModel(f32(), vocabulary.size, c.architecture, 11)
      const straight = new LanguageModelTrainer(straightModel, trainIds, options)
      const straightLosses = await run(straight, c.N + c.M)

      // N steps, save, load into a fresh model and trainer, M steps.
      const firstModel = tinyModel(f32(), vocabulary.size, c.architecture, 11)
      const first = new LanguageModelTrainer(firstModel, trainIds, options)
      const firstLosses = await run(first, c.N)
      const savedState = await first.getState()
      const bytes = await encodeLanguageModel({
        model: firstModel, vocabulary, tokenizer, training: trainingInfo(first.options, trainIds.length), trainerState: savedState, validationIds: null,
      })
      const bundle = decodeLanguageModel(bytes, f32(), 'checkpoint')
      assert.ok(bundle.training !== null && bundle.trainerState !== null, 'the checkpoint holds the training state')
      assertSameState(bundle.trainerState, savedState, 'decoded state')
      assert.deepEqual(bundle.training.options, options)
      assert.deepEqual(bundle.model.architecture, firstModel.architecture)
      const resumed = new LanguageModelTrainer(bundle.model, trainIds, bundle.training.options)
      resumed.setState(bundle.trainerState)
      const resumedLosses = await run(resumed, c.M)

      assert.deepEqual([...firstLosses, ...resumedLosses], straightLosses, 'losses, step by step')
      assertSameTensors(await bundle.model.params.readValues(), await straightModel.params.readValues(), 'weights after N+M steps')
      assertSameState(await resumed.getState(), await straight.getState(), 'trainer state after N+M steps')
    })
  }

  test('the test can fail: a resume that loses the generator state does not match (dropout draws differ)', async () => {
    const architecture: Partial<LanguageModelArchitecture> = { cell: 'lstm', layers: 2, dropout: 0.25 }
    const options = trainerOptions({ steps: 6 })
    const straightModel = tinyModel(f32(), vocabulary.size, architecture, 11)
    const straight = new LanguageModelTrainer(straightModel, trainIds, options)
    await run(straight, 6)
    const model = tinyModel(f32(), vocabulary.size, architecture, 11)
    const first = new LanguageModelTrainer(model, trainIds, options)
    await run(first, 3)
    const state = await first.getState()
    const resumed = new LanguageModelTrainer(model, trainIds, options)
    resumed.setState({ ...state, random: new Random(99).getState() })
    await run(resumed, 3)
    const a = (await model.params.readValues()).get('rnn.l1.weight_hh')!
    const b = (await straightModel.params.readValues()).get('rnn.l1.weight_hh')!
    assert.notDeepEqual(bits(a), bits(b))
  })
})

describe('model files', () => {
  const { vocabulary, ids } = charData(syntheticCorpus(30, 5))

  async function bundle(): Promise<{ model: LanguageModel; vocabulary: Vocabulary; contents: ModelFileInput; bytes: Uint8Array }> {
    const model = tinyModel(f32(), vocabulary.size, { cell: 'gru', layers: 2 }, 3)
    const options = trainerOptions({ batch: 2, seqLength: 6 })
    const trainer = new LanguageModelTrainer(model, ids, options)
    await run(trainer, 2)
    const saved: Omit<LanguageModelBundle, 'trainerState'> & { trainerState: TrainerState } = {
      model, vocabulary, tokenizer, training: trainingInfo(options, ids.length), trainerState: await trainer.getState(), validationIds: ids.slice(0, 40),
    }
    return { model, vocabulary, contents: await languageModelFileContents(saved), bytes: await encodeLanguageModel(saved) }
  }

  test('a decoded model gives identical logits, vocabulary, tokenizer and validation ids', async () => {
    const { model, bytes } = await bundle()
    const decoded = decodeLanguageModel(bytes, f32())
    assert.deepEqual(decoded.vocabulary.tokens, vocabulary.tokens)
    assert.deepEqual(decoded.tokenizer, tokenizer)
    assert.deepEqual(decoded.validationIds, ids.slice(0, 40))
    assertSameTensors(await decoded.model.params.readValues(), await model.params.readValues(), 'weights')
    const T = 7, B = 2
    const input = Array.from(ids.subarray(0, T * B))
    const a = await model.kernels.read(model.forward(T, B, input, null).logits)
    const b = await decoded.model.kernels.read(decoded.model.forward(T, B, input, null).logits)
    assert.deepEqual(bits(Float32Array.from(b)), bits(Float32Array.from(a)), 'logits bit for bit')
  })

  test('a model without training state decodes with trainerState null', async () => {
    const model = tinyModel(f32(), vocabulary.size)
    const bytes = await encodeLanguageModel({ model, vocabulary, tokenizer, training: null, validationIds: null })
    const decoded = decodeLanguageModel(bytes, f32())
    assert.equal(decoded.training, null)
    assert.equal(decoded.trainerState, null)
    assert.equal(decoded.validationIds, null)
  })

  test('a flipped byte anywhere after the prefix is refused as corrupt (FORMAT)', async () => {
    const { bytes } = await bundle()
    for (const at of [24, Math.floor(bytes.length / 2), bytes.length - 70]) {
      const damaged = bytes.slice()
      damaged[at] ^= 0x10
      await expectRecurError(() => decodeLanguageModel(damaged, f32(), 'damaged.recur'), 'FORMAT', /damaged\.recur.*(corrupt|checksum)/)
    }
  })

  test('a truncated file is refused (FORMAT), at any length', async () => {
    const { bytes } = await bundle()
    for (const length of [0, 5, 19, 100, bytes.length - 64, bytes.length - 1]) {
      await expectRecurError(() => decodeLanguageModel(bytes.subarray(0, length), f32()), 'FORMAT')
    }
    await expectRecurError(() => decodeLanguageModel(bytes.subarray(0, bytes.length - 64), f32()), 'FORMAT', /truncated/)
  })

  test('bytes that are not a model file are refused (FORMAT)', async () => {
    await expectRecurError(() => decodeLanguageModel(new TextEncoder().encode('the cat sat on the mat\n'.repeat(10)), f32()), 'FORMAT', /not a recur model file/)
  })

  test('a model file of another kind is refused (VERSION)', async () => {
    const { contents } = await bundle()
    const bytes = encodeModelFile({ ...contents, kind: 'classifier' })
    await expectRecurError(() => decodeLanguageModel(bytes, f32()), 'VERSION', /classifier.*language-model|kind/)
    assert.equal(contents.kind, LANGUAGE_MODEL_KIND)
  })

  test('a file of a newer format version is refused (VERSION)', async () => {
    const { bytes } = await bundle()
    const future = bytes.slice()
    new DataView(future.buffer).setUint32(8, 2, true)
    await expectRecurError(() => decodeLanguageModel(future, f32()), 'VERSION', /newer/)
  })

  test('a well-formed file whose contents do not fit a language model is refused (FORMAT)', async () => {
    const { contents } = await bundle()
    const meta = contents.meta as Record<string, unknown> & { architecture: Record<string, unknown> }
    const variants: [string, ModelFileInput][] = [
      ['a missing tensor', { ...contents, tensors: contents.tensors.filter((t) => t.name !== 'out.bias') }],
      ['a tensor of the wrong shape', { ...contents, tensors: contents.tensors.map((t) => (t.name === 'out.bias' ? { ...t, shape: [1, t.data.length] } : t)) }],
      ['a vocabulary that disagrees with the architecture', { ...contents, meta: { ...meta, architecture: { ...meta.architecture, vocabularySize: vocabulary.size + 1 } } }],
      ['no architecture', { ...contents, meta: { ...meta, architecture: null } }],
      ['a validation id outside the vocabulary', { ...contents, tensors: contents.tensors.map((t) => (t.name === 'validation.ids' ? { ...t, data: Int32Array.from(t.data, () => vocabulary.size) } : t)) }],
      ['an unknown cell', { ...contents, meta: { ...meta, architecture: { ...meta.architecture, cell: 'transformer' } } }],
      ['a hidden size far larger than the tensors (must not be allocated)', { ...contents, meta: { ...meta, architecture: { ...meta.architecture, hidden: 1_000_000 } } }],
      ['an invalid tokenizer', { ...contents, meta: { ...meta, tokenizer: { level: 'sentence' } } }],
    ]
    for (const [what, input] of variants) {
      await expectRecurError(() => decodeLanguageModel(encodeModelFile(input), f32()), 'FORMAT').catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`)
      })
    }
  })
})

describe('evaluateStream', () => {
  const { vocabulary, ids } = charData(syntheticCorpus(4, 9))
  const stream = ids.slice(0, 23)

  /** Mean of -log P(y<t+1> | y<1..t>) with the model run one token at a time from a zero state. */
  async function stepByStep(model: LanguageModel, tokens: Int32Array): Promise<number> {
    const V = model.vocabularySize
    const states = model.zeroStates(1)
    let total = 0
    for (let t = 0; t + 1 < tokens.length; t++) {
      const { logits, finals } = model.forward(1, 1, [tokens[t]!], t === 0 ? null : states)
      model.copyStates(finals, states)
      const probs = softmaxRow((await model.kernels.read(logits)).subarray(0, V))
      total += -Math.log(probs[tokens[t + 1]!]!)
    }
    return total / (tokens.length - 1)
  }

  for (const cell of ['rnn', 'gru', 'lstm'] as const) {
    test(`${cell}: streams=1 equals the mean per-token -log P computed step by step (windows carry the state)`, async () => {
      const model = tinyModel(f32(), vocabulary.size, { cell, layers: 2, hidden: 6 }, 5)
      const expected = await stepByStep(model, stream)
      for (const window of [1, 5, 22, 256]) {
        const { loss, predictions } = await evaluateStream(model, stream, { streams: 1, window })
        assert.equal(predictions, stream.length - 1)
        assert.ok(Math.abs(loss - expected) <= 1e-5 * expected, `window ${window}: ${loss} vs step by step ${expected}`)
      }
    })
  }

  test('too short a stream is refused (DATA)', async () => {
    const model = tinyModel(f32(), vocabulary.size)
    await expectRecurError(() => evaluateStream(model, stream.subarray(0, 1)), 'DATA')
    await expectRecurError(() => evaluateStream(model, stream.subarray(0, 5), { streams: 3 }), 'DATA')
  })
})
