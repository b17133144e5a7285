import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { TokenCounter, Vocabulary } from '../../src/text/vocabulary.js'
import { seededRandom } from './random.js'

function exactCounts(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1)
  return counts
}

/** A Zipf-like stream: token `w<r>` with probability about 1 / ((r + 1) ln ranks). */
function zipfTokens(seed: number, length: number, ranks: number): string[] {
  const random = seededRandom(seed)
  const logRanks = Math.log(ranks)
  return Array.from({ length }, () => `w${Math.floor(Math.exp(random.next() * logRanks)) - 1}`)
}

describe('TokenCounter', () => {
  test('counts exactly while under the cap, across table growth', () => {
    const tokens = zipfTokens(1, 60_000, 20_000)
    const counter = new TokenCounter()
    counter.add(tokens.slice(0, 25_000))
    counter.add(new Set(['extra'])) // any iterable
    counter.add(tokens.slice(25_000))
    const expected = exactCounts(tokens)
    expected.set('extra', 1)
    assert.equal(counter.exact, true)
    assert.equal(counter.countErrorBound, 0)
    assert.equal(counter.totalTokens, tokens.length + 1)
    assert.equal(counter.distinctTokens, expected.size)
    assert.deepEqual(new Map([...counter.toMap()].sort()), new Map([...expected].sort()))
    for (const [token, count] of expected) assert.equal(counter.count(token), count)
    assert.equal(counter.count('never seen'), 0)
  })

  test('toVocabulary equals Vocabulary.build on the same tokens', () => {
    const tokens = zipfTokens(2, 5_000, 3_000)
    const counter = new TokenCounter()
    counter.add(tokens)
    const options = { maxSize: 500, minCount: 2 }
    assert.deepEqual(counter.toVocabulary(options).tokens, Vocabulary.build(tokens, options).tokens)
    assert.deepEqual(Vocabulary.build(counter).tokens, Vocabulary.build(exactCounts(tokens)).tokens)
  })

  test('over the cap it prunes the rarest entries, within the documented error bound', () => {
    for (const seed of [3, 4, 5]) {
      const tokens = zipfTokens(seed, 40_000, 50_000)
      const maxDistinct = 1_000
      const counter = new TokenCounter({ maxDistinct })
      for (let start = 0; start < tokens.length; start += 777) counter.add(tokens.slice(start, start + 777))
      const truth = exactCounts(tokens)
      assert.equal(counter.exact, false)
      assert.ok(counter.distinctTokens <= maxDistinct)
      assert.equal(counter.totalTokens, tokens.length)
      const bound = counter.countErrorBound
      assert.ok(bound > 0)
      for (const [token, trueCount] of truth) {
        const count = counter.count(token)
        assert.ok(count <= trueCount, `${token}: ${count} > true ${trueCount}`)
        assert.ok(count >= trueCount - bound, `${token}: ${count} < true ${trueCount} - bound ${bound}`)
        if (trueCount > bound) assert.ok(count > 0, `${token} (true count ${trueCount} > bound ${bound}) was lost`)
      }
      // The most frequent tokens survive and lead the vocabulary.
      const top = [...truth].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([token]) => token)
      assert.deepEqual(counter.toVocabulary({ maxSize: 7 }).tokens.slice(2), top)
    }
  })

  test('maxDistinct must be an integer >= 4', () => {
    assert.throws(() => new TokenCounter({ maxDistinct: 2 }), (error: unknown) => error instanceof RecurError && error.code === 'RANGE')
    assert.throws(() => new TokenCounter({ maxDistinct: 10.5 }), (error: unknown) => error instanceof RecurError && error.code === 'RANGE')
  })
})
