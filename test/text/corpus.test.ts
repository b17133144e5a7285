import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import {
  buildVocabularyFromFile,
  countTokensInFile,
  decodeCorpus,
  findUtf8Error,
  readCorpusFile,
  streamCorpusFile,
} from '../../src/text/corpus.js'
import { tokenize } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'

function isRecurError(code: string, ...fragments: string[]): (error: unknown) => boolean {
  return (error) => error instanceof RecurError && error.code === code && fragments.every((fragment) => error.message.includes(fragment))
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? Array.from(utf8(part)) : part)))

let folder = ''
async function corpusFile(name: string, content: Uint8Array | string): Promise<string> {
  const path = join(folder, name)
  await writeFile(path, content)
  return path
}

async function streamAll(path: string, chunkBytes: number): Promise<string> {
  let text = ''
  for await (const chunk of streamCorpusFile(path, { chunkBytes })) text += chunk
  return text
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'recur-corpus-test-'))
})
after(async () => {
  await rm(folder, { recursive: true, force: true })
})

describe('decodeCorpus', () => {
  test('strips a UTF-8 BOM and turns CRLF into LF, leaving a lone CR', () => {
    assert.equal(decodeCorpus(bytes([0xef, 0xbb, 0xbf], 'héllo\r\nwörld\r\n\rx'), 'c.txt'), 'héllo\nwörld\n\rx')
  })

  test('empty, BOM-only and whitespace-only corpora are DATA errors', () => {
    assert.throws(() => decodeCorpus(new Uint8Array(0), 'c.txt'), isRecurError('DATA', 'c.txt', 'empty'))
    assert.throws(() => decodeCorpus(bytes([0xef, 0xbb, 0xbf]), 'c.txt'), isRecurError('DATA', 'byte-order mark'))
    assert.throws(() => decodeCorpus(utf8(' \r\n\t\u3000\n'), 'c.txt'), isRecurError('DATA', 'only whitespace'))
  })

  test('a NUL byte means binary: DATA error with its offset and line', () => {
    assert.throws(() => decodeCorpus(bytes('ab\ncd', [0]), 'c.bin'), isRecurError('DATA', 'binary', 'offset 5', 'line 2'))
    const utf16 = Uint8Array.of(0xff, 0xfe, 0x68, 0x00, 0x69, 0x00) // "hi" in UTF-16LE with its BOM
    assert.throws(() => decodeCorpus(utf16, 'utf16.txt'), (error: unknown) => {
      assert.ok(error instanceof RecurError && error.code === 'DATA')
      assert.match(error.message, /NUL byte at byte offset 3/)
      assert.match(error.hint ?? '', /UTF-16/)
      return true
    })
  })

  test('invalid UTF-8 is a DATA error saying so, with the offset of the bad sequence', () => {
    assert.throws(() => decodeCorpus(bytes('caf', [0xe9], ' au lait'), 'latin1.txt'), isRecurError('DATA', 'not valid UTF-8', 'offset 3', 'line 1'))
    assert.throws(() => decodeCorpus(bytes('a\nb\n€', [0xc0, 0x80]), 'c.txt'), isRecurError('DATA', 'offset 7', 'line 3'))
    assert.throws(() => decodeCorpus(bytes('ab', [0xe2, 0x82]), 'c.txt'), isRecurError('DATA', 'ends inside a UTF-8 sequence', 'offset 2'))
  })
})

describe('findUtf8Error', () => {
  test('accepts well-formed UTF-8 and finds each kind of malformed sequence', () => {
    assert.equal(findUtf8Error(utf8('aé€😀猫'), 0), null)
    assert.deepEqual(findUtf8Error(bytes('a', [0x80]), 0), { offset: 1, truncated: false }) // lone continuation
    assert.deepEqual(findUtf8Error(bytes([0xc1, 0xbf]), 0), { offset: 0, truncated: false }) // overlong 2-byte
    assert.deepEqual(findUtf8Error(bytes([0xe0, 0x80, 0x80]), 0), { offset: 0, truncated: false }) // overlong 3-byte
    assert.deepEqual(findUtf8Error(bytes([0xed, 0xa0, 0x80]), 0), { offset: 0, truncated: false }) // surrogate
    assert.deepEqual(findUtf8Error(bytes([0xf4, 0x90, 0x80, 0x80]), 0), { offset: 0, truncated: false }) // > U+10FFFF
    assert.deepEqual(findUtf8Error(bytes('ok', [0xf0, 0x9f, 0x98]), 0), { offset: 2, truncated: true })
  })
})

describe('readCorpusFile', () => {
  test('reads, checks and normalises a file', async () => {
    const path = await corpusFile('ok.txt', bytes([0xef, 0xbb, 0xbf], 'Ça va?\r\n我爱猫。😀\r\n'))
    assert.equal(await readCorpusFile(path), 'Ça va?\n我爱猫。😀\n')
  })

  test('a missing file is a FILE error with a hint', async () => {
    await assert.rejects(readCorpusFile(join(folder, 'missing.txt')), (error: unknown) => {
      assert.ok(error instanceof RecurError)
      assert.equal(error.code, 'FILE')
      assert.match(error.message, /no such file: .*missing\.txt/)
      assert.match(error.hint ?? '', /Check the path/)
      return true
    })
  })

  test('a directory is a FILE error', async () => {
    await assert.rejects(readCorpusFile(folder), isRecurError('FILE', 'directory'))
  })

  test('empty, whitespace-only, binary and invalid UTF-8 files are DATA errors', async () => {
    await assert.rejects(readCorpusFile(await corpusFile('empty.txt', '')), isRecurError('DATA', 'empty'))
    await assert.rejects(readCorpusFile(await corpusFile('blank.txt', '  \n\r\n ')), isRecurError('DATA', 'only whitespace'))
    await assert.rejects(readCorpusFile(await corpusFile('binary.bin', bytes('PK', [3, 4, 0, 0]))), isRecurError('DATA', 'binary', 'offset 4'))
    await assert.rejects(readCorpusFile(await corpusFile('latin1.txt', bytes('na', [0xef], 've'))), isRecurError('DATA', 'UTF-8', 'offset 2'))
  })
})

describe('streamCorpusFile', () => {
  const content = bytes([0xef, 0xbb, 0xbf], 'Ça va?\r\n我爱猫。😀 e\u0301\r\n\r\nnaïve\r', 'x\r\n')

  test('any chunk size gives the text readCorpusFile gives (BOM, CRLF and multibyte characters cut anywhere)', async () => {
    const path = await corpusFile('stream.txt', content)
    const whole = await readCorpusFile(path)
    for (const chunkBytes of [1, 2, 3, 5, 7, 64, 1 << 20]) {
      assert.equal(await streamAll(path, chunkBytes), whole, `chunkBytes ${chunkBytes}`)
    }
  })

  test('reports NUL and invalid UTF-8 at the same offset as decodeCorpus, whatever the chunk size', async () => {
    const cases: [string, Uint8Array][] = [
      ['nul.bin', bytes('abc\n€€', [0], 'z')],
      ['bad-lead.txt', bytes('abc\n€€', [0xff], 'z')],
      ['bad-continuation.txt', bytes('abc\n€€', [0xe2, 0x28, 0xa1], 'z')],
      ['bad-fourth-byte.txt', bytes('abc\n€€', [0xf0, 0x9f, 0x98, 0x28], 'z')],
      ['truncated.txt', bytes('abc\n€€', [0xf0, 0x9f, 0x98])],
      ['truncated-short.txt', bytes('abc\n€€', [0xe2, 0x82])],
    ]
    for (const [name, data] of cases) {
      const path = await corpusFile(name, data)
      let expected = ''
      try {
        decodeCorpus(data, path)
      } catch (error) {
        expected = (error as RecurError).message.replace('decodeCorpus', 'streamCorpusFile')
      }
      assert.notEqual(expected, '')
      for (const chunkBytes of [1, 2, 3, 4, 5, 9, 1024]) {
        await assert.rejects(streamAll(path, chunkBytes), (error: unknown) => {
          assert.ok(error instanceof RecurError)
          assert.equal(error.code, 'DATA')
          assert.equal(error.message, expected, `${name}, chunkBytes ${chunkBytes}`)
          return true
        })
      }
    }
  })

  test('missing, empty and whitespace-only files', async () => {
    await assert.rejects(streamAll(join(folder, 'nope.txt'), 8), isRecurError('FILE', 'no such file'))
    await assert.rejects(streamAll(await corpusFile('empty2.txt', ''), 8), isRecurError('DATA', 'empty'))
    await assert.rejects(streamAll(await corpusFile('blank2.txt', bytes([0xef, 0xbb, 0xbf], ' \r\n \n')), 2), isRecurError('DATA', 'only whitespace'))
  })
})

describe('vocabulary from a file', () => {
  const text = 'The cat sat. The dog sat too!\r\nA cat, a dog: “friends” 😀 我爱猫。\r\n'.repeat(5) + 'Rare words here.\n'

  test('buildVocabularyFromFile equals building from the whole text, for any chunk size', async () => {
    const path = await corpusFile('vocab.txt', text)
    const normalised = text.replace(/\r\n/g, '\n')
    for (const level of ['word', 'char'] as const) {
      const expected = Vocabulary.build(tokenize(normalised, { level }), { maxSize: 12, minCount: 2 })
      for (const chunkBytes of [1, 3, 16, 1 << 20]) {
        const vocabulary = await buildVocabularyFromFile(path, { level }, { maxSize: 12, minCount: 2, chunkBytes })
        assert.deepEqual(vocabulary.tokens, expected.tokens, `${level}, chunkBytes ${chunkBytes}`)
      }
    }
  })

  test('countTokensInFile counts every token', async () => {
    const path = await corpusFile('count.txt', text)
    const counter = await countTokensInFile(path, { level: 'word' }, { chunkBytes: 10 })
    const tokens = tokenize(text.replace(/\r\n/g, '\n'), { level: 'word' })
    assert.equal(counter.totalTokens, tokens.length)
    assert.equal(counter.count('cat'), 10)
    assert.equal(counter.exact, true)
  })

  test('bad tokenizer options are reported before the file is opened', async () => {
    await assert.rejects(countTokensInFile(join(folder, 'nope.txt'), { level: 'byte' as 'char' }), isRecurError('OPTION'))
  })
})
