/**
 * `recur import` and `recur export` end to end: a PyTorch model (test/golden/interop) imported with
 * a config, used by other commands, exported back to PyTorch's state dict bit for bit, exported to
 * ONNX and run in ONNX Runtime to PyTorch's logits; a recur export imported with no config; every
 * failure one error line.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as ort from 'onnxruntime-node'

import { saveModelFile } from '../../src/io/model-file.js'
import { decodeSafetensors, tensorToFloat32 } from '../../src/io/safetensors.js'
import { LanguageModel } from '../../src/models/language-model.js'
import { languageModelFileContents } from '../../src/models/language-model-file.js'
import { Seq2Seq } from '../../src/models/seq2seq.js'
import { taskFileContents } from '../../src/models/task-file.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { bits, f32, runCli, stackLines, type CliResult } from '../helpers/lm.js'
import { maxRelativeError } from '../helpers/setup.js'

let dir: string
const interop = (name: string) => new URL(`../golden/interop/${name}`, import.meta.url)
const fixture = (name: string) => JSON.parse(readFileSync(interop(`${name}.json`), 'utf8')) as {
  config: Record<string, unknown>; T: number; B: number; inputs: { data: number[] }; logits: { data: number[] }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-interop-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit code (stderr: ${r.err})`)
  assert.equal(r.err, '', `${what}: nothing on stderr`)
}

async function fails(argv: readonly string[], code: 1 | 2, pattern: RegExp): Promise<void> {
  const r = await runCli(argv)
  const what = `recur ${argv.join(' ')}`
  assert.equal(r.code, code, `${what}: exit code (stderr: ${r.err})`)
  assert.equal(r.out, '', `${what}: nothing on stdout`)
  assert.match(r.err, /^recur: error: [^\n]+\n$/, `${what}: one error line, got ${JSON.stringify(r.err)}`)
  assert.match(r.err, pattern, what)
  assert.deepEqual(stackLines(r.err), [], `${what}: no stack trace`)
}

async function onnxLogits(path: string, ids: readonly number[], T: number, B: number, feeds: Record<string, ort.Tensor> = {}): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(readFileSync(path), { logSeverityLevel: 3 })
  const tokens = new ort.Tensor('int64', BigInt64Array.from(ids.map((i) => BigInt(i))), [T, B])
  const out = await session.run({ tokens, ...feeds })
  await session.release()
  return out['logits']!.data as Float32Array
}

describe('a PyTorch language model', () => {
  const name = 'lstm-l2-uni-onehot'
  let model: string

  test('recur import with a config writes a model file that recur sample and recur score use', async () => {
    const config = join(dir, 'lm.json')
    writeFileSync(config, JSON.stringify(fixture(name).config))
    model = join(dir, 'lm.recur')
    const r = await runCli(['import', interop(`${name}.safetensors`).pathname, '--config', config, '--out', model])
    ok(r, 'import')
    assert.match(r.out, /^imported .*lstm-l2-uni-onehot\.safetensors: LSTM language model, 2 x 6, one-hot input, 7 tokens, [\d,]+ parameters\nwrote .*lm\.recur\n$/)
    ok(await runCli(['sample', model, '--length', '5', '--seed', '2']), 'sample')
    ok(await runCli(['score', model, 'abc']), 'score')
  })

  test('recur export --format safetensors gives back PyTorch\'s state dict bit for bit', async () => {
    const out = join(dir, 'lm.safetensors')
    const r = await runCli(['export', model, '--format', 'safetensors', '--out', out])
    ok(r, 'export')
    assert.match(r.out, /^wrote .*lm\.safetensors: language-model as safetensors with PyTorch names and layouts, [\d,]+ bytes\n$/)
    const original = decodeSafetensors(readFileSync(interop(`${name}.safetensors`))).tensors
    const exported = decodeSafetensors(readFileSync(out)).tensors
    assert.deepEqual([...exported.keys()].sort(), [...original.keys()].sort())
    for (const [tensor, t] of original) assert.deepEqual(bits(tensorToFloat32(exported.get(tensor)!, tensor)), bits(tensorToFloat32(t, tensor)), tensor)

    // and it imports with no config into the same model file
    const again = join(dir, 'again.recur')
    ok(await runCli(['import', out, '--out', again]), 'import without config')
    assert.deepEqual(readFileSync(again), readFileSync(model))
  })

  test('recur export --format onnx runs in ONNX Runtime and gives PyTorch\'s logits', async () => {
    const out = join(dir, 'lm.onnx')
    const r = await runCli(['export', model, '--format', 'onnx', '--out', out, '--no-initial-states'])
    ok(r, 'export')
    assert.match(r.out, /^wrote .*lm\.onnx: language-model as ONNX \(IR 8, opset 17\), inputs tokens -> outputs logits, hn, cn, [\d,]+ bytes\n$/)
    const f = fixture(name)
    const logits = await onnxLogits(out, f.inputs.data, f.T, f.B)
    assert.ok(maxRelativeError(logits, f.logits.data, 1) <= 1e-4)
  })
})

test('a bidirectional PyTorch model imports as a tagger and exports to ONNX', async () => {
  const name = 'gru-l2-bi-emb'
  const config = join(dir, 'tagger.json')
  writeFileSync(config, JSON.stringify(fixture(name).config))
  const model = join(dir, 'tagger.recur')
  const r = await runCli(['import', interop(`${name}.safetensors`).pathname, '--config', config, '--out', model, '--json'])
  ok(r, 'import')
  const report = JSON.parse(r.out) as { kind: string; architecture: { bidirectional: boolean; tags: number } }
  assert.equal(report.kind, 'tagger')
  assert.deepEqual([report.architecture.bidirectional, report.architecture.tags], [true, 3])
  const out = join(dir, 'tagger.onnx')
  ok(await runCli(['export', model, '--format', 'onnx', '--out', out]), 'export')
  const f = fixture(name)
  assert.ok(maxRelativeError(await onnxLogits(out, f.inputs.data, f.T, f.B), f.logits.data, 1) <= 1e-4)
})

test('an encoder-decoder exports as two ONNX graphs', async () => {
  const vocabulary = Vocabulary.fromTokens(['<UNK>', '<BOS>', '<EOS>', 'x', 'y'])
  const model = new Seq2Seq(f32(), {
    encoder: { cell: 'gru', layers: 1, hidden: 4, vocabularySize: 5, embedding: 3, bidirectional: true, merge: 'concat', dropout: 0, reset: 'before', peephole: false },
    decoder: { layers: 1, hidden: 4, vocabularySize: 5, embedding: 3, dropout: 0 },
  })
  const path = join(dir, 'translate.recur')
  const text = { vocabulary, tokenizer: defaultTokenizerOptions('char') }
  await saveModelFile(path, await taskFileContents({ kind: 'seq2seq', model, target: text, input: text, training: null, optimizer: null }))
  const r = await runCli(['export', path, '--format', 'onnx', '--json'])
  ok(r, 'export')
  const files = (JSON.parse(r.out) as { files: { file: string; inputs: string[]; outputs: string[] }[] }).files
  assert.deepEqual(files.map((f) => [f.file, f.inputs, f.outputs]), [
    [join(dir, 'translate.encoder.onnx'), ['source'], ['h0']],
    [join(dir, 'translate.decoder.onnx'), ['tokens', 'h0'], ['logits', 'hn']],
  ])
  for (const f of files) assert.ok(existsSync(f.file))
  await fails(['export', path, '--format', 'safetensors'], 2, /is a seq2seq; safetensors export writes the language model and the tagger.*--format onnx/)
})

describe('errors: one line each', () => {
  let gruBefore: string
  before(async () => {
    gruBefore = join(dir, 'gru-before.recur')
    const model = new LanguageModel(f32(), { cell: 'gru', layers: 1, hidden: 4, vocabularySize: 3, embedding: 0, dropout: 0, reset: 'before', peephole: false })
    await saveModelFile(gruBefore, await languageModelFileContents({
      model, vocabulary: Vocabulary.fromTokens(['<UNK>', 'a', 'b']), tokenizer: defaultTokenizerOptions('char'), training: null, validationIds: null,
    }))
  })

  test('export: no --format, a missing model, a GRU reset-before to safetensors, --softmax with safetensors', async () => {
    await fails(['export', gruBefore], 2, /recur export needs --format safetensors or --format onnx/)
    await fails(['export', join(dir, 'nope.recur'), '--format', 'onnx'], 1, /model file .*nope\.recur does not exist/)
    await fails(['export', gruBefore, '--format', 'safetensors'], 2, /GRU with reset 'before', which PyTorch cannot express/)
    await fails(['export', gruBefore, '--format', 'safetensors', '--softmax'], 2, /--softmax applies to --format onnx only/)
    ok(await runCli(['export', gruBefore, '--format', 'onnx', '--out', join(dir, 'gru-before.onnx')]), 'ONNX has reset before')
  })

  test('import: a missing file, a corrupt file, no config for a PyTorch file, a config that does not fit, a config that is not JSON', async () => {
    const weights = interop('rnn-l1-uni-emb.safetensors').pathname
    await fails(['import', join(dir, 'nope.safetensors')], 1, /weights file .*nope\.safetensors does not exist/)
    const corrupt = join(dir, 'corrupt.safetensors')
    writeFileSync(corrupt, readFileSync(weights).subarray(0, 300))
    await fails(['import', corrupt], 1, /corrupt\.safetensors: truncated/)
    await fails(['import', weights, '--out', join(dir, 'x.recur')], 2, /has no recur metadata .*--config/)
    const config = join(dir, 'wrong.json')
    writeFileSync(config, JSON.stringify({ ...fixture('rnn-l1-uni-emb').config, hidden: 32 }))
    await fails(['import', weights, '--config', config, '--out', join(dir, 'x.recur')], 1, /wrong\.json says hidden 32 but the tensors of .* hold hidden 6/)
    writeFileSync(config, '{ "vocabulary": [')
    await fails(['import', weights, '--config', config, '--out', join(dir, 'x.recur')], 1, /config file .*wrong\.json is not valid JSON/)
    await fails(['import', weights, '--config', join(dir, 'none.json')], 1, /config file .*none\.json does not exist/)
    assert.ok(!existsSync(join(dir, 'x.recur')), 'nothing written on failure')
  })
})
