import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { EOS } from '../../src/text/special-tokens.js'
import { defaultTokenizerOptions, detokenize, resolveTokenizerOptions, tokenize } from '../../src/text/tokenizers.js'

function isRecurError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof RecurError && error.code === code
}

describe('tokenizer options', () => {
  test('documented defaults per level', () => {
    assert.deepEqual(defaultTokenizerOptions('char'), { level: 'char', lowercase: false, punctuation: 'keep', eos: 'none' })
    assert.deepEqual(defaultTokenizerOptions('word'), { level: 'word', lowercase: true, punctuation: 'keep', eos: 'sentence' })
  })

  test('given fields override the level defaults', () => {
    assert.deepEqual(resolveTokenizerOptions({ level: 'word', eos: 'line' }), { level: 'word', lowercase: true, punctuation: 'keep', eos: 'line' })
  })

  test('unknown fields and values are OPTION errors', () => {
    assert.throws(() => tokenize('a', { level: 'byte' as 'char' }), isRecurError('OPTION'))
    assert.throws(() => tokenize('a', { level: 'word', eos: 'paragraph' as 'line' }), isRecurError('OPTION'))
    assert.throws(() => tokenize('a', { level: 'word', lowercase: 'yes' as unknown as boolean }), isRecurError('OPTION'))
    assert.throws(() => tokenize('a', { level: 'word', lowercas: true } as unknown as { level: 'word' }), isRecurError('OPTION'))
    assert.throws(() => defaultTokenizerOptions('byte' as 'char'), isRecurError('OPTION'))
  })
})

describe('char level', () => {
  const char = { level: 'char' } as const

  test('one token per code point: surrogate pairs stay whole, combining marks and newlines are tokens', () => {
    assert.deepEqual(tokenize('a😀\nb', char), ['a', '😀', '\n', 'b'])
    assert.deepEqual(tokenize('e\u0301', char), ['e', '\u0301'])
    assert.deepEqual(tokenize('猫𠀀', char), ['猫', '𠀀'])
    assert.deepEqual(tokenize('', char), [])
  })

  test('detokenize gives the text back exactly', () => {
    const text = 'Ça va? 👨‍👩‍👧 très\tbien…\r\n我爱猫。\n\n  e\u0301 🇫🇷'
    for (const eos of ['none', 'line', 'sentence'] as const) {
      assert.equal(detokenize(tokenize(text, { level: 'char', eos }), { level: 'char', eos }), text)
    }
  })

  test('lowercase lowers each code point on its own', () => {
    assert.deepEqual(tokenize('ÀB', { level: 'char', lowercase: true }), ['à', 'b'])
    assert.deepEqual(tokenize('İ', { level: 'char', lowercase: true }), ['i', '\u0307'])
  })

  test('punctuation drop removes \\p{P} but keeps symbols and spaces', () => {
    assert.deepEqual(tokenize('a, b! $', { level: 'char', punctuation: 'drop' }), ['a', ' ', 'b', ' ', '$'])
  })

  test("eos 'sentence' goes after the terminator and its closers when whitespace or the end follows", () => {
    assert.deepEqual(tokenize('Hi. 3.5!', { level: 'char', eos: 'sentence' }), ['H', 'i', '.', EOS, ' ', '3', '.', '5', '!', EOS])
    assert.deepEqual(tokenize('"A." B', { level: 'char', eos: 'sentence' }), ['"', 'A', '.', '"', EOS, ' ', 'B'])
    assert.deepEqual(tokenize('我。你', { level: 'char', eos: 'sentence' }), ['我', '。', EOS, '你'])
  })

  test("eos 'line' goes before each '\\n' that ends a non-blank line, and after a last unterminated line", () => {
    assert.deepEqual(tokenize('ab\n\n c\n d', { level: 'char', eos: 'line' }), ['a', 'b', EOS, '\n', '\n', ' ', 'c', EOS, '\n', ' ', 'd', EOS])
    assert.deepEqual(tokenize(' \n', { level: 'char', eos: 'line' }), [' ', '\n'])
  })
})

describe('word level', () => {
  const words = { level: 'word', lowercase: false, eos: 'none' } as const

  test('apostrophes and hyphens inside words, decimal points and commas inside numbers', () => {
    assert.deepEqual(tokenize("don't e-mail 3.14 1,000 v1.2.3 state-of-the-art", words), ["don't", 'e-mail', '3.14', '1,000', 'v1.2.3', 'state-of-the-art'])
    assert.deepEqual(tokenize('l’homme', words), ['l’homme'])
  })

  test('joiners at the edge of a word and other punctuation are tokens of their own', () => {
    assert.deepEqual(tokenize("'tis -x- e.g. 3. a,b", words), ["'", 'tis', '-', 'x', '-', 'e', '.', 'g', '.', '3', '.', 'a', ',', 'b'])
    assert.deepEqual(tokenize('(hi)!?', words), ['(', 'hi', ')', '!', '?'])
  })

  test('Unicode letters, numbers and combining marks make words', () => {
    assert.deepEqual(tokenize('Çà straße e\u0301te ΟΔΟΣ ٣٤ naïve', words), ['Çà', 'straße', 'e\u0301te', 'ΟΔΟΣ', '٣٤', 'naïve'])
  })

  test('Han and Kana characters are one token each', () => {
    assert.deepEqual(tokenize('我爱猫。コーヒーとtea', words), ['我', '爱', '猫', '。', 'コ', 'ー', 'ヒ', 'ー', 'と', 'tea'])
  })

  test('emoji stay whole: skin tones, zero-width-joiner sequences, flags, keycaps', () => {
    assert.deepEqual(tokenize('👍🏽👨‍👩‍👧🇫🇷🇩🇪 1️⃣ 😀!', words), ['👍🏽', '👨‍👩‍👧', '🇫🇷', '🇩🇪', '1️⃣', '😀', '!'])
  })

  test('lowercase lowers whole words (Greek final sigma included)', () => {
    assert.deepEqual(tokenize('ΟΔΟΣ Straße', { level: 'word', eos: 'none' }), ['οδος', 'straße'])
  })

  test('punctuation drop removes punctuation, keeps symbols and emoji', () => {
    assert.deepEqual(tokenize('Hi, $5 😀 (ok)!', { ...words, punctuation: 'drop' }), ['Hi', '$', '5', '😀', 'ok'])
  })

  test("eos 'sentence': after terminators and closers followed by whitespace or the end", () => {
    const sentence = { level: 'word', lowercase: false } as const
    assert.deepEqual(tokenize('Hi. Pi is 3.14! Why?! "Yes." No', sentence), [
      'Hi', '.', EOS, 'Pi', 'is', '3.14', '!', EOS, 'Why', '?', '!', EOS, '"', 'Yes', '.', '"', EOS, 'No',
    ])
    assert.deepEqual(tokenize('no terminator', sentence), ['no', 'terminator'])
    assert.deepEqual(tokenize('a.b Mr. Smith', sentence), ['a', '.', 'b', 'Mr', '.', EOS, 'Smith'])
    assert.deepEqual(tokenize('我爱猫。你呢？', sentence), ['我', '爱', '猫', '。', EOS, '你', '呢', '？', EOS])
    assert.deepEqual(tokenize('Stop.\nGo', { ...sentence, punctuation: 'drop' }), ['Stop', EOS, 'Go'])
  })

  test("eos 'line': after each line with tokens", () => {
    const line = { level: 'word', eos: 'line' } as const
    assert.deepEqual(tokenize('one two\n\n\nthree\n', line), ['one', 'two', EOS, 'three', EOS])
    assert.deepEqual(tokenize('last line', line), ['last', 'line', EOS])
    assert.deepEqual(tokenize('a\n...\nb', { ...line, punctuation: 'drop' }), ['a', EOS, 'b', EOS])
  })

  test('special-token text is split, so text cannot forge <EOS>', () => {
    assert.deepEqual(tokenize('<EOS>', words), ['<', 'EOS', '>'])
  })
})

describe('detokenize at word level', () => {
  const word = { level: 'word' } as const

  test('spaces between words, none before closing or after opening marks', () => {
    const tokens = ['hello', ',', 'world', '!', EOS, '(', 'yes', ')', '¿', 'qué', '?', '$', '5', '"', 'hi', '"', 'ok', '.']
    assert.equal(detokenize(tokens, word), 'hello, world! (yes) ¿qué? $5 "hi" ok.')
  })

  test('no spaces between Han or Kana tokens', () => {
    assert.equal(detokenize(['我', '爱', 'tea', '。', EOS, '你'], word), '我爱tea。你')
  })

  test("<EOS> is a line break with eos 'line'; <PAD> and <BOS> are left out; <UNK> is kept", () => {
    assert.equal(detokenize(['<BOS>', 'a', 'b', EOS, 'c', '<UNK>', EOS, '<PAD>'], { level: 'word', eos: 'line' }), 'a b\nc <UNK>\n')
  })

  test('tokenize(detokenize(tokens)) == tokens for ordinary prose', () => {
    const samples = [
      'The cat sat on the mat. It was happy!',
      "Don't panic: the e-mail costs $3.14 (or €3) today, he said.",
      '"Are you sure?" she asked. «Oui», répondit-il… Then 我爱猫。你呢？',
      'Emoji 👍🏽 and flags 🇫🇷 stay whole; 1,000 people agree.',
    ]
    for (const eos of ['sentence', 'line', 'none'] as const) {
      for (const text of samples) {
        const options = { level: 'word', eos } as const
        const tokens = tokenize(text, options)
        assert.deepEqual(tokenize(detokenize(tokens, options), options), tokens, `${eos}: ${text}`)
      }
    }
  })
})
