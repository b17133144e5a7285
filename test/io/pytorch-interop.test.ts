/**
 * PyTorch interop through safetensors, against fixtures made by real PyTorch 1.13
 * (test/golden/make_interop.py; float32 weights, logits computed in float64 from them):
 *
 *   - recur imports each PyTorch model (RNN, GRU, LSTM; 1 and 2 layers; nn.Embedding or one-hot
 *     input; unidirectional as a language model, bidirectional as a tagger) and reproduces
 *     PyTorch's logits within 1e-5 (float32 arithmetic over T = 5 steps loses ~1e-6; a gate order,
 *     sign or transpose error shows up at 1e-2 or more);
 *   - recur's export of the imported model is PyTorch's own state dict, bit for bit;
 *   - recur -> safetensors -> recur is bit-identical (same model file bytes);
 *   - what PyTorch cannot express, and files or configs that do not fit, are refused clearly.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, test } from 'node:test'

import type { CellKind } from '../../src/cells/recurrent.js'
import {
  decodePyTorchSafetensors, encodePyTorchSafetensors, pytorchShapes, type PyTorchCompatibleModel,
} from '../../src/io/pytorch.js'
import { decodeSafetensors, encodeSafetensors, tensorToFloat32, type SafetensorsInput } from '../../src/io/safetensors.js'
import { encodeModelFile } from '../../src/io/model-format.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { languageModelFileContents } from '../../src/models/language-model-file.js'
import { SequenceTagger, type TaggerArchitecture } from '../../src/models/tagger.js'
import { taskFileContents } from '../../src/models/task-file.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { bits, expectRecurError, f32 } from '../helpers/lm.js'
import { maxRelativeError } from '../helpers/setup.js'

interface InteropFixture {
  torch_version: string
  V: number
  E: number
  H: number
  K: number
  T: number
  B: number
  config: Record<string, unknown> & { model: 'language-model' | 'tagger'; cell: CellKind; layers: number; bidirectional: boolean }
  inputs: { shape: number[]; data: number[] }
  logits: { shape: number[]; data: number[] }
}

const folder = new URL('../golden/interop/', import.meta.url)
const cases = readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort()
const fixture = (name: string): InteropFixture => JSON.parse(readFileSync(new URL(`${name}.json`, folder), 'utf8')) as InteropFixture
const weights = (name: string): Uint8Array => readFileSync(new URL(`${name}.safetensors`, folder))

/** The logits (T*B, K) of an imported model on the fixture's inputs, from zero states. */
async function logitsOf(imported: PyTorchCompatibleModel, f: InteropFixture): Promise<ArrayLike<number>> {
  if (imported.kind === 'language-model') {
    const model = imported.bundle.model
    return model.kernels.read(model.forward(f.T, f.B, f.inputs.data, null).logits)
  }
  const model = imported.bundle.model
  const logits = model.forward({ T: f.T, B: f.B, ids: Int32Array.from(f.inputs.data), mask: new Float32Array(f.T * f.B).fill(1) })
  return model.kernels.read(logits)
}

/** The bytes of a model's recur model file (no training state): equal bytes, equal models. */
async function modelFileBytes(imported: PyTorchCompatibleModel): Promise<Uint8Array> {
  return encodeModelFile(imported.kind === 'language-model' ? await languageModelFileContents(imported.bundle) : await taskFileContents(imported.bundle))
}

test('the fixtures cover RNN, GRU, LSTM x 1, 2 layers x uni-, bidirectional, each cell with both input kinds', () => {
  assert.equal(cases.length, 12)
  for (const cell of ['rnn', 'gru', 'lstm']) {
    assert.deepEqual(new Set(cases.filter((c) => c.startsWith(`${cell}-`)).map((c) => c.split('-')[3])), new Set(['emb', 'onehot']), cell)
  }
})

describe('PyTorch models imported into recur', () => {
  for (const name of cases) {
    test(`${name}: logits match PyTorch within 1e-5; export gives back PyTorch's state dict bit for bit`, async () => {
      const f = fixture(name)
      const bytes = weights(name)
      const imported = decodePyTorchSafetensors(bytes, f32(), f.config, `${name}.safetensors`)
      assert.equal(imported.kind, f.config.bidirectional ? 'tagger' : 'language-model')
      const logits = await logitsOf(imported, f)
      assert.equal(logits.length, f.T * f.B * f.K)
      const error = maxRelativeError(logits, f.logits.data, 1)
      assert.ok(error <= 1e-5, `logits differ from PyTorch's by ${error.toExponential(2)}`)

      // What recur writes is PyTorch's state dict: the same names, shapes and float32 bits.
      const original = decodeSafetensors(bytes).tensors
      const exported = decodeSafetensors(await encodePyTorchSafetensors(imported)).tensors
      assert.deepEqual([...exported.keys()].sort(), [...original.keys()].sort())
      for (const [tensor, t] of original) {
        assert.deepEqual(exported.get(tensor)!.shape, t.shape, tensor)
        assert.deepEqual(bits(tensorToFloat32(exported.get(tensor)!, tensor)), bits(tensorToFloat32(t, tensor)), tensor)
      }
    })
  }

  test('the config may leave the architecture out (it is read from the shapes) and rename the modules', async () => {
    const name = 'lstm-l2-uni-onehot'
    const f = fixture(name)
    const renamed: SafetensorsInput[] = [...decodeSafetensors(weights(name)).tensors].map(([tensor, t]) => ({
      name: tensor.replace(/^rnn\./, 'lstm.').replace(/^out\./, 'decoder.'), shape: t.shape, data: tensorToFloat32(t, tensor),
    }))
    const imported = decodePyTorchSafetensors(encodeSafetensors(renamed), f32(), {
      vocabulary: f.config['vocabulary'], level: 'char', names: { rnn: 'lstm', out: 'decoder' },
    })
    assert.equal(imported.kind, 'language-model')
    assert.deepEqual(imported.bundle.model.architecture, {
      cell: 'lstm', layers: 2, hidden: 6, vocabularySize: 7, embedding: 0, dropout: 0, reset: 'after', peephole: false,
    })
    assert.ok(maxRelativeError(await logitsOf(imported, f), f.logits.data, 1) <= 1e-5)
  })
})

describe('recur -> safetensors -> recur', () => {
  const vocabulary = Vocabulary.fromTokens(['<UNK>', '<EOS>', 'x', 'y', 'z'])
  const lm = (overrides: Partial<LanguageModelArchitecture>, seed: number): PyTorchCompatibleModel => ({
    kind: 'language-model',
    bundle: {
      model: new LanguageModel(f32(), { cell: 'lstm', layers: 2, hidden: 4, vocabularySize: 5, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...overrides }, seed),
      vocabulary, tokenizer: { ...defaultTokenizerOptions('word'), eos: 'line' }, training: null, trainerState: null, validationIds: null,
    },
  })
  const tagger = (overrides: Partial<TaggerArchitecture>, seed: number): PyTorchCompatibleModel => ({
    kind: 'tagger',
    bundle: {
      kind: 'tagger',
      model: new SequenceTagger(f32(), {
        cell: 'gru', layers: 2, hidden: 3, vocabularySize: 5, embedding: 4, bidirectional: true, merge: 'concat', dropout: 0, reset: 'after',
        peephole: false, tags: 3, output: 'softmax', dense: [], activation: 'tanh', ...overrides,
      }, seed),
      labels: ['O', 'B', 'I'], input: { vocabulary, tokenizer: defaultTokenizerOptions('char') }, training: null, optimizer: null,
    },
  })
  const models: [string, PyTorchCompatibleModel][] = [
    ['LSTM language model, one-hot, 2 layers', lm({}, 1)],
    ['GRU language model, embedding, dropout kept', lm({ cell: 'gru', embedding: 3, dropout: 0.25, layers: 1 }, 2)],
    ['RNN language model, one-hot, 3 layers', lm({ cell: 'rnn', layers: 3 }, 3)],
    ['bidirectional GRU tagger, embedding', tagger({}, 4)],
    ['unidirectional LSTM tagger, one-hot, sigmoid output', tagger({ cell: 'lstm', bidirectional: false, embedding: 0, tags: 1, output: 'sigmoid' }, 5)],
  ]
  for (const [what, model] of models) {
    test(`${what}: bit-identical (the same model file bytes), with no config`, async () => {
      const file = await encodePyTorchSafetensors(model)
      const back = decodePyTorchSafetensors(file, f32())
      assert.equal(back.kind, model.kind)
      assert.deepEqual(await modelFileBytes(back), await modelFileBytes(model))
      assert.deepEqual(back.bundle.model.architecture, model.bundle.model.architecture)
    })
  }

  test('the file holds exactly PyTorch\'s names and shapes, and recur\'s metadata', async () => {
    const model = lm({ cell: 'gru', embedding: 3 }, 7)
    const file = decodeSafetensors(await encodePyTorchSafetensors(model))
    const net = { cell: 'gru' as const, layers: 2, hidden: 4, bidirectional: false, vocabularySize: 5, embedding: 3, outputs: 5 }
    assert.deepEqual(new Map([...file.tensors].map(([n, t]) => [n, t.shape])), new Map([...pytorchShapes(net)].sort()))
    assert.equal(file.metadata['format'], 'pt')
    assert.equal(file.metadata['recur.kind'], 'language-model')
    assert.deepEqual(JSON.parse(file.metadata['recur.vocabulary']!).tokens, ['<UNK>', '<EOS>', 'x', 'y', 'z'])
  })

  test('GRU update block: recur stores -z, the file stores PyTorch\'s z', async () => {
    const model = lm({ cell: 'gru', layers: 1, embedding: 2 }, 8)
    const values = await model.bundle.model.params.readValues()
    const file = decodeSafetensors(await encodePyTorchSafetensors(model))
    const H = 4
    const recurBias = values.get('rnn.l0.bias_ih')!
    const torchBias = tensorToFloat32(file.tensors.get('rnn.bias_ih_l0')!, 'b')
    for (let i = 0; i < 3 * H; i++) assert.equal(torchBias[i], i >= H && i < 2 * H ? -recurBias[i]! : recurBias[i]!)
  })
})

describe('refusals', () => {
  const vocabulary = Vocabulary.fromTokens(['<UNK>', 'a', 'b'])
  const lm = (a: Partial<LanguageModelArchitecture>): PyTorchCompatibleModel => ({
    kind: 'language-model',
    bundle: {
      model: new LanguageModel(f32(), { cell: 'gru', layers: 1, hidden: 2, vocabularySize: 3, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...a }),
      vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, trainerState: null, validationIds: null,
    },
  })

  test('a GRU with reset before and a peephole LSTM: PyTorch cannot express them', async () => {
    await expectRecurError(() => encodePyTorchSafetensors(lm({ reset: 'before' })), 'OPTION', /reset 'before', which PyTorch cannot express.*--format onnx/)
    await expectRecurError(() => encodePyTorchSafetensors(lm({ cell: 'lstm', peephole: true })), 'OPTION', /LSTM with peepholes, which PyTorch cannot express/)
  })

  const name = 'gru-l1-uni-emb'
  const config = () => ({ ...fixture(name).config })
  const entries = (): SafetensorsInput[] => [...decodeSafetensors(weights(name)).tensors].map(([n, t]) => ({ name: n, shape: t.shape, data: tensorToFloat32(t, n) }))

  test('a PyTorch file without a config: its tokens are unknown', async () => {
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), null, 'w.safetensors'), 'OPTION', /w\.safetensors has no recur metadata .*--config/)
  })

  test('a config that disagrees with the tensors names the field and the tensors\' value', async () => {
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), { ...config(), hidden: 8 }, 'w', 'c.json'), 'SHAPE', /c\.json says hidden 8 but the tensors of w hold hidden 6/)
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), { ...config(), cell: 'lstm' }, 'w', 'c.json'), 'SHAPE', /says cell "lstm" .* hold cell "gru"/)
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), { ...config(), vocabulary: ['<UNK>', 'a'] }, 'w', 'c.json'), 'SHAPE', /lists 2 tokens but .* V = 7/)
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), { vocabularySize: 7, level: 'char' }, 'w', 'c.json'), 'FORMAT', /"vocabularySize" alone is not enough/)
    await expectRecurError(() => decodePyTorchSafetensors(weights(name), f32(), { ...config(), colour: 1 }, 'w', 'c.json'), 'FORMAT', /unknown field "colour"/)
    await expectRecurError(() => decodePyTorchSafetensors(weights('gru-l1-bi-onehot'), f32(), { ...config(), model: 'language-model', bidirectional: undefined, embedding: undefined }, 'w', 'c.json'), 'OPTION', /bidirectional .* "model": "tagger"/)
  })

  test('a missing tensor, a tensor of the wrong shape, an extra tensor: named', async () => {
    const without = entries().filter((e) => e.name !== 'rnn.bias_hh_l0')
    await expectRecurError(() => decodePyTorchSafetensors(encodeSafetensors(without), f32(), config(), 'w'), 'SHAPE', /missing tensor 'rnn\.bias_hh_l0' \[18\]/)
    const misshapen = entries().map((e) => (e.name === 'rnn.weight_ih_l0' ? { ...e, shape: [15, 6] } : e))
    await expectRecurError(() => decodePyTorchSafetensors(encodeSafetensors(misshapen), f32(), config(), 'w'), 'SHAPE', /tensor 'rnn\.weight_ih_l0' has shape \[15, 6\], .* needs \[18, 5\]/)
    const extra = [...entries(), { name: 'rnn.weight_ih_l5', shape: [1], data: new Float32Array(1) }]
    await expectRecurError(() => decodePyTorchSafetensors(encodeSafetensors(extra), f32(), config(), 'w'), 'SHAPE', /unexpected tensor 'rnn\.weight_ih_l5'/)
    const renamed = entries().map((e) => ({ ...e, name: e.name.replace('rnn.', 'lstm.') }))
    await expectRecurError(() => decodePyTorchSafetensors(encodeSafetensors(renamed), f32(), config(), 'w'), 'SHAPE', /no tensor 'rnn\.weight_hh_l0'.*"names"/)
  })

  test('a corrupt file is a FORMAT error naming it', async () => {
    await expectRecurError(() => decodePyTorchSafetensors(weights(name).subarray(0, 100), f32(), config(), 'w.safetensors'), 'FORMAT', /^w\.safetensors: /)
  })
})

test('a vocabulary or tokenizer the config gets wrong is a FORMAT error naming the config', async () => {
  const f = fixture('rnn-l1-uni-emb')
  const bytes = weights('rnn-l1-uni-emb')
  const tokens = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
  await expectRecurError(() => decodePyTorchSafetensors(bytes, f32(), { ...f.config, vocabulary: tokens }, 'w', 'c.json'), 'FORMAT', /^c\.json: "vocabulary": .*no <UNK>/)
  await expectRecurError(() => decodePyTorchSafetensors(bytes, f32(), { ...f.config, tokenizer: { level: 'char', eos: 'never' } }, 'w', 'c.json'), 'FORMAT', /^c\.json: "tokenizer": .*eos "never"/)
})
