/**
 * `recur translate train|predict|eval`, run in this process through `main` with collecting output
 * streams and an injected standard input, on small JSONL / CSV / TSV files of generated dates in a
 * temporary folder, with tiny models on the f32 reference backend (RECUR_BACKEND=reference).
 * Learning is tested in test/tasks/translate.test.ts; here the commands, files and errors are.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { Random } from '../../src/random.js'
import { assertFailedWithOneLine, assertSucceeded, runCli } from '../helpers/cli.js'

/** Runs `recur ...argv` in this process; `stdin` is what standard input holds. */
const recur = (argv: readonly string[], stdin?: string) => runCli(argv, { stdin })

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const two = (n: number) => String(n).padStart(2, '0')

/** Dates in three human formats and their ISO form (a few commas, to exercise CSV quoting). */
function dates(n: number, seed: number): { date: string; iso: string }[] {
  const random = new Random(seed)
  return Array.from({ length: n }, () => {
    const y = 1950 + random.int(100), m = 1 + random.int(12), d = 1 + random.int(28)
    const formats = [`${MONTHS[m - 1]} ${d}, ${y}`, `${m}/${d}/${two(y % 100)}`, `${two(d)}.${two(m)}.${y}`]
    return { date: formats[random.int(formats.length)]!, iso: `${y}-${two(m)}-${two(d)}` }
  })
}

const tiny = ['--hidden', '8', '--batch', '8', '--steps', '6', '--val-examples', '5', '--seed', '3']
const ISO_LIKE = /^[0-9-]*$/

let dir: string
let jsonl: string
let csv: string
let tsv: string
let valid: string
let model: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recur-translate-'))
  const pairs = dates(80, 1)
  jsonl = join(dir, 'dates.jsonl')
  writeFileSync(jsonl, pairs.map((p) => JSON.stringify({ text: p.date, target: p.iso })).join('\n') + '\n')
  csv = join(dir, 'dates.csv')
  writeFileSync(csv, ['id,date,iso', ...pairs.map((p, i) => `${i},"${p.date}",${p.iso}`)].join('\n') + '\n')
  tsv = join(dir, 'dates.tsv')
  writeFileSync(tsv, ['date\tiso', ...pairs.map((p) => `${p.date}\t${p.iso}`)].join('\n') + '\n')
  valid = join(dir, 'valid.jsonl')
  writeFileSync(valid, dates(12, 2).map((p) => JSON.stringify({ text: p.date, target: p.iso })).join('\n') + '\n')
  model = join(dir, 'run', 'dates.recur')
  assertSucceeded(await recur(['translate', 'train', '--data', jsonl, ...tiny, '--out', model]), 'train')
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('recur translate train', () => {
  test('writes an encoder-decoder model file, its log and loss plot; messages go to stderr', async () => {
    const result = await recur(['translate', 'train', '--data', jsonl, ...tiny, '--out', join(dir, 'again.recur')])
    assertSucceeded(result, 'train')
    assert.equal(result.out, '')
    assert.match(result.err, /char-level input -> char-level target, LSTM encoder-decoder, 1 x 8/)
    assert.match(result.err, /72 training \+ 8 validation pairs \(validation: 10% of .*dates\.jsonl; exact match of greedy decoding on 5\)/)
    assert.match(result.err, /val exact match/)
    assert.match(result.err, /recur translate predict .*again\.recur ".*" --beam 3/)
    const file = decodeModelFile(readFileSync(model))
    assert.equal(file.kind, 'seq2seq')
    const meta = file.meta as { training: Record<string, unknown>; target: { vocabulary: { tokens: string[] } } }
    assert.equal(meta.training['inputField'], 'text')
    assert.equal(meta.training['targetField'], 'target')
    assert.equal(meta.training['trainedSteps'], 6)
    assert.deepEqual(meta.target.vocabulary.tokens.slice(0, 4), ['<PAD>', '<UNK>', '<EOS>', '<BOS>'])
    assert.ok(existsSync(join(dir, 'run', 'dates.log.csv')) && existsSync(join(dir, 'run', 'dates.loss.svg')))
  })

  test('CSV with named columns and a separate validation file; --json prints one summary object', async () => {
    const out = join(dir, 'csv.recur')
    const result = await recur(['translate', 'train', '--data', csv, '--input-field', 'date', '--target-field', 'iso', '--valid', tsv, ...tiny, '--out', out, '--json'])
    assertSucceeded(result, 'train --json')
    const summary = JSON.parse(result.out) as Record<string, unknown>
    assert.equal(summary['model'], out)
    assert.equal(summary['steps'], 6)
    assert.equal(summary['trainExamples'], 80)
    assert.equal(summary['validationExamples'], 80)
    assert.equal(typeof summary['valExactMatch'], 'number')
    assert.equal(result.err, '', '--json keeps stderr quiet')
  })

  test('TSV, word-level targets (space-separated symbols out)', async () => {
    const symbols = join(dir, 'symbols.tsv')
    writeFileSync(symbols, ['date\tiso', ...dates(30, 3).map((p) => `${p.date}\t${p.iso.replaceAll('-', ' - ')}`)].join('\n') + '\n')
    const out = join(dir, 'words.recur')
    assertSucceeded(await recur(['translate', 'train', '--data', symbols, '--input-field', 'date', '--target-field', 'iso', '--target-level', 'word', ...tiny, '--out', out]), 'train word targets')
    const meta = decodeModelFile(readFileSync(out)).meta as { target: { tokenizer: { level: string } } }
    assert.equal(meta.target.tokenizer.level, 'word')
    const predicted = await recur(['translate', 'predict', out, 'June 25, 2009'])
    assertSucceeded(predicted, 'predict word targets')
    const line = JSON.parse(predicted.out) as { output: string }
    assert.match(line.output, /^[0-9-]*( [0-9-]+)*$/, 'tokens written with spaces between them')
  })
})

describe('recur translate predict', () => {
  test('texts as arguments: one JSON line each with the output, its probability and score', async () => {
    const result = await recur(['translate', 'predict', model, 'June 25, 2009', '6/25/09'])
    assertSucceeded(result, 'predict')
    const lines = result.out.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.equal(lines.length, 2)
    assert.deepEqual(lines.map((l) => l['input']), ['June 25, 2009', '6/25/09'])
    for (const l of lines) {
      assert.match(l['output'] as string, ISO_LIKE)
      const p = l['probability'] as number
      assert.ok(p >= 0 && p <= 1)
      assert.ok(Number.isFinite(l['score']) && (l['score'] as number) <= 0)
      assert.equal(l['alternatives'], undefined, 'greedy search has no alternatives')
    }
  })

  test('--beam gives the alternatives, best first', async () => {
    const result = await recur(['translate', 'predict', '--model', model, 'the 25th of June, 2009', '--beam', '3', '--length-penalty', '1', '--max-length', '12'])
    assertSucceeded(result, 'predict --beam')
    const line = JSON.parse(result.out) as { output: string; score: number; alternatives: { output: string; score: number; probability: number }[] }
    assert.ok(Array.isArray(line.alternatives) && line.alternatives.length <= 2)
    const scores = [line.score, ...line.alternatives.map((a) => a.score)]
    assert.deepEqual(scores, scores.slice().sort((a, b) => b - a))
    for (const a of [line, ...line.alternatives]) assert.ok(a.output.length <= 12)
  })

  test('from a JSON lines file (the recorded input field) and from standard input (one text per line)', async () => {
    const fromFile = await recur(['translate', 'predict', model, '--data', valid])
    assertSucceeded(fromFile, 'predict --data')
    assert.equal(fromFile.out.trimEnd().split('\n').length, 12)
    const fromStdin = await recur(['translate', 'predict', model], 'March 3, 1999\n\n12/31/49\n')
    assertSucceeded(fromStdin, 'predict from stdin')
    const lines = fromStdin.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { input: string })
    assert.deepEqual(lines.map((l) => l.input), ['March 3, 1999', '12/31/49'])
  })
})

describe('recur translate eval', () => {
  test('prints exact match and token error rate; --json has the numbers', async () => {
    const text = await recur(['translate', 'eval', model, '--data', valid])
    assertSucceeded(text, 'eval')
    assert.match(text.out, /exact match\s+\d\.\d{4} \(\d+ of 12\)/)
    assert.match(text.out, /token error rate\s+\d\.\d{4} \(\d+ edits \/ 120 reference tokens\)/)
    assert.match(text.out, /decoding\s+greedy, at most 20 tokens/)
    const json = await recur(['translate', 'eval', model, '--data', csv, '--input-field', 'date', '--target-field', 'iso', '--beam', '2', '--json'])
    assertSucceeded(json, 'eval --json')
    const report = JSON.parse(json.out) as Record<string, number>
    assert.equal(report['examples'], 80)
    assert.equal(report['beam'], 2)
    assert.equal(report['referenceTokens'], 800)
    assert.ok(report['exactMatch']! >= 0 && report['exactMatch']! <= 1)
    assert.ok(report['tokenErrorRate']! >= 0)
  })
})

describe('recur translate: errors are one line, no stack', () => {
  test('a missing target field names the field and the line', async () => {
    assertFailedWithOneLine(await recur(['translate', 'train', '--data', jsonl, '--target-field', 'iso', ...tiny]), 1, /line 1: no field "iso"/)
    assertFailedWithOneLine(await recur(['translate', 'eval', model, '--data', csv]), 1, /no column "text"/)
  })

  test('an empty dataset', async () => {
    const empty = join(dir, 'empty.jsonl')
    writeFileSync(empty, '\n')
    assertFailedWithOneLine(await recur(['translate', 'train', '--data', empty, ...tiny]), 1, /empty/)
    const header = join(dir, 'header.csv')
    writeFileSync(header, 'text,target\n')
    assertFailedWithOneLine(await recur(['translate', 'train', '--data', header, ...tiny]), 1, /no records/)
  })

  test('an empty input names its line', async () => {
    const blank = join(dir, 'blank.jsonl')
    writeFileSync(blank, '{"text": "May 1, 2001", "target": "2001-05-01"}\n{"text": "", "target": "2001-05-02"}\n')
    assertFailedWithOneLine(await recur(['translate', 'train', '--data', blank, ...tiny, '--val-fraction', '0']), 1, /blank\.jsonl line 2: the input has no tokens/)
  })

  test('bad --beam and other flags', async () => {
    assertFailedWithOneLine(await recur(['translate', 'predict', model, 'May 1, 2001', '--beam', '0']), 2, /--beam/)
    assertFailedWithOneLine(await recur(['translate', 'predict', model, 'May 1, 2001', '--beam', 'wide']), 2, /--beam/)
    assertFailedWithOneLine(await recur(['translate', 'eval', model, '--data', valid, '--length-penalty', '-1']), 2, /--length-penalty/)
    assertFailedWithOneLine(await recur(['translate', 'train', '--data', jsonl, '--target-level', 'byte']), 2, /--target-level/)
  })

  test('missing --data, a missing model file, a model of another kind', async () => {
    assertFailedWithOneLine(await recur(['translate', 'train']), 2, /needs --data/)
    assertFailedWithOneLine(await recur(['translate', 'eval', model]), 2, /needs --data/)
    assertFailedWithOneLine(await recur(['translate', 'predict', join(dir, 'nope.recur'), 'x']), 1, /does not exist/)
    const tagData = join(dir, 'tags.jsonl')
    writeFileSync(tagData, '{"text": "a b", "tags": "X Y"}\n{"text": "b a", "tags": "Y X"}\n')
    const tagModel = join(dir, 'tagger.recur')
    assertSucceeded(await recur(['tag', 'train', '--data', tagData, '--hidden', '4', '--steps', '1', '--val-fraction', '0', '--out', tagModel]), 'tag train')
    assertFailedWithOneLine(await recur(['translate', 'predict', tagModel, 'x']), 1, /tagger|seq2seq/)
  })
})
