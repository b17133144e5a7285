import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { EOS } from '../../src/text/special-tokens.js'
import { createTokenStream, tokenize, type TokenizerOptions } from '../../src/text/tokenizers.js'
import { randomText, seededRandom, type Random } from './random.js'

const ALL_OPTIONS: TokenizerOptions[] = []
for (const level of ['char', 'word'] as const) {
  for (const lowercase of [false, true]) {
    for (const punctuation of ['keep', 'drop'] as const) {
      for (const eos of ['none', 'line', 'sentence'] as const) ALL_OPTIONS.push({ level, lowercase, punctuation, eos })
    }
  }
}

/** Cuts `text` at random UTF-16 indices (so sometimes inside a surrogate pair), empty chunks included. */
function randomChunks(random: Random, text: string): string[] {
  const cuts = new Set<number>()
  const count = random.below(Math.min(text.length, 12) + 1)
  for (let i = 0; i < count; i++) cuts.add(random.below(text.length + 1))
  const sorted = [...cuts].sort((a, b) => a - b)
  const chunks: string[] = []
  let start = 0
  for (const cut of sorted) {
    chunks.push(text.slice(start, cut))
    start = cut
  }
  chunks.push(text.slice(start))
  return chunks
}

function tokenizeInChunks(chunks: readonly string[], options: TokenizerOptions): string[] {
  const stream = createTokenStream(options)
  const tokens: string[] = []
  for (const chunk of chunks) tokens.push(...stream.push(chunk))
  tokens.push(...stream.end())
  return tokens
}

describe('token stream', () => {
  test('tokenizing in random chunks gives exactly the tokens of the whole text (every option combination)', () => {
    const random = seededRandom(7)
    for (let round = 0; round < 250; round++) {
      const text = randomText(random, 1 + random.below(40))
      for (const options of ALL_OPTIONS) {
        const chunks = randomChunks(random, text)
        assert.deepEqual(tokenizeInChunks(chunks, options), tokenize(text, options), `${JSON.stringify(options)} chunks ${JSON.stringify(chunks)}`)
      }
    }
  })

  test('one UTF-16 unit at a time gives the same tokens', () => {
    const text = "Don't split 3.14 or 👨‍👩‍👧 or 🇫🇷🇩🇪! \"Done.\" 我爱猫。\r\nstate-of-the-art e\u0301"
    for (const options of ALL_OPTIONS) {
      assert.deepEqual(tokenizeInChunks(Array.from({ length: text.length }, (_, i) => text[i]!), options), tokenize(text, options))
    }
  })

  test('push returns complete tokens and keeps an unfinished trailing word for the next chunk', () => {
    const stream = createTokenStream({ level: 'word', eos: 'none' })
    assert.deepEqual(stream.push('hello wor'), ['hello'])
    assert.deepEqual(stream.push('ld and more '), ['world', 'and', 'more'])
    assert.deepEqual(stream.push('e-'), [])
    assert.deepEqual(stream.push('mail'), [])
    assert.deepEqual(stream.end(), ['e-mail'])
  })

  test('a sentence end is decided once the next character is known', () => {
    const stream = createTokenStream({ level: 'word' })
    const first = stream.push('Done.')
    assert.ok(!first.includes(EOS))
    const second = stream.push(' Next')
    assert.deepEqual([...first, ...second], ['done', '.', EOS])
    assert.deepEqual(stream.end(), ['next'])
  })

  test('char level holds back only half a surrogate pair', () => {
    const stream = createTokenStream({ level: 'char' })
    assert.deepEqual(stream.push('ab\ud83d'), ['a', 'b'])
    assert.deepEqual(stream.push('\ude00c'), ['😀', 'c'])
    assert.deepEqual(stream.end(), [])
  })

  test('using a stream after end is a STATE error', () => {
    const stream = createTokenStream({ level: 'word' })
    stream.push('a')
    stream.end()
    assert.throws(() => stream.push('b'), (error: unknown) => error instanceof RecurError && error.code === 'STATE')
    assert.throws(() => stream.end(), (error: unknown) => error instanceof RecurError && error.code === 'STATE')
  })
})
