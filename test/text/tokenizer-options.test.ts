/**
 * `resolveTokenizerOptions` takes only its own four fields: names that every object inherits
 * (`toString`, `constructor`, `__proto__`, `hasOwnProperty` ...) are unknown fields like any other,
 * whether the options come from code or from a model file's JSON header.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { fileTokenizer } from '../../src/io/file-values.js'
import { resolveTokenizerOptions, tokenize, type TokenizerOptionsInput } from '../../src/text/tokenizers.js'

const INHERITED = ['toString', 'constructor', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__proto__', '__defineGetter__']

/** An unknown-field OPTION error naming `key`, with the hint that lists the fields. */
function unknownField(key: string): (error: unknown) => boolean {
  return (error) =>
    error instanceof RecurError && error.code === 'OPTION' && error.message.includes(`unknown field "${key}"`) && /level, lowercase, punctuation, eos/.test(error.hint ?? '')
}

describe('tokenizer options: inherited names are unknown fields', () => {
  for (const key of INHERITED) {
    test(key, () => {
      // From JSON, as a model file's header is read: '__proto__' becomes an own field there too.
      const input = JSON.parse(`{"level": "char", ${JSON.stringify(key)}: "x"}`) as TokenizerOptionsInput
      assert.ok(Object.hasOwn(input, key))
      assert.throws(() => resolveTokenizerOptions(input), unknownField(key))
      assert.throws(() => tokenize('ab', input), unknownField(key))
    })
  }

  test('a model file whose tokenizer settings hold one is refused as damaged, naming the field', () => {
    const bad = (what: string) => new RecurError('FORMAT', `model.recur: ${what}`, 'The file is damaged or was not written by recur')
    const settings = JSON.parse('{"level": "word", "constructor": {"name": "x"}}') as unknown
    assert.throws(() => fileTokenizer(settings, 'tokenizer settings', bad), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT' && /unknown field "constructor"/.test(e.message))
  })

  test('the four own fields still resolve', () => {
    assert.deepEqual(resolveTokenizerOptions({ level: 'char', lowercase: true, punctuation: 'drop', eos: 'line' }), { level: 'char', lowercase: true, punctuation: 'drop', eos: 'line' })
  })
})
