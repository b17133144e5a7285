/**
 * Very long inputs are read in bounded memory or refused with a clear message, never by running
 * out of memory: a corpus encoded in streaming passes (equal to encoding the whole text), a single
 * line of 1,000,000 tokens, a vocabulary of 1,000,000 words, a dataset record of 1,000,000 tokens,
 * and sampling and scoring with a 1,000,000-token vocabulary (scoring in windows).
 * A 100 MB corpus takes too long for a unit test; bench/long-inputs.ts measures it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { main } from '../../src/cli/main.js'
import { sampleTokens, scoreTokens } from '../../src/decode/sampling.js'
import { RecurError } from '../../src/errors.js'
import { encodeCorpusFile } from '../../src/text/corpus.js'
import { TokenStream, tokenize } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { CollectingStream, charData, collect, f32, stackLines, syntheticCorpus, tinyModel } from '../helpers/lm.js'
import { randomText, seededRandom } from './random.js'

let dir: string
const path = (name: string) => join(dir, name)
const MILLION = 1_000_000

/** `recur ...argv` in this process on the reference backend. */
async function recur(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new CollectingStream()
  const err = new CollectingStream()
  const code = await main(argv, { out: out as never, err: err as never, env: { RECUR_BACKEND: 'reference' }, interrupted: { value: false }, readStdin: async () => '' })
  return { code, out: out.text, err: err.text }
}

/** One line of `count` words drawn from a small list, seeded. */
function wordLine(count: number): string {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog']
  let state = 7
  const parts = new Array<string>(count)
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    parts[i] = words[state >>> 29]!
  }
  return parts.join(' ')
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-long-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('encodeCorpusFile: streamed, equal to encoding the whole text', () => {
  test('char and word level, chunks cut anywhere (inside CRLF, surrogate pairs and words), BOM removed', async () => {
    const random = seededRandom(3)
    const text = `\ufeff${randomText(random, 400).replace(/\n/g, '\r\n')} 👨‍👩‍👧 end.`
    writeFileSync(path('mixed.txt'), text)
    // As the file holds it: a lone surrogate of the random text is written as U+FFFD.
    const clean = new TextDecoder().decode(new TextEncoder().encode(text.slice(1))).replace(/\r\n/g, '\n')
    for (const level of ['char', 'word'] as const) {
      const whole = Vocabulary.build(tokenize(clean, { level }))
      for (const chunkBytes of [1, 7, 4096]) {
        const { ids, vocabulary } = await encodeCorpusFile(path('mixed.txt'), { level }, {}, { chunkBytes })
        assert.deepEqual(vocabulary.tokens, whole.tokens, `${level}, chunks of ${chunkBytes}: vocabulary`)
        assert.deepEqual(ids, whole.encode(tokenize(clean, { level })), `${level}, chunks of ${chunkBytes}: ids`)
      }
    }
  })

  test('with a vocabulary given, and with vocabulary options', async () => {
    writeFileSync(path('small.txt'), 'the cat sat. the dog ran!\n')
    const given = Vocabulary.fromTokens(['<UNK>', '<EOS>', 'the', 'cat'])
    const { ids, vocabulary } = await encodeCorpusFile(path('small.txt'), { level: 'word' }, given)
    assert.equal(vocabulary, given)
    assert.deepEqual(Array.from(ids), [2, 3, 0, 0, 1, 2, 0, 0, 0, 1])
    const capped = await encodeCorpusFile(path('small.txt'), { level: 'word' }, { maxSize: 4, minCount: 1 })
    assert.deepEqual(capped.vocabulary.tokens, ['<UNK>', '<EOS>', 'the', '!'])
  })

  test('bad files fail as readCorpusFile fails', async () => {
    writeFileSync(path('empty.txt'), '')
    await assert.rejects(encodeCorpusFile(path('empty.txt'), { level: 'char' }, {}), (e) => e instanceof RecurError && /empty\.txt is empty/.test(e.message))
    await assert.rejects(encodeCorpusFile(path('nope.txt'), { level: 'char' }, {}), (e) => e instanceof RecurError && /no such file/.test(e.message))
  })
})

describe('a single line of 1,000,000 tokens', () => {
  test('word level: streamed, the same ids as the whole text', async () => {
    const line = `${wordLine(MILLION)}\n`
    writeFileSync(path('million-words.txt'), line)
    const { ids, vocabulary } = await encodeCorpusFile(path('million-words.txt'), { level: 'word', eos: 'none' }, {})
    assert.equal(ids.length, MILLION)
    assert.deepEqual(ids, vocabulary.encode(tokenize(line, { level: 'word', eos: 'none' })))
  })

  test('one word of 1,000,000 characters is one token, held across chunks', () => {
    const stream = new TokenStream({ level: 'word' })
    const word = 'a'.repeat(MILLION)
    const tokens: string[] = []
    for (let at = 0; at < word.length; at += 65536) tokens.push(...stream.push(word.slice(at, at + 65536)))
    tokens.push(...stream.end())
    assert.deepEqual(tokens.map((t) => t.length), [MILLION])
  })

  test('recur train --dry-run reads it and states the memory, without training', async () => {
    writeFileSync(path('million-chars.txt'), `${'abcdefghij'.repeat(MILLION / 10)}\n`)
    const r = await recur(['train', '--corpus', path('million-chars.txt'), '--dry-run', '--json', '--out', path('never.recur')])
    assert.equal(r.code, 0, r.err)
    const report = JSON.parse(r.out) as { dryRun: boolean; rows: { name: string; bytes: number; detail: string }[]; total: number; fits: boolean }
    assert.equal(report.dryRun, true)
    const ids = report.rows.find((row) => row.name === 'token ids')!
    assert.equal(ids.bytes, 4 * (MILLION + 1 + Math.floor((MILLION + 1) * 0.1)))
    assert.deepEqual(report.rows.map((row) => row.name), ['parameters', 'gradients', 'optimizer state', 'activations', 'workspace', 'validation and sampling', 'token ids', 'checkpoint'])
    assert.ok(report.total > report.rows.reduce((sum, row) => sum + row.bytes, 0), 'the total adds the process itself')
  })
})

describe('a vocabulary of 1,000,000 words', () => {
  test('recur train refuses the model it would make, naming the figure and --vocab-size', async () => {
    writeFileSync(path('million-distinct.txt'), `${Array.from({ length: MILLION }, (_, i) => `w${i.toString(36)}`).join(' ')}\n`)
    const r = await recur(['train', '--corpus', path('million-distinct.txt'), '--level', 'word', '--max-memory', '2G', '--out', path('never.recur')])
    assert.equal(r.code, 1, r.err)
    assert.equal(r.out, '')
    assert.match(r.err, /^recur: error: this training run needs about [\d.]+ GiB of memory \(the largest part: \w[\w ]+, [\d.]+ GiB\), more than the limit of 2 GiB \(--max-memory 2G\)\. To fit, .*--vocab-size \(now 1000002 tokens.*\n$/)
    assert.deepEqual(stackLines(r.err), [])
  })

  test('sampling and scoring with it: one row of logits at a time, scoring in windows', async () => {
    const tokens = ['<UNK>', '<EOS>', ...Array.from({ length: MILLION }, (_, i) => `w${i}`)]
    const vocabulary = Vocabulary.fromTokens(tokens)
    const model = tinyModel(f32(), vocabulary.size, { cell: 'rnn', hidden: 2 })
    const sample = await collect(sampleTokens(model, vocabulary, { length: 2, seed: 1 }))
    assert.equal(sample.length <= 2, true)
    const ids = [5, 17, 999_999, 3, 42, 7, 123_456, 9, 11]
    const score = await scoreTokens(model, vocabulary, ids)
    assert.equal(score.tokenLogProbs.length, ids.length)
    // Uniform-ish logits of a tiny random model: about -log V per token.
    for (const logProb of score.tokenLogProbs) assert.ok(Math.abs(logProb + Math.log(vocabulary.size)) < 1, `${logProb}`)
  })
})

describe('scoring in windows', () => {
  test('the window does not change the scores', async () => {
    const { vocabulary, ids } = charData(syntheticCorpus(20))
    const model = tinyModel(f32(), vocabulary.size, { cell: 'lstm', hidden: 5, layers: 2 })
    const text = Array.from(ids.subarray(0, 300))
    const whole = await scoreTokens(model, vocabulary, text, { window: 1000 })
    for (const window of [1, 7, 256]) {
      const windowed = await scoreTokens(model, vocabulary, text, { window })
      windowed.tokenLogProbs.forEach((lp, t) => assert.ok(Math.abs(lp - whole.tokenLogProbs[t]!) < 1e-5, `window ${window}, token ${t}`))
    }
  })
})

describe('a dataset record of 1,000,000 tokens', () => {
  test('is read, and a model asked to read it within a small limit refuses it clearly', async () => {
    const data = Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: i % 2 === 0 ? 'the cat sat' : 'a dog ran', label: i % 2 === 0 ? 'cat' : 'dog' }))
    writeFileSync(path('train.jsonl'), `${data.join('\n')}\n`)
    const trained = await recur(['classify', 'train', '--data', path('train.jsonl'), '--hidden', '4', '--embedding', '4', '--steps', '1', '--out', path('classifier.recur')])
    assert.equal(trained.code, 0, trained.err)
    writeFileSync(path('huge.jsonl'), `${JSON.stringify({ text: wordLine(MILLION), label: 'cat' })}\n`)
    for (const argv of [['predict', path('classifier.recur'), '--data', path('huge.jsonl')], ['eval', path('classifier.recur'), '--data', path('huge.jsonl')]]) {
      const r = await recur(['classify', ...argv, '--max-memory', '256M'])
      assert.equal(r.code, 1, r.err)
      assert.match(r.err, /^recur: error: classify (predict|eval): reading these inputs needs about [\d.]+ [GM]iB of memory, more than the limit of 256 MiB \(--max-memory 256M\); the longest, .*huge\.jsonl line 1, has 1,000,000 tokens\. Split long inputs/)
    }
  })
})
