/**
 * `recur tag train|predict|eval`, run in this process through `main` with collecting output
 * streams and an injected standard input, on small JSONL / CSV / TSV files in a temporary folder,
 * on the f32 reference backend (RECUR_BACKEND=reference).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { Random } from '../../src/random.js'
import { assertFailedWithOneLine, assertSucceeded, runCli } from '../helpers/cli.js'

/** Runs `recur ...argv` in this process; `stdin` is what standard input holds. */
const recur = (argv: readonly string[], stdin?: string) => runCli(argv, { stdin })

/** Sentences with one entity typed by the word after it ('corp' -> ORG, 'river' -> LOC), BIO tags. */
function entities(n: number, seed: number): { text: string; tags: string[] }[] {
  const random = new Random(seed)
  const filler = ['we', 'saw', 'the', 'near', 'met']
  const names = ['acme', 'stone', 'north', 'oak']
  return Array.from({ length: n }, () => {
    const words: string[] = []
    const tags: string[] = []
    for (let i = random.int(3); i > 0; i--) words.push(filler[random.int(filler.length)]!), tags.push('O')
    const type = random.uniform() < 0.5 ? 'ORG' : 'LOC'
    const length = 1 + random.int(2)
    for (let i = 0; i < length; i++) words.push(names[random.int(names.length)]!), tags.push(`${i === 0 ? 'B' : 'I'}-${type}`)
    words.push(type === 'ORG' ? 'corp' : 'river'), tags.push('O')
    return { text: words.join(' '), tags }
  })
}

let dir: string
const tiny = ['--hidden', '8', '--embedding', '4', '--batch', '8', '--seed', '2']
const path = (name: string) => join(dir, name)

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-cli-tag-'))
  writeFileSync(path('ner.jsonl'), entities(48, 1).map((r) => JSON.stringify(r)).join('\n') + '\n')
  writeFileSync(path('ner-valid.tsv'), `tokens\tlabels\n${entities(12, 2).map((r) => `${r.text}\t${r.tags.join(' ')}`).join('\n')}\n`)
  const random = new Random(3)
  const binary = Array.from({ length: 32 }, () => {
    const words = Array.from({ length: 3 + random.int(3) }, () => ['red', 'blue', 'gold'][random.int(3)]!)
    return `${words.join(' ')},${words.map((_, t) => (words[t + 1] === 'red' ? 1 : 0)).join(' ')}`
  })
  writeFileSync(path('binary.csv'), `text,tags\n${binary.join('\n')}\n`)
  writeFileSync(path('mismatch.jsonl'), '{"text": "we saw acme corp", "tags": ["O", "O", "B-ORG", "O"]}\n{"text": "acme river", "tags": "B-LOC"}\n')
  writeFileSync(path('unknown-tag.jsonl'), '{"text": "we saw acme corp", "tags": "O O B-ORGG O"}\n')
  writeFileSync(path('three.jsonl'), '{"text": "a b c", "tags": "x y z"}\n')
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('recur tag train', () => {
  test('trains a bidirectional BIO tagger and says where the model is and what to run next', async () => {
    const r = await recur(['tag', 'train', '--data', path('ner.jsonl'), '--valid', path('ner-valid.tsv'), '--input-field', 'text', '--epochs', '2', ...tiny, '--out', path('ner.recur')])
    // The validation file names its columns differently: the fields are the same for both files.
    assertFailedWithOneLine(r, 1, /ner-valid\.tsv line 1: no column "text"/)
    const trained = await recur(['tag', 'train', '--data', path('ner.jsonl'), '--epochs', '2', ...tiny, '--out', path('ner.recur')])
    assertSucceeded(trained, 'tag train')
    assert.equal(trained.out, '')
    assert.match(trained.err, /word-level bidirectional GRU, 1 x 8/)
    assert.match(trained.err, /5 tags \(softmax\): B-LOC, B-ORG, I-LOC, I-ORG, O/)
    assert.match(trained.err, /val token accuracy \d\.\d{4}/)
    assert.ok(trained.err.includes(`Saved the model to ${path('ner.recur')}`), trained.err)
    assert.ok(trained.err.includes(`recur tag predict ${path('ner.recur')}`), trained.err)
    const file = decodeModelFile(readFileSync(path('ner.recur')))
    assert.equal(file.kind, 'tagger')
    const meta = file.meta as { architecture: { bidirectional: boolean; output: string }; training: Record<string, unknown> }
    assert.equal(meta.architecture.bidirectional, true)
    assert.equal(meta.architecture.output, 'softmax')
    assert.equal(meta.training['labelField'], 'tags')
  })

  test("--json; tags exactly 0 and 1 (a CSV file) give the binary sigmoid tagger", async () => {
    const r = await recur(['tag', 'train', '--data', path('binary.csv'), '--steps', '3', ...tiny, '--out', path('binary.recur'), '--json'])
    assertSucceeded(r, 'tag train --json')
    assert.equal(r.err, '')
    const summary = JSON.parse(r.out) as Record<string, unknown>
    assert.equal(summary['binary'], true)
    assert.deepEqual(summary['tags'], ['0', '1'])
    assert.equal(summary['steps'], 3)
    assert.equal(typeof summary['valTokenAccuracy'], 'number')
    const meta = decodeModelFile(readFileSync(path('binary.recur'))).meta as { architecture: { output: string; tags: number } }
    assert.equal(meta.architecture.output, 'sigmoid')
    assert.equal(meta.architecture.tags, 1)
  })
})

describe('recur tag predict and eval', () => {
  test('predict: one JSON line per input with its tokens, one tag per token and their probabilities', async () => {
    const r = await recur(['tag', 'predict', path('ner.recur'), 'we saw Acme Stone corp', 'oak river'])
    assertSucceeded(r, 'tag predict')
    const lines = r.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { input: string; tokens: string[]; tags: string[]; probabilities: number[] })
    assert.equal(lines.length, 2)
    assert.deepEqual(lines[0]!.tokens, ['we', 'saw', 'Acme', 'Stone', 'corp'])
    for (const line of lines) {
      assert.equal(line.tags.length, line.tokens.length)
      assert.equal(line.probabilities.length, line.tokens.length)
      assert.ok(line.tags.every((tag) => ['B-LOC', 'B-ORG', 'I-LOC', 'I-ORG', 'O'].includes(tag)))
      assert.ok(line.probabilities.every((p) => p > 0 && p <= 1))
    }
  })

  test('predict reads standard input (lines or JSON lines) and --data files', async () => {
    const plain = await recur(['tag', 'predict', path('ner.recur')], 'we met oak corp\nacme river\n')
    assertSucceeded(plain, 'predict stdin')
    assert.equal(plain.out.trimEnd().split('\n').length, 2)
    const jsonl = await recur(['tag', 'predict', '--model', path('ner.recur')], '{"text": ["acme", "corp"]}\n')
    assertSucceeded(jsonl, 'predict stdin jsonl')
    assert.deepEqual((JSON.parse(jsonl.out) as { tokens: string[] }).tokens, ['acme', 'corp'])
    const file = await recur(['tag', 'predict', path('ner.recur'), '--data', path('ner-valid.tsv'), '--input-field', 'tokens'])
    assertSucceeded(file, 'predict --data tsv')
    assert.equal(file.out.trimEnd().split('\n').length, 12)
  })

  test('eval: token accuracy, per-tag scores and entity precision, recall and F1 for BIO tags', async () => {
    const text = await recur(['tag', 'eval', path('ner.recur'), '--data', path('ner-valid.tsv'), '--input-field', 'tokens', '--label-field', 'labels'])
    assertSucceeded(text, 'tag eval')
    assert.match(text.out, /token accuracy\s+\d\.\d{4}/)
    assert.match(text.out, /Per tag \(over tokens\)/)
    assert.match(text.out, /Entities \(exact span and type\)/)
    assert.match(text.out, /all entities/)
    const json = await recur(['tag', 'eval', path('ner.recur'), '--data', path('ner-valid.tsv'), '--input-field', 'tokens', '--label-field', 'labels', '--json'])
    assertSucceeded(json, 'tag eval --json')
    const result = JSON.parse(json.out) as { examples: number; tokenAccuracy: number; perTag: Record<string, unknown>; entities: { f1: number; support: number; perType: Record<string, unknown> } }
    assert.equal(result.examples, 12)
    assert.ok(result.tokenAccuracy >= 0 && result.tokenAccuracy <= 1)
    assert.deepEqual(Object.keys(result.perTag), ['B-LOC', 'B-ORG', 'I-LOC', 'I-ORG', 'O'])
    assert.equal(result.entities.support, 12, 'one entity per sentence')
    const binary = await recur(['tag', 'eval', path('binary.recur'), '--data', path('binary.csv'), '--json'])
    assertSucceeded(binary, 'tag eval binary')
    assert.equal((JSON.parse(binary.out) as { entities: unknown }).entities, null, 'no entity scores for 0/1 tags')
  })
})

describe('recur tag: one-line errors with the right exit code', () => {
  test('a tag count that differs from the token count names the line (exit 1)', async () => {
    assertFailedWithOneLine(await recur(['tag', 'train', '--data', path('mismatch.jsonl')]), 1, /mismatch\.jsonl line 2: 1 tag for 2 input tokens/)
    assertFailedWithOneLine(await recur(['tag', 'eval', path('ner.recur'), '--data', path('mismatch.jsonl')]), 1, /mismatch\.jsonl line 2: 1 tag for 2 input tokens/)
  })

  test('an unknown tag at eval names the tag, the line and the closest known one (exit 1)', async () => {
    assertFailedWithOneLine(await recur(['tag', 'eval', path('ner.recur'), '--data', path('unknown-tag.jsonl')]), 1, /unknown-tag\.jsonl line 1: unknown tag "B-ORGG".*did you mean "B-ORG"/i)
  })

  test('a missing field (exit 1); --binary with three tags, no --data (exit 2)', async () => {
    assertFailedWithOneLine(await recur(['tag', 'train', '--data', path('ner.jsonl'), '--label-field', 'tag']), 1, /no field "tag".*did you mean "tags"/i)
    assertFailedWithOneLine(await recur(['tag', 'train', '--data', path('three.jsonl'), '--binary']), 2, /binary tagging needs exactly two tags, the data has 3/)
    assertFailedWithOneLine(await recur(['tag', 'train']), 2, /needs --data FILE/)
  })

  test('--help documents the flags, bidirectional on by default', async () => {
    const r = await recur(['tag', 'train', '--help'])
    assertSucceeded(r, 'tag train --help')
    for (const flag of ['--data', '--label-field', '--[no-]bidirectional', '--binary', '--input-level', '--epochs', '--steps', '--json']) assert.ok(r.out.includes(flag), flag)
  })
})
