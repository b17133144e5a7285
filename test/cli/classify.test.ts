/**
 * `recur classify train|predict|eval`, run in this process through `main` with collecting output
 * streams and an injected standard input, on small JSONL / CSV / TSV files in a temporary folder,
 * on the f32 reference backend (RECUR_BACKEND=reference).
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { Random } from '../../src/random.js'
import { readTrainingLog } from '../../src/train/log.js'
import { assertFailedWithOneLine, assertSucceeded, runCli, type CliResult } from '../helpers/cli.js'
import { wordOrderSentence } from '../helpers/tasks.js'

const FILLER = ['the', 'a', 'big', 'red', 'sat', 'on', 'mat', 'saw']

/** Word-order sentences (`wordOrderSentence`), as records. */
function records(n: number, seed: number): { text: string; label: string }[] {
  const random = new Random(seed)
  return Array.from({ length: n }, () => wordOrderSentence(random, FILLER, 4, 4))
}

let dir: string
const tiny = ['--hidden', '8', '--embedding', '4', '--batch', '8', '--seed', '2']
const path = (name: string) => join(dir, name)

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-cli-classify-'))
  const data = records(60, 1)
  writeFileSync(path('train.jsonl'), data.map((r) => JSON.stringify(r)).join('\n') + '\n')
  writeFileSync(path('valid.jsonl'), records(16, 2).map((r) => JSON.stringify(r)).join('\n') + '\n')
  // CSV with a quoted field holding a comma; TSV with other column names.
  writeFileSync(path('train.csv'), `label,text\n${data.map((r, i) => `${r.label},${i === 0 ? `"${r.text}, then"` : r.text}`).join('\n')}\n`)
  writeFileSync(path('train.tsv'), `sentence\tclass\n${data.map((r) => `${r.text}\t${r.label}`).join('\n')}\n`)
  writeFileSync(path('inputs.txt'), 'the cat saw the dog\n\nthe dog saw the cat\n')
  writeFileSync(path('empty.jsonl'), '')
  writeFileSync(path('malformed.jsonl'), '{"text": "a cat", "label": "x"}\n{"text": "a dog" "label": "y"}\n')
  writeFileSync(path('unknown-label.jsonl'), '{"text": "the cat saw a dog", "label": "cat-frist"}\n')
  writeFileSync(path('one-label.jsonl'), '{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n')
  writeFileSync(path('multi.jsonl'), ['{"text": "cat mat", "label": "cat"}', '{"text": "dog mat", "label": ["dog"]}', '{"text": "cat dog", "label": "cat|dog"}', '{"text": "mat", "label": []}'].join('\n') + '\n')
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('recur classify train', () => {
  let trained: CliResult
  before(async () => {
    trained = await runCli(['classify', 'train', '--data', path('train.jsonl'), '--valid', path('valid.jsonl'), '--epochs', '2', '--checkpoint-every', '3', ...tiny, '--out', path('run/model.recur')])
  })

  test('trains, saves, and says where the model is and what to run next (messages on stderr)', () => {
    assertSucceeded(trained, 'train')
    assert.equal(trained.out, '')
    assert.match(trained.err, /word-level GRU, 1 x 8, final pooling/)
    assert.match(trained.err, /2 labels \(softmax\): cat-first, dog-first/)
    assert.match(trained.err, /60 training \+ 16 validation examples \(validation: .*valid\.jsonl\)/)
    assert.match(trained.err, /val accuracy \d\.\d{4}/)
    assert.ok(trained.err.includes(`Saved the model to ${path('run/model.recur')}`), trained.err)
    assert.ok(trained.err.includes(`recur classify predict ${path('run/model.recur')}`), trained.err)
    assert.ok(trained.err.includes(`recur classify eval ${path('run/model.recur')} --data ${path('valid.jsonl')}`), trained.err)
  })

  test('writes a classifier model file recording the fields, a CSV log and an SVG plot, and no temporary files', () => {
    const file = decodeModelFile(readFileSync(path('run/model.recur')))
    assert.equal(file.kind, 'classifier')
    const meta = file.meta as { labels: string[]; training: Record<string, unknown> }
    assert.deepEqual(meta.labels, ['cat-first', 'dog-first'])
    assert.equal(meta.training['inputField'], 'text')
    assert.equal(meta.training['labelField'], 'label')
    assert.equal(meta.training['trainedSteps'], 16)
    const log = readTrainingLog(path('run/model.log.csv'))
    assert.deepEqual(log.records.map((r) => r.step), Array.from({ length: 16 }, (_, i) => i + 1))
    assert.deepEqual(log.records.filter((r) => r.valLoss !== undefined).map((r) => r.step), [8, 16], 'validation after each epoch')
    assert.ok(log.records.filter((r) => r.valLoss !== undefined).every((r) => r['valAccuracy']! >= 0 && r['valAccuracy']! <= 1))
    assert.match(readFileSync(path('run/model.loss.svg'), 'utf8'), /<svg[\s>]/)
    assert.deepEqual(readdirSync(path('run')).filter((name) => name.includes('.tmp-')), [])
  })

  test('--json prints one JSON summary on stdout and nothing on stderr', async () => {
    const r = await runCli(['classify', 'train', '--data', path('train.jsonl'), '--steps', '4', '--val-fraction', '0.25', ...tiny, '--out', path('json/model.recur'), '--json'])
    assertSucceeded(r, 'train --json')
    assert.equal(r.err, '')
    const summary = JSON.parse(r.out) as Record<string, unknown>
    assert.equal(summary['model'], path('json/model.recur'))
    assert.equal(summary['steps'], 4)
    assert.equal(summary['stopped'], 'done')
    assert.deepEqual(summary['labels'], ['cat-first', 'dog-first'])
    assert.equal(summary['trainExamples'], 45)
    assert.equal(summary['validationExamples'], 15)
    assert.equal(typeof summary['valAccuracy'], 'number')
    assert.ok(existsSync(path('json/model.log.csv')))
  })

  test('reads CSV and TSV (format from the extension, fields by name)', async () => {
    assertSucceeded(await runCli(['classify', 'train', '--data', path('train.csv'), '--steps', '2', ...tiny, '--out', path('csv.recur'), '--json']), 'train csv')
    assertSucceeded(await runCli(['classify', 'train', '--data', path('train.tsv'), '--input-field', 'sentence', '--label-field', 'class', '--input-level', 'char', '--steps', '2', ...tiny, '--out', path('tsv.recur'), '--json']), 'train tsv')
    const meta = decodeModelFile(readFileSync(path('tsv.recur'))).meta as { input: { tokenizer: { level: string } } }
    assert.equal(meta.input.tokenizer.level, 'char')
  })

  test('several labels per record make a multi-label model; predict lists the labels', async () => {
    const r = await runCli(['classify', 'train', '--data', path('multi.jsonl'), '--val-fraction', '0', '--steps', '2', ...tiny, '--out', path('multi.recur'), '--json'])
    assertSucceeded(r, 'train multi-label')
    const summary = JSON.parse(r.out) as Record<string, unknown>
    assert.equal(summary['multiLabel'], true)
    assert.equal(summary['valAccuracy'] ?? null, null)
    const p = await runCli(['classify', 'predict', path('multi.recur'), 'cat dog'])
    assertSucceeded(p, 'predict multi-label')
    const line = JSON.parse(p.out) as { labels: string[]; probabilities: Record<string, number> }
    assert.ok(Array.isArray(line.labels))
    assert.deepEqual(Object.keys(line.probabilities), ['cat', 'dog'])
  })

  test('Ctrl-C stops after the current step, saves the model and exits 130', async () => {
    const r = await runCli(['classify', 'train', '--data', path('train.jsonl'), '--steps', '50', ...tiny, '--out', path('stopped.recur')], { interrupted: { value: true } })
    assert.equal(r.code, 130, r.err)
    assert.match(r.err, /Interrupted: the model so far is saved/)
    const meta = decodeModelFile(readFileSync(path('stopped.recur'))).meta as { training: Record<string, unknown> }
    assert.equal(meta.training['trainedSteps'], 1)
  })
})

describe('recur classify predict and eval', () => {
  const model = () => path('run/model.recur')

  test('predict: texts as arguments give one JSON line each with the label, its probability and all probabilities', async () => {
    const r = await runCli(['classify', 'predict', model(), 'the cat saw a dog', 'a dog sat on the cat'])
    assertSucceeded(r, 'predict')
    const lines = r.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { input: string; label: string; probability: number; probabilities: Record<string, number> })
    assert.deepEqual(lines.map((l) => l.input), ['the cat saw a dog', 'a dog sat on the cat'])
    for (const line of lines) {
      assert.ok(['cat-first', 'dog-first'].includes(line.label))
      assert.equal(line.probability, line.probabilities[line.label])
      assert.ok(Math.abs(line.probabilities['cat-first']! + line.probabilities['dog-first']! - 1) < 1e-5)
    }
  })

  test('predict reads standard input: plain lines or JSON lines, and --model instead of the argument', async () => {
    const plain = await runCli(['classify', 'predict', model()], { stdin: 'the cat saw the dog\n\n  \nthe dog saw the cat\n' })
    assertSucceeded(plain, 'predict stdin lines')
    assert.deepEqual(plain.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { input: string }).input), ['the cat saw the dog', 'the dog saw the cat'])
    const jsonl = await runCli(['classify', 'predict', '--model', model()], { stdin: '{"text": "cat dog", "id": 1}\n{"text": "dog cat", "id": 2}\n' })
    assertSucceeded(jsonl, 'predict stdin jsonl')
    assert.equal(jsonl.out.trimEnd().split('\n').length, 2)
  })

  test('predict reads --data files: JSON lines, CSV, and .txt as one text per line', async () => {
    const fromJsonl = await runCli(['classify', 'predict', model(), '--data', path('valid.jsonl')])
    assertSucceeded(fromJsonl, 'predict --data jsonl')
    assert.equal(fromJsonl.out.trimEnd().split('\n').length, 16)
    const fromCsv = await runCli(['classify', 'predict', model(), '--data', path('train.csv')])
    assertSucceeded(fromCsv, 'predict --data csv')
    assert.equal((JSON.parse(fromCsv.out.split('\n')[0]!) as { input: string }).input.endsWith(', then'), true)
    const fromText = await runCli(['classify', 'predict', model(), '--data', path('inputs.txt')])
    assertSucceeded(fromText, 'predict --data txt')
    assert.equal(fromText.out.trimEnd().split('\n').length, 2)
  })

  test('eval prints accuracy, the per-class table, macro-F1 and the confusion matrix', async () => {
    const r = await runCli(['classify', 'eval', model(), '--data', path('valid.jsonl')])
    assertSucceeded(r, 'eval')
    assert.match(r.out, /16 examples/)
    assert.match(r.out, /precision\s+recall\s+f1\s+support/)
    assert.match(r.out, /accuracy \d\.\d{4} \(\d+ of 16\)/)
    assert.match(r.out, /macro-F1 \d\.\d{4}/)
    assert.match(r.out, /true \\ predicted\s+cat-first\s+dog-first/)
  })

  test('eval --json gives accuracy, per-class scores, macro-F1 and the confusion matrix by label', async () => {
    const r = await runCli(['classify', 'eval', '--model', model(), '--data', path('valid.jsonl'), '--json'])
    assertSucceeded(r, 'eval --json')
    const result = JSON.parse(r.out) as { examples: number; accuracy: number; macroF1: number; perClass: Record<string, { support: number }>; confusion: { labels: string[]; matrix: number[][] } }
    assert.equal(result.examples, 16)
    assert.ok(result.accuracy >= 0 && result.accuracy <= 1)
    assert.ok(result.macroF1 >= 0 && result.macroF1 <= 1)
    assert.deepEqual(result.confusion.labels, ['cat-first', 'dog-first'])
    assert.equal(result.confusion.matrix.flat().reduce((a, b) => a + b, 0), 16)
    assert.equal(result.perClass['cat-first']!.support + result.perClass['dog-first']!.support, 16)
  })
})

describe('recur classify: one-line errors with the right exit code', () => {
  test('a missing field names the fields there are and the closest one (exit 1)', async () => {
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('train.jsonl'), '--label-field', 'lable', ...tiny]), 1, /train\.jsonl line 1: no field "lable".*did you mean "label"/i)
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('train.csv'), '--input-field', 'txt', ...tiny]), 1, /no column "txt".*did you mean "text"/i)
  })

  test('an empty dataset, a malformed line, one label only (exit 1)', async () => {
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('empty.jsonl')]), 1, /empty\.jsonl is empty/)
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('malformed.jsonl')]), 1, /malformed\.jsonl line 2: not valid JSON/)
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('one-label.jsonl'), '--val-fraction', '0']), 1, /every example has the label "x"/)
  })

  test('an unknown label at eval names the label, the line and the closest known label (exit 1)', async () => {
    assertFailedWithOneLine(await runCli(['classify', 'eval', path('run/model.recur'), '--data', path('unknown-label.jsonl')]), 1, /unknown-label\.jsonl line 1: unknown label "cat-frist".*did you mean "cat-first"/i)
  })

  test('command-line mistakes exit 2: no --data, no model, a bad --dense, an unknown flag', async () => {
    assertFailedWithOneLine(await runCli(['classify', 'train']), 2, /needs --data FILE/)
    assertFailedWithOneLine(await runCli(['classify', 'predict'], { stdin: 'x\n' }), 2, /missing the model file/)
    assertFailedWithOneLine(await runCli(['classify', 'eval', path('run/model.recur')]), 2, /needs --data FILE/)
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('train.jsonl'), '--dense', '8,x']), 2, /--dense: "x" is not a layer width/)
    assertFailedWithOneLine(await runCli(['classify', 'train', '--data', path('train.jsonl'), '--pooling', 'avg']), 2, /--pooling must be one of final, mean, max/)
  })

  test('a missing model file, or a model of another kind (exit 1)', async () => {
    assertFailedWithOneLine(await runCli(['classify', 'predict', path('nope.recur'), 'text']), 1, /model file .*nope\.recur does not exist/)
    writeFileSync(path('tags.jsonl'), '{"text": "a b", "tags": "x y"}\n{"text": "b a", "tags": "y x"}\n')
    assertSucceeded(await runCli(['tag', 'train', '--data', path('tags.jsonl'), '--steps', '1', '--hidden', '4', '--val-fraction', '0', '--out', path('tagger.recur'), '--json']), 'tag train')
    assertFailedWithOneLine(await runCli(['classify', 'predict', path('tagger.recur'), 'a b']), 1, /kind "tagger", expected kind "classifier"/)
  })
})

describe('recur classify --help', () => {
  test('the group lists its commands; each command documents its flags', async () => {
    const group = await runCli(['classify', '--help'])
    assertSucceeded(group, 'classify --help')
    assert.match(group.out, /^Usage: recur classify <command>/)
    for (const command of ['train', 'predict', 'eval']) assert.match(group.out, new RegExp(`^  ${command}  `, 'm'), command)
    const train = await runCli(['classify', 'train', '--help'])
    assertSucceeded(train, 'classify train --help')
    for (const flag of ['--data', '--valid', '--val-fraction', '--input-field', '--label-field', '--input-level', '--pooling', '--dense', '--out', '--cell', '--[no-]bucket', '--json']) {
      assert.ok(train.out.includes(flag), `mentions ${flag}`)
    }
    const all = await runCli(['--help'])
    assert.match(all.out, /classify train/)
    assert.match(all.out, /tag predict/)
  })
})
