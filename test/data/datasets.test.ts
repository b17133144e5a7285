import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeDataset, readDataset } from '../../src/data/datasets.js'
import { isRecurError } from '../helpers/recur-error.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? Array.from(utf8(part)) : part)))

let folder = ''
async function file(name: string, content: Uint8Array | string): Promise<string> {
  const path = join(folder, name)
  await writeFile(path, content)
  return path
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'recur-datasets-test-'))
})
after(async () => {
  await rm(folder, { recursive: true, force: true })
})

describe('readDataset', () => {
  test('reads each format, chosen by the extension', async () => {
    const fields = ['text', 'label']
    const fromCsv = await readDataset(await file('a.csv', 'text,label\n"hi, there",pos\n'), { fields })
    assert.deepEqual(fromCsv.records, [{ text: 'hi, there', label: 'pos' }])
    assert.equal(fromCsv.format, 'csv')
    assert.equal(fromCsv.path, join(folder, 'a.csv'))
    const fromTsv = await readDataset(await file('a.tsv', 'text\tlabel\nhi\tpos\n'), { fields })
    assert.deepEqual(fromTsv.records, [{ text: 'hi', label: 'pos' }])
    const fromJsonl = await readDataset(await file('a.jsonl', '{"text": "hi", "label": "pos"}\n'), { fields })
    assert.deepEqual(fromJsonl.records, [{ text: 'hi', label: 'pos' }])
    assert.equal(fromJsonl.format, 'jsonl')
  })

  test('an explicit format overrides the extension', async () => {
    const path = await file('data.txt', '{"text": "a", "label": "b"}\n')
    assert.deepEqual((await readDataset(path, { fields: ['text'], format: 'jsonl' })).records, [{ text: 'a' }])
  })

  test('an unknown extension without a format is an OPTION error saying to pass --format', async () => {
    const path = await file('data.txt', 'text,label\na,b\n')
    await assert.rejects(readDataset(path, { fields: ['text'] }), isRecurError('OPTION', 'data.txt', '--format'))
  })

  test('UTF-8 with BOM and CRLF line ends', async () => {
    const path = await file('bom.csv', bytes([0xef, 0xbb, 0xbf], 'text,label\r\nh\u00e9llo,1\r\n"a\r\nb",2\r\n'))
    assert.deepEqual((await readDataset(path, { fields: ['text', 'label'] })).records, [{ text: 'héllo', label: '1' }, { text: 'a\nb', label: '2' }])
  })

  test('a missing file and a directory are FILE errors', async () => {
    await assert.rejects(readDataset(join(folder, 'nope.csv'), { fields: ['text'] }), isRecurError('FILE', 'no such file', 'nope.csv', 'Check the path'))
    await mkdir(join(folder, 'dir.csv'))
    await assert.rejects(readDataset(join(folder, 'dir.csv'), { fields: ['text'] }), isRecurError('FILE', 'dir.csv is a directory'))
  })

  test('an empty, whitespace-only or BOM-only file is a DATA error', async () => {
    await assert.rejects(readDataset(await file('empty.csv', ''), { fields: ['text'] }), isRecurError('DATA', 'empty.csv is empty', 'header row'))
    await assert.rejects(readDataset(await file('blank.jsonl', '\n \r\n'), { fields: ['text'] }), isRecurError('DATA', 'blank.jsonl is empty', 'one JSON object per line'))
    await assert.rejects(readDataset(await file('bom.tsv', bytes([0xef, 0xbb, 0xbf])), { fields: ['text'] }), isRecurError('DATA', 'bom.tsv is empty'))
  })

  test('a header without records is a DATA error', async () => {
    await assert.rejects(readDataset(await file('header.csv', 'text,label\r\n'), { fields: ['text'] }), isRecurError('DATA', 'header.csv has a header row (line 1) but no records'))
  })

  test('binary data (a NUL byte, UTF-16) is a DATA error naming the file, line and offset', async () => {
    const path = await file('bin.csv', bytes('text,label\na,b\n', [0x00, 0x01]))
    await assert.rejects(readDataset(path, { fields: ['text'] }), isRecurError('DATA', 'bin.csv looks binary', 'byte offset 15', 'line 3'))
    const utf16 = await file('utf16.csv', Uint8Array.of(0xff, 0xfe, 0x74, 0x00, 0x0a, 0x00))
    await assert.rejects(readDataset(utf16, { fields: ['t'] }), isRecurError('DATA', 'looks binary', 'UTF-16'))
  })

  test('invalid UTF-8 (Latin-1) is a DATA error naming the line', async () => {
    const path = await file('latin1.tsv', bytes('text\tlabel\ncaf', [0xe9], '\tx\n'))
    await assert.rejects(readDataset(path, { fields: ['text'] }), isRecurError('DATA', 'latin1.tsv is not valid UTF-8', 'line 2', 'iconv'))
  })

  test('content errors name the file and line', async () => {
    const path = await file('bad.jsonl', '{"text": "a", "label": 1}\n{"text": \n')
    await assert.rejects(readDataset(path, { fields: ['text'] }), isRecurError('FORMAT', `${path} line 2`, 'not valid JSON'))
    const missing = await file('missing.csv', 'text,lbl\na,b\n')
    await assert.rejects(readDataset(missing, { fields: ['text', 'label'] }), isRecurError('DATA', `${missing} line 1`, 'no column "label"', 'Did you mean "lbl"?'))
  })

  test('bad options are OPTION errors, checked before the file is read', async () => {
    await assert.rejects(readDataset(join(folder, 'nope.csv'), { fields: [] }), isRecurError('OPTION', 'fields'))
    await assert.rejects(readDataset(join(folder, 'nope.csv'), { fields: ['a'], format: 'xls' as 'csv' }), isRecurError('OPTION', 'unknown format "xls"'))
    await assert.rejects(readDataset('', { fields: ['a'] }), isRecurError('OPTION', 'file path'))
  })
})

describe('decodeDataset (standard input)', () => {
  test('decodes and parses bytes with the same checks', () => {
    const dataset = decodeDataset(bytes([0xef, 0xbb, 0xbf], '{"text": "a", "label": 1}\r\n'), 'jsonl', ['text', 'label'], '<stdin>')
    assert.deepEqual(dataset.records, [{ text: 'a', label: '1' }])
    assert.equal(dataset.path, '<stdin>')
    assert.throws(() => decodeDataset(new Uint8Array(0), 'csv', ['text'], '<stdin>'), isRecurError('DATA', '<stdin> is empty'))
    assert.throws(() => decodeDataset(bytes('a', [0]), 'csv', ['text'], '<stdin>'), isRecurError('DATA', '<stdin> looks binary'))
  })
})
