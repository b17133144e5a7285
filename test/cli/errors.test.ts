/**
 * Every bad input to `recur` gets one line `recur: error: ...` on stderr, nothing on stdout, no
 * stack trace, and a non-zero exit: 2 for a mistake on the command line, 1 for anything else.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { encodeModelFile, type ModelFileInput } from '../../src/io/model-format.js'
import { languageModelFileContents } from '../../src/models/language-model-file.js'
import { defaultTokenizerOptions } from '../../src/text/tokenizers.js'
import { charData, f32, runCli, stackLines, syntheticCorpus, tinyModel, type CliResult } from '../helpers/lm.js'

let dir: string
let corpus: string
let model: string
let contents: ModelFileInput
const tiny = ['--hidden', '8', '--batch', '2', '--seq-length', '8']

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recur-errors-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(60))
  model = join(dir, 'model.recur')
  const trained = await runCli(['train', '--corpus', corpus, '--steps', '2', ...tiny, '--out', model])
  assert.equal(trained.code, 0, trained.err)
  const { vocabulary } = charData(syntheticCorpus(60))
  contents = await languageModelFileContents({
    model: tinyModel(f32(), vocabulary.size), vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, validationIds: null,
  })
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `content` to a new file in the temporary folder and returns its path. */
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

/** Runs `recur ...argv` and checks the shape of a failure: exit code, one error line, no trace. */
async function fails(argv: readonly string[], code: 1 | 2, pattern: RegExp): Promise<CliResult> {
  const r = await runCli(argv)
  const what = `recur ${argv.join(' ')}`
  assert.equal(r.code, code, `${what}: exit code (stderr: ${r.err})`)
  assert.equal(r.out, '', `${what}: nothing on stdout`)
  assert.match(r.err, /^recur: error: [^\n]+\n$/, `${what}: exactly one error line, got ${JSON.stringify(r.err)}`)
  assert.match(r.err, pattern, what)
  assert.deepEqual(stackLines(r.err), [], `${what}: no stack trace`)
  assert.doesNotMatch(r.err, /internal error|Error: /, `${what}: not reported as a bug`)
  return r
}

describe('corpus files', () => {
  const train = (path: string) => ['train', '--corpus', path, '--steps', '2', ...tiny, '--out', join(dir, 'never.recur')]

  test('a missing corpus file', async () => {
    await fails(train(join(dir, 'no-such-file.txt')), 1, /no such file: .*no-such-file\.txt/)
  })

  test('a directory given as the corpus', async () => {
    mkdirSync(join(dir, 'folder'), { recursive: true })
    await fails(train(join(dir, 'folder')), 1, /folder is a directory/)
  })

  test('an empty corpus', async () => {
    await fails(train(file('empty.txt', '')), 1, /empty\.txt is empty/)
  })

  test('a corpus of whitespace only', async () => {
    await fails(train(file('blank.txt', ' \n\t\n   \n')), 1, /blank\.txt holds only whitespace/)
  })

  test('a corpus shorter than one window for every stream', async () => {
    await fails(train(file('short.txt', 'the cat sat.\n')), 1, /short\.txt has \d+ training tokens, fewer than one window .*2 x 9 = 18/)
  })

  test('a binary file (NUL bytes)', async () => {
    await fails(train(file('binary.bin', new Uint8Array([0x52, 0x45, 0x00, 0x01, 0x02, 0xff, 0x10, 0x0a]))), 1, /binary\.bin looks binary: NUL byte at byte offset 2/)
  })

  test('a UTF-16 text file (NUL bytes)', async () => {
    await fails(train(file('utf16.txt', Buffer.from('\ufeffthe cat sat on the mat\n'.repeat(20), 'utf16le'))), 1, /looks binary.*UTF-16/)
  })

  test('invalid UTF-8', async () => {
    await fails(train(file('latin1.txt', Buffer.from('caf\xe9 au lait\n'.repeat(30), 'latin1'))), 1, /latin1\.txt is not valid UTF-8: .* at byte offset 3 \(line 1\)/)
  })

  test('eval --corpus with a missing or empty file', async () => {
    await fails(['eval', model, '--corpus', join(dir, 'missing.txt')], 1, /no such file/)
    await fails(['eval', model, '--corpus', file('empty2.txt', '')], 1, /is empty/)
  })
})

describe('command-line mistakes (exit 2)', () => {
  test('recur with no command prints the help to stderr and exits 2', async () => {
    const r = await runCli([])
    assert.equal(r.code, 2)
    assert.equal(r.out, '')
    assert.match(r.err, /^Usage: recur <command>/)
    assert.match(r.err, /train\s+Train a language model/)
  })

  test('an unknown command, with a suggestion', async () => {
    await fails(['trian'], 2, /unknown command 'trian' for recur\. Did you mean 'recur train'\?/)
  })

  test('an unknown flag, with a did-you-mean', async () => {
    await fails(['train', '--hiden', '8'], 2, /unknown flag --hiden for recur train\. Did you mean --hidden\?/)
    await fails(['sample', model, '--temprature', '0.5'], 2, /Did you mean --temperature\?/)
    await fails(['train', '--zzzz'], 2, /unknown flag --zzzz.*recur train --help/)
  })

  test('out-of-range values', async () => {
    await fails(['train', '--hidden', '0'], 2, /--hidden must be an integer from 1 to 8192, got 0/)
    await fails(['train', '--lr', '-1'], 2, /--lr must be a number >= 0, got -1/)
    await fails(['train', '--dropout', '1'], 2, /--dropout must be a number from 0 to 0\.95, got 1/)
    await fails(['train', '--steps', '2.5'], 2, /--steps must be an integer/)
    await fails(['train', '--batch', 'many'], 2, /--batch must be an integer .*got 'many'/)
    await fails(['sample', model, '--top-p', '0'], 2, /--top-p must be/)
    await fails(['sample', model, '--temperature', '0'], 2, /--temperature must be/)
  })

  test('a bad enum value', async () => {
    await fails(['train', '--cell', 'foo'], 2, /--cell must be one of rnn, gru, lstm, got 'foo'/)
    await fails(['train', '--level', 'words'], 2, /--level must be one of char, word, got 'words'\. Did you mean word\?/)
  })

  test('a flag without its value; a missing or extra argument', async () => {
    await fails(['train', '--hidden'], 2, /--hidden needs a value/)
    await fails(['sample'], 2, /missing argument <model>/)
    await fails(['eval', model, 'extra'], 2, /unexpected argument 'extra'/)
  })

  test('--resume with a setting that the model file fixes, or with no steps left', async () => {
    await fails(['train', '--resume', model, '--hidden', '16'], 2, /--hidden cannot change when resuming/)
    await fails(['train', '--resume', model, '--out', join(dir, 'resumed.recur')], 2, /has already trained 2 steps, and --steps is 2\. Ask for more/)
  })
})

describe('model files', () => {
  const commands = (path: string): string[][] => [['sample', path], ['eval', path], ['score', path, 'the cat'], ['info', path], ['train', '--resume', path]]

  test('a missing model file', async () => {
    for (const argv of commands(join(dir, 'missing.recur'))) await fails(argv, 1, /model file .*missing\.recur does not exist/)
  })

  test('a directory given as the model', async () => {
    mkdirSync(join(dir, 'models'), { recursive: true })
    await fails(['sample', join(dir, 'models')], 1, /is a directory, not a model file/)
  })

  test('a corrupt model file (one byte flipped)', async () => {
    const bytes = new Uint8Array(readFileSync(model))
    bytes[Math.floor(bytes.length / 2)] ^= 0x01
    const path = file('corrupt.recur', bytes)
    for (const argv of commands(path)) await fails(argv, 1, /corrupt\.recur: corrupt \(checksum mismatch/)
  })

  test('a truncated model file', async () => {
    const bytes = readFileSync(model)
    for (const length of [10, 200, bytes.length - 64]) {
      await fails(['sample', file(`truncated-${length}.recur`, bytes.subarray(0, length))], 1, /truncated/)
    }
  })

  test('a file that is not a model at all', async () => {
    for (const argv of commands(corpus)) await fails(argv, 1, /not a recur model file/)
  })

  test('a model file of another kind', async () => {
    const path = file('classifier.recur', encodeModelFile({ ...contents, kind: 'classifier' }))
    for (const argv of commands(path)) await fails(argv, 1, /holds a model of kind "classifier", expected kind "language-model"/)
  })

  test('a model file of a newer format version', async () => {
    const bytes = new Uint8Array(readFileSync(model))
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(8, 7, true)
    const path = file('future.recur', bytes)
    for (const argv of commands(path)) await fails(argv, 1, /format version 7 was written by a newer recur/)
  })

  test('a model file whose header does not fit its tensors (it is not allocated)', async () => {
    const meta = contents.meta as { architecture: Record<string, unknown> }
    const forged = file('forged.recur', encodeModelFile({ ...contents, meta: { ...meta, architecture: { ...meta.architecture, hidden: 100_000 } } }))
    for (const argv of commands(forged)) await fails(argv, 1, /forged\.recur: tensor 'out\.weight' has shape/)
  })

  test('eval with no --corpus on a model trained with --val-fraction 0', async () => {
    const noVal = join(dir, 'no-val.recur')
    assert.equal((await runCli(['train', '--corpus', corpus, '--steps', '1', ...tiny, '--val-fraction', '0', '--out', noVal])).code, 0)
    await fails(['eval', noVal], 1, /records no validation text.*Pass --corpus FILE/)
  })
})

describe('other failures', () => {
  test('an unknown --backend', async () => {
    await fails(['train', '--corpus', corpus, '--backend', 'cuda9'], 1, /unknown backend 'cuda9'\. Known backends: .*reference/)
    await fails(['sample', model, '--backend', 'nope'], 1, /unknown backend 'nope'/)
    const r = await runCli(['info', model], { env: { RECUR_BACKEND: 'reference' } })
    assert.equal(r.code, 0, 'RECUR_BACKEND naming a backend that exists is fine')
  })

  test('a --prime character the model never saw, with --unknown error (the default)', async () => {
    await fails(['sample', model, '--prime', 'the Zebra', '--unknown', 'error'], 1, /--prime: "Z" \(token 5\) is not in the model's vocabulary of \d+ tokens\. .*--unknown unk/)
    await fails(['sample', model, '--prime', 'Q'], 1, /"Q"/)
    assert.equal((await runCli(['sample', model, '--prime', 'the Zebra', '--unknown', 'unk', '--length', '5'])).code, 0)
  })

  test('score: text with no tokens; unknown tokens with --unknown error', async () => {
    await fails(['score', model, ''], 1, /nothing to score/)
    await fails(['score', model, 'the Zebra', '--unknown', 'error'], 1, /the text: "Z" \(token 5\) is not in the model's vocabulary.*--unknown unk/)
  })

  test('plot: a missing log, a log that is not a training log', async () => {
    await fails(['plot', join(dir, 'missing.log.csv')], 1, /missing\.log\.csv/)
    await fails(['plot', file('notes.csv', 'hello,world\n1,2\n')], 1, /notes\.csv/)
  })
})
