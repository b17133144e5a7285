/**
 * ONNX export checked in ONNX Runtime (onnxruntime-node, CPU): every exported graph runs and gives
 * recur's own outputs within 1e-4, for every cell kind (RNN, GRU reset after and before, LSTM with
 * and without peepholes), unidirectional and bidirectional, stacked, with an embedding or one-hot
 * input, for the language model (logits and final states from given initial states), the tagger,
 * the classifier (final, mean and max pooling) and the encoder-decoder (encoder + decoder graphs).
 *
 * Every parameter is drawn from U(-0.5, 0.5) (biases and peepholes included, which start at zero
 * otherwise), so a gate-order, sign or layout error moves the outputs by 1e-2 or more. Tolerance
 * 1e-4 (absolute up to 1, relative above): both sides compute in float32 but sum in different
 * orders; over T <= 6 steps they agree to ~1e-6.
 *
 * The runner (ONNX Runtime through onnxruntime-node, a devDependency) lives here, not in src/.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as ort from 'onnxruntime-node'

import type { State } from '../../src/cells/recurrent.js'
import { classifierToOnnx, exportOnnx, languageModelToOnnx, seq2seqToOnnx, taggerToOnnx, type OnnxGraph } from '../../src/io/onnx.js'
import { SequenceClassifier, type ClassifierArchitecture } from '../../src/models/classifier.js'
import type { PaddedBatch } from '../../src/models/heads.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { Seq2Seq, type Seq2SeqArchitecture } from '../../src/models/seq2seq.js'
import { SequenceTagger, type TaggerArchitecture } from '../../src/models/tagger.js'
import type { EncoderArchitecture } from '../../src/layers/token-encoder.js'
import type { ParamStore } from '../../src/params.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { f32 } from '../helpers/lm.js'
import { Random, maxRelativeError } from '../helpers/setup.js'

const TOLERANCE = 1e-4

/** Runs an exported graph in ONNX Runtime (CPU, errors only in its log). */
async function run(graph: OnnxGraph, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(graph.bytes, { logSeverityLevel: 3, executionProviders: ['cpu'] })
  try {
    assert.deepEqual([...session.inputNames].sort(), [...graph.inputs].sort(), 'graph inputs')
    assert.deepEqual([...session.outputNames].sort(), [...graph.outputs].sort(), 'graph outputs')
    const results = await session.run(feeds)
    return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, t.data as Float32Array]))
  } finally {
    await session.release()
  }
}

const tokens = (ids: ArrayLike<number>, T: number, B: number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from(ids, (i) => BigInt(i))), [T, B])
const floats = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims)

/** Every parameter ~ U(-0.5, 0.5). */
function randomize(params: ParamStore, seed: number): void {
  const random = new Random(seed)
  params.writeValues(new Map(params.params.map((p) => [p.name, Float32Array.from({ length: p.size }, () => random.range(-0.5, 0.5))])))
}

function randomIds(n: number, V: number, random: Random): Int32Array {
  return Int32Array.from({ length: n }, () => random.int(V))
}

function check(what: string, actual: ArrayLike<number> | undefined, expected: ArrayLike<number>): void {
  assert.ok(actual !== undefined, `${what}: no such output`)
  assert.equal(actual.length, expected.length, `${what}: length`)
  const error = maxRelativeError(actual, expected, 1)
  assert.ok(error <= TOLERANCE, `${what}: ONNX Runtime and recur differ by ${error.toExponential(2)}`)
}

const fullBatch = (T: number, B: number, ids: Int32Array): PaddedBatch => ({ T, B, ids, mask: new Float32Array(T * B).fill(1) })

const variants = [
  { label: 'RNN', cell: 'rnn', reset: 'after', peephole: false },
  { label: 'GRU reset after', cell: 'gru', reset: 'after', peephole: false },
  { label: 'GRU reset before', cell: 'gru', reset: 'before', peephole: false },
  { label: 'LSTM', cell: 'lstm', reset: 'after', peephole: false },
  { label: 'peephole LSTM', cell: 'lstm', reset: 'after', peephole: true },
] as const

describe('language model', () => {
  variants.forEach((v, i) => {
    const embedding = i % 2 === 0 ? 0 : 4
    const layers = i === 1 ? 1 : 2
    test(`${v.label}, ${layers} layer(s), ${embedding > 0 ? 'embedding' : 'one-hot'}: logits, hn, cn from given h0, c0`, async () => {
      const V = 7, H = 5, T = 6, B = 3, S = layers
      const a: LanguageModelArchitecture = { cell: v.cell, layers, hidden: H, vocabularySize: V, embedding, dropout: 0, reset: v.reset, peephole: v.peephole }
      const model = new LanguageModel(f32(), a)
      randomize(model.params, 10 + i)
      const random = new Random(20 + i)
      const ids = randomIds(T * B, V, random)
      const h0 = Float32Array.from({ length: S * B * H }, () => random.range(-1, 1))
      const c0 = Float32Array.from({ length: S * B * H }, () => random.range(-1, 1))
      const init: State[] = model.zeroStates(B)
      init.forEach((s, j) => {
        model.kernels.write(s.h, h0.subarray(j * B * H, (j + 1) * B * H))
        if (s.c !== null) model.kernels.write(s.c, c0.subarray(j * B * H, (j + 1) * B * H))
      })
      const { logits, finals } = model.forward(T, B, ids, init)
      const expected = { logits: await model.kernels.read(logits), hn: await readStates(model, finals, 'h'), cn: await readStates(model, finals, 'c') }

      const graph = await languageModelToOnnx(model)
      const lstm = v.cell === 'lstm'
      const out = await run(graph, { tokens: tokens(ids, T, B), h0: floats(h0, [S, B, H]), ...(lstm ? { c0: floats(c0, [S, B, H]) } : {}) })
      check('logits', out['logits'], expected.logits)
      check('hn', out['hn'], expected.hn)
      if (lstm) check('cn', out['cn'], expected.cn)
    })
  })

  test('without initial-state inputs and with --softmax: probabilities from zero states', async () => {
    const V = 6, T = 4, B = 2
    const model = new LanguageModel(f32(), { cell: 'gru', layers: 2, hidden: 4, vocabularySize: V, embedding: 0, dropout: 0, reset: 'before', peephole: false })
    randomize(model.params, 30)
    const ids = randomIds(T * B, V, new Random(31))
    const { logits } = model.forward(T, B, ids, null)
    const probs = model.kernels.alloc(T * B * V)
    model.kernels.softmax(T * B, V, logits, probs, 1)
    const graph = await languageModelToOnnx(model, { softmax: true, initialStates: false })
    assert.deepEqual(graph.inputs, ['tokens'])
    const out = await run(graph, { tokens: tokens(ids, T, B) })
    check('probabilities', out['probabilities'], await model.kernels.read(probs))
  })
})

async function readStates(model: LanguageModel, states: readonly State[], which: 'h' | 'c'): Promise<Float32Array> {
  const parts = await Promise.all(states.map((s) => (which === 'h' ? model.kernels.read(s.h) : s.c === null ? new Float32Array(0) : model.kernels.read(s.c))))
  return Float32Array.from(parts.flatMap((p) => [...p]))
}

const encoder = (v: (typeof variants)[number], overrides: Partial<EncoderArchitecture> = {}): EncoderArchitecture => ({
  cell: v.cell, reset: v.reset, peephole: v.peephole, layers: 2, hidden: 4, vocabularySize: 8, embedding: 3,
  bidirectional: true, merge: 'concat', dropout: 0, ...overrides,
})

describe('tagger', () => {
  variants.forEach((v, i) => {
    const overrides: Partial<TaggerArchitecture> = [
      {},
      { embedding: 0 },
      { merge: 'sum' as const },
      { dense: [5], activation: 'relu' as const, embedding: 0 },
      { bidirectional: false, layers: 3 },
    ][i]!
    test(`${v.label}, ${JSON.stringify({ layers: 2, bidirectional: true, ...overrides })}: logits (T,B,K)`, async () => {
      const T = 5, B = 2, K = 3
      const model = new SequenceTagger(f32(), { ...encoder(v), tags: K, output: 'softmax', dense: [], activation: 'tanh', ...overrides })
      randomize(model.params, 40 + i)
      const ids = randomIds(T * B, 8, new Random(50 + i))
      const expected = await model.kernels.read(model.forward(fullBatch(T, B, ids)))
      const out = await run(await taggerToOnnx(model), { tokens: tokens(ids, T, B) })
      check('logits', out['logits'], expected)
    })
  })

  test('--softmax gives the tag probabilities', async () => {
    const T = 4, B = 3
    const model = new SequenceTagger(f32(), { ...encoder(variants[3]), tags: 4, output: 'softmax', dense: [], activation: 'tanh' })
    randomize(model.params, 60)
    const ids = randomIds(T * B, 8, new Random(61))
    model.forward(fullBatch(T, B, ids))
    const out = await run(await taggerToOnnx(model, { softmax: true }), { tokens: tokens(ids, T, B) })
    check('probabilities', out['probabilities'], await model.probabilities())
  })
})

describe('classifier', () => {
  const cases: [string, (typeof variants)[number], Partial<ClassifierArchitecture>][] = [
    ['final states, bidirectional', variants[4], { pooling: 'final' }],
    ['final states, unidirectional, one-hot', variants[0], { pooling: 'final', bidirectional: false, embedding: 0 }],
    ['mean pooling, bidirectional', variants[2], { pooling: 'mean', dense: [6], activation: 'tanh' }],
    ['max pooling, bidirectional, sum merge, sigmoid output', variants[1], { pooling: 'max', merge: 'sum', output: 'sigmoid', classes: 2 }],
    ['max pooling, unidirectional LSTM', variants[3], { pooling: 'max', bidirectional: false }],
  ]
  cases.forEach(([label, v, overrides], i) => {
    test(`${v.label}, ${label}: logits (B,K) and probabilities`, async () => {
      const T = 6, B = 3
      const model = new SequenceClassifier(f32(), {
        ...encoder(v), classes: 3, output: 'softmax', pooling: 'final', dense: [], activation: 'tanh', ...overrides,
      })
      randomize(model.params, 70 + i)
      const ids = randomIds(T * B, 8, new Random(80 + i))
      const expected = await model.kernels.read(model.forward(fullBatch(T, B, ids)))
      const feeds = { tokens: tokens(ids, T, B) }
      check('logits', (await run(await classifierToOnnx(model), feeds))['logits'], expected)
      check('probabilities', (await run(await classifierToOnnx(model, { softmax: true }), feeds))['probabilities'], await model.probabilities())
    })
  })
})

describe('encoder-decoder', () => {
  const cases: [string, (typeof variants)[number], Partial<EncoderArchitecture>, Partial<Seq2SeqArchitecture['decoder']>][] = [
    ['bidirectional 2-layer encoder, bridge into 1 decoder layer', variants[3], {}, { layers: 1, hidden: 5 }],
    ['unidirectional encoder, states passed as they are', variants[2], { bidirectional: false, embedding: 0 }, { layers: 2, hidden: 4, embedding: 0 }],
    ['bidirectional peephole LSTM, bridge into 2 decoder layers', variants[4], { layers: 1 }, { layers: 2, hidden: 3 }],
  ]
  cases.forEach(([label, v, e, d], i) => {
    test(`${v.label}, ${label}: encoder -> decoder logits equal recur's teacher-forced logits`, async () => {
      const Tx = 5, Ty = 4, B = 2, Vy = 6
      const architecture: Seq2SeqArchitecture = {
        encoder: encoder(v, e),
        decoder: { layers: 2, hidden: 4, vocabularySize: Vy, embedding: 3, dropout: 0, ...d },
      }
      const model = new Seq2Seq(f32(), architecture)
      assert.equal(model.bridges === null, label.includes('as they are'))
      randomize(model.params, 90 + i)
      const random = new Random(95 + i)
      const src = randomIds(Tx * B, 8, random), tgt = randomIds(Ty * B, Vy, random)
      const expected = await model.kernels.read(model.forward(fullBatch(Tx, B, src), fullBatch(Ty, B, tgt)))
      const { encoder: eg, decoder: dg } = await seq2seqToOnnx(model)
      const states = await run(eg, { source: tokens(src, Tx, B) })
      const L = architecture.decoder.layers, H = architecture.decoder.hidden
      const feeds: Record<string, ort.Tensor> = { tokens: tokens(tgt, Ty, B), h0: floats(states['h0']!, [L, B, H]) }
      if (states['c0'] !== undefined) feeds['c0'] = floats(states['c0'], [L, B, H])
      check('decoder logits', (await run(dg, feeds))['logits'], expected)
      // one step at a time, feeding the states back, gives the same logits
      const V = architecture.decoder.vocabularySize
      for (let t = 0; t < Ty; t++) {
        const step = await run(dg, { ...feeds, tokens: tokens(tgt.subarray(t * B, (t + 1) * B), 1, B) })
        check(`step ${t}`, step['logits'], expected.subarray(t * B * V, (t + 1) * B * V))
        feeds['h0'] = floats(step['hn']!, [L, B, H])
        if (step['cn'] !== undefined) feeds['c0'] = floats(step['cn'], [L, B, H])
      }
    })
  })
})

test('exportOnnx keeps the vocabulary, tokenizer and labels in metadata_props, and the graphs name recur', async () => {
  const vocabulary = Vocabulary.fromTokens(['<UNK>', 'a', 'b', 'c'])
  const model = new LanguageModel(f32(), { cell: 'lstm', layers: 1, hidden: 3, vocabularySize: 4, embedding: 0, dropout: 0, reset: 'after', peephole: false })
  const [graph] = await exportOnnx({ kind: 'language-model', bundle: { model, vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, trainerState: null, validationIds: null } })
  const text = new TextDecoder().decode(graph!.bytes)
  assert.match(text, /recur\.vocabulary/)
  assert.match(text, /\["<UNK>","a","b","c"\]/)
  assert.match(text, /recur\.tokenizer/)
  const session = await ort.InferenceSession.create(graph!.bytes, { logSeverityLevel: 3 })
  assert.deepEqual(session.inputNames, ['tokens', 'h0', 'c0'])
  assert.deepEqual(session.outputNames, ['logits', 'hn', 'cn'])
  await session.release()
})
