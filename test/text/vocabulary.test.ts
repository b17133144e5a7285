import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { detokenize, tokenize } from '../../src/text/tokenizers.js'
import { BOS, EOS, PAD, UNK, Vocabulary, compareCodePoints } from '../../src/text/vocabulary.js'

function isRecurError(code: string, ...fragments: string[]): (error: unknown) => boolean {
  return (error) => error instanceof RecurError && error.code === code && fragments.every((fragment) => error.message.includes(fragment))
}

const COUNTS = new Map<string, number>([
  ['the', 10],
  ['cat', 3],
  ['dog', 3],
  ['a', 7],
  ['zebra', 1],
  ['ant', 1],
])

describe('Vocabulary.build', () => {
  test('specials first, then by count descending, ties in code-point order', () => {
    const vocabulary = Vocabulary.build(COUNTS)
    assert.deepEqual(vocabulary.tokens, [UNK, EOS, 'the', 'a', 'cat', 'dog', 'ant', 'zebra'])
    assert.equal(vocabulary.size, 8)
  })

  test('ties use code points, not UTF-16 units (U+FF21 before U+1F600)', () => {
    const vocabulary = Vocabulary.build(new Map([['😀', 2], ['Ａ', 2], ['b', 2]]))
    assert.deepEqual(vocabulary.tokens.slice(2), ['b', 'Ａ', '😀'])
    assert.ok(compareCodePoints('Ａ', '😀') < 0)
    assert.ok('Ａ' > '😀') // what plain string comparison would do
    assert.equal(compareCodePoints('ab', 'ab'), 0)
    assert.ok(compareCodePoints('ab', 'abc') < 0)
  })

  test('the order does not depend on the order of the counts', () => {
    const reversed = new Map([...COUNTS].reverse())
    assert.deepEqual(Vocabulary.build(reversed).tokens, Vocabulary.build(COUNTS).tokens)
  })

  test('maxSize counts the specials', () => {
    assert.deepEqual(Vocabulary.build(COUNTS, { maxSize: 4 }).tokens, [UNK, EOS, 'the', 'a'])
    assert.deepEqual(Vocabulary.build(COUNTS, { maxSize: 2 }).tokens, [UNK, EOS])
    assert.throws(() => Vocabulary.build(COUNTS, { maxSize: 1 }), isRecurError('RANGE', 'maxSize 1'))
  })

  test('minCount leaves out rare tokens', () => {
    assert.deepEqual(Vocabulary.build(COUNTS, { minCount: 3 }).tokens, [UNK, EOS, 'the', 'a', 'cat', 'dog'])
    assert.throws(() => Vocabulary.build(COUNTS, { minCount: 0 }), isRecurError('RANGE', 'minCount'))
    assert.throws(() => Vocabulary.build(COUNTS, { minCount: 1.5 }), isRecurError('RANGE', 'minCount'))
  })

  test("specials' ids: default <UNK> 0 and <EOS> 1; <PAD> and <BOS> when asked", () => {
    const plain = Vocabulary.build(COUNTS)
    assert.deepEqual([plain.unkId, plain.eosId, plain.padId, plain.bosId], [0, 1, -1, -1])
    const full = Vocabulary.build(COUNTS, { specials: [PAD, UNK, EOS, BOS] })
    assert.deepEqual([full.padId, full.unkId, full.eosId, full.bosId], [0, 1, 2, 3])
    assert.equal(full.token(4), 'the')
    assert.equal(Vocabulary.PAD, PAD)
  })

  test('a counted token equal to a special is not listed twice', () => {
    const vocabulary = Vocabulary.build(new Map([[EOS, 50], ['x', 1]]))
    assert.deepEqual(vocabulary.tokens, [UNK, EOS, 'x'])
  })

  test('bad specials and counts are refused', () => {
    assert.throws(() => Vocabulary.build(COUNTS, { specials: [EOS] }), isRecurError('OPTION', UNK))
    assert.throws(() => Vocabulary.build(COUNTS, { specials: [UNK, UNK] }), isRecurError('OPTION', 'twice'))
    assert.throws(() => Vocabulary.build(new Map([['x', -1]])), isRecurError('RANGE', '"x"'))
    assert.throws(() => Vocabulary.build(new Map([['x', 0.5]])), isRecurError('RANGE', '"x"'))
    assert.throws(() => Vocabulary.build(new Map([['', 1]])), isRecurError('OPTION'))
  })

  test('from an iterable of tokens it counts them', () => {
    const vocabulary = Vocabulary.build(['b', 'a', 'b', 'c', 'b', 'a'])
    assert.deepEqual(vocabulary.tokens, [UNK, EOS, 'b', 'a', 'c'])
  })
})

describe('Vocabulary.fromTokens', () => {
  test('keeps the exact order given', () => {
    const vocabulary = Vocabulary.fromTokens(['z', UNK, 'a'])
    assert.deepEqual(vocabulary.tokens, ['z', UNK, 'a'])
    assert.deepEqual([vocabulary.unkId, vocabulary.eosId], [1, -1])
  })

  test('refuses duplicates, non-strings, empty strings and a missing <UNK>', () => {
    assert.throws(() => Vocabulary.fromTokens([UNK, 'a', 'a']), isRecurError('FORMAT', '"a"', 'ids 1 and 2'))
    assert.throws(() => Vocabulary.fromTokens([UNK, 3 as unknown as string]), isRecurError('FORMAT', 'token 1'))
    assert.throws(() => Vocabulary.fromTokens([UNK, '']), isRecurError('FORMAT', 'token 1'))
    assert.throws(() => Vocabulary.fromTokens(['a']), isRecurError('FORMAT', UNK))
  })
})

describe('lookups', () => {
  const vocabulary = Vocabulary.build(COUNTS)

  test('id, token, has', () => {
    assert.equal(vocabulary.id('cat'), 4)
    assert.equal(vocabulary.token(4), 'cat')
    assert.equal(vocabulary.has('cat'), true)
    assert.equal(vocabulary.has('cow'), false)
    assert.equal(vocabulary.id('cow'), vocabulary.unkId)
    assert.throws(() => vocabulary.token(8), isRecurError('RANGE', 'id 8', '[0, 7]'))
    assert.throws(() => vocabulary.token(-1), isRecurError('RANGE'))
    assert.throws(() => vocabulary.token(1.5), isRecurError('RANGE'))
  })
})

describe('encode and decode', () => {
  test('round trip at char level with emoji, accents and CJK', () => {
    const text = 'Ça va? 😀👨‍👩‍👧 e\u0301 我爱猫。\nnaïve 🇫🇷'
    const tokens = tokenize(text, { level: 'char' })
    const vocabulary = Vocabulary.build(tokens)
    const ids = vocabulary.encode(tokens, { unknown: 'error' })
    assert.ok(ids instanceof Int32Array)
    assert.equal(ids.length, tokens.length)
    assert.equal(detokenize(vocabulary.decode(ids), { level: 'char' }), text)
  })

  test('round trip at word level with emoji, accents and CJK', () => {
    const text = 'Ça va? Très bien 😀! 我爱猫。Don’t stop 🇫🇷.'
    const tokens = tokenize(text, { level: 'word' })
    const vocabulary = Vocabulary.build(tokens)
    assert.deepEqual(vocabulary.decode(vocabulary.encode(tokens)), tokens)
  })

  test("unknown tokens become <UNK> by default, and with { unknown: 'unk' }", () => {
    const vocabulary = Vocabulary.build(COUNTS)
    assert.deepEqual(Array.from(vocabulary.encode(['the', 'cow', 'a'])), [2, 0, 3])
    assert.deepEqual(Array.from(vocabulary.encode(['cow'], { unknown: 'unk' })), [0])
    assert.deepEqual(vocabulary.decode(vocabulary.encode(['the', 'cow'])), ['the', UNK])
  })

  test("with { unknown: 'error' } an unknown token is a TOKEN error naming it, its position and the option", () => {
    const vocabulary = Vocabulary.build(COUNTS)
    assert.throws(() => vocabulary.encode(['the', 'a', 'cow'], { unknown: 'error' }), (error: unknown) => {
      assert.ok(error instanceof RecurError)
      assert.equal(error.code, 'TOKEN')
      assert.match(error.message, /"cow" at position 2/)
      assert.match(error.hint ?? '', /unknown: 'unk'/)
      return true
    })
    assert.throws(() => vocabulary.encode(['a'], { unknown: 'skip' as 'unk' }), isRecurError('OPTION'))
  })

  test('encode takes any iterable of tokens, but not a string', () => {
    const vocabulary = Vocabulary.build(COUNTS)
    assert.deepEqual(Array.from(vocabulary.encode(new Set(['a', 'the']))), [3, 2])
    assert.throws(() => vocabulary.encode('the'), isRecurError('OPTION', 'got a string'))
  })

  test('decode refuses ids outside the vocabulary, naming the position', () => {
    const vocabulary = Vocabulary.build(COUNTS)
    assert.throws(() => vocabulary.decode([0, 8]), isRecurError('RANGE', 'id 8 at position 1'))
    assert.throws(() => vocabulary.decode(Int32Array.of(-1)), isRecurError('RANGE', 'position 0'))
    assert.throws(() => vocabulary.decode([NaN]), isRecurError('RANGE'))
  })
})

describe('one-hot', () => {
  const vocabulary = Vocabulary.build(COUNTS) // V = 8

  test('oneHot(id) has V values with a single 1', () => {
    const row = vocabulary.oneHot(3)
    assert.ok(row instanceof Float32Array)
    assert.deepEqual(Array.from(row), [0, 0, 0, 1, 0, 0, 0, 0])
    assert.throws(() => vocabulary.oneHot(8), isRecurError('RANGE'))
  })

  test('oneHotBatch(ids) is (N, V), row n hot at ids[n]', () => {
    const rows = vocabulary.oneHotBatch([1, 7, 1])
    assert.equal(rows.length, 3 * 8)
    for (let n = 0; n < 3; n++) {
      const row = Array.from(rows.subarray(n * 8, n * 8 + 8))
      assert.equal(row.reduce((sum, value) => sum + value, 0), 1)
      assert.equal(row.indexOf(1), [1, 7, 1][n])
    }
    assert.equal(vocabulary.oneHotBatch([]).length, 0)
    assert.throws(() => vocabulary.oneHotBatch([0, 9]), isRecurError('RANGE', 'position 1'))
  })
})

describe('JSON', () => {
  const vocabulary = Vocabulary.build(new Map([['😀', 3], ['猫', 2], ['é', 1]]), { specials: [PAD, UNK, EOS, BOS] })

  test('round trip through JSON text and through the object', () => {
    const text = JSON.stringify(vocabulary)
    for (const restored of [Vocabulary.fromJSON(text), Vocabulary.fromJSON(JSON.parse(text)), Vocabulary.fromJSON(vocabulary.toJSON())]) {
      assert.deepEqual(restored.tokens, vocabulary.tokens)
      assert.deepEqual([restored.padId, restored.unkId, restored.eosId, restored.bosId], [0, 1, 2, 3])
    }
    assert.deepEqual(vocabulary.toJSON(), { format: 'recur-vocabulary', version: 1, tokens: [PAD, UNK, EOS, BOS, '😀', '猫', 'é'] })
  })

  test('invalid JSON is a FORMAT error (VERSION for another version)', () => {
    const good = vocabulary.toJSON()
    const cases: [unknown, string, string][] = [
      ['{not json', 'FORMAT', 'not valid JSON'],
      [null, 'FORMAT', 'expected an object'],
      [[UNK], 'FORMAT', 'expected an object'],
      [{ ...good, format: 'other' }, 'FORMAT', 'format'],
      [{ ...good, version: 2 }, 'VERSION', 'version 2'],
      [{ ...good, tokens: 'abc' }, 'FORMAT', 'tokens'],
      [{ ...good, tokens: [UNK, 7] }, 'FORMAT', 'token 1'],
      [{ ...good, tokens: [UNK, 'a', 'a'] }, 'FORMAT', 'appears twice'],
      [{ ...good, tokens: ['a', 'b'] }, 'FORMAT', UNK],
    ]
    for (const [input, code, fragment] of cases) {
      assert.throws(() => Vocabulary.fromJSON(input), isRecurError(code, fragment), JSON.stringify(input))
    }
  })
})
