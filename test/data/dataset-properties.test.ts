/**
 * Property-based tests (fast-check, fixed seeds) of the dataset readers (JSON lines, CSV, TSV) and
 * the corpus decoder: any records written the way the format says read back exactly; any bytes,
 * and the seed datasets with quotes, separators, line ends, escapes, a BOM, NUL or broken UTF-8
 * inserted anywhere, end in a valid dataset (every record has every field, one line number per
 * record) or a RecurError of one line.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import fc from 'fast-check'

import { decodeDataset } from '../../src/data/datasets.js'
import { parseDataset, type DatasetFormat } from '../../src/data/parse.js'
import { decodeCorpus } from '../../src/text/corpus.js'
import { DATASET_FIELDS, DATASET_SEEDS } from '../fuzz/seeds.js'
import { expectValid, refusedOrValid } from '../fuzz/target.js'

const FORMATS: readonly DatasetFormat[] = ['jsonl', 'csv', 'tsv']
const encoder = new TextEncoder()

/** Field values: any Unicode text, with the characters the formats treat specially made common. */
const value = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('"', ',', '\t', '\n', '\r', '\\', 't', 'n', ' ', '\uFEFF', '{', '[') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 12,
})
const records = fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 8 })

/** The records as the format writes them (module comment of src/data/parse.ts). */
function write(format: DatasetFormat, rows: ReadonlyArray<readonly [string, string]>): string {
  if (format === 'jsonl') return rows.map(([text, label]) => JSON.stringify({ text, label })).join('\n')
  if (format === 'csv') {
    const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`
    return ['text,label', ...rows.map(([text, label]) => `${quote(text)},${quote(label)}`)].join('\n')
  }
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
  return ['text\tlabel', ...rows.map(([text, label]) => `${escape(text)}\t${escape(label)}`)].join('\n')
}

/** What reading gives back: CSV turns CRLF into LF even inside quotes (as for a corpus); the rest is kept exactly. */
function expected(format: DatasetFormat, v: string): string {
  return format === 'csv' ? v.replace(/\r\n/g, '\n') : v
}

/** Reads `bytes` as `format`; a valid dataset must have every field in every record. */
async function read(bytes: Uint8Array, format: DatasetFormat): Promise<void> {
  await refusedOrValid(bytes.length, () => {
    const dataset = decodeDataset(bytes, format, DATASET_FIELDS, 'data')
    expectValid(dataset.records.length === dataset.lines.length, 'one line number per record')
    for (const record of dataset.records) expectValid(DATASET_FIELDS.every((f) => Object.hasOwn(record, f)), 'every field in every record')
  })
}

describe('datasets: what is written as the format says reads back exactly', () => {
  for (const format of FORMATS) {
    test(format, () => {
      fc.assert(fc.property(records, (rows) => {
        const dataset = parseDataset(write(format, rows), format, DATASET_FIELDS, 'data')
        assert.deepEqual(dataset.records.map((r) => [r['text'], r['label']]), rows.map(([t, l]) => [expected(format, t), expected(format, l)]))
      }), { seed: 301, numRuns: 200 })
    })
  }
})

describe('datasets: damaged input ends in a valid dataset or a RecurError', () => {
  test('any bytes, as each format', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...FORMATS), async (bytes, format) => {
      await read(bytes, format)
    }), { seed: 302, numRuns: 300 })
  })

  test('the seeds with special characters, broken UTF-8 or NUL inserted, or truncated', async () => {
    const special = fc.constantFrom<number[]>([0x22], [0x2c], [0x09], [0x0a], [0x0d], [0x5c], [0x7b], [0x5d], [0xef, 0xbb, 0xbf], [0x00], [0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80])
    const edits = fc.array(fc.tuple(fc.nat(), special), { minLength: 1, maxLength: 6 })
    await fc.assert(fc.asyncProperty(fc.constantFrom(...FORMATS), fc.nat(), edits, fc.nat(), async (format, pick, changes, cut) => {
      const seeds = DATASET_SEEDS[format]
      let bytes = Array.from(encoder.encode(seeds[pick % seeds.length]!))
      for (const [at, inserted] of changes) bytes.splice(at % (bytes.length + 1), 0, ...inserted)
      if (cut % 4 === 0) bytes = bytes.slice(0, cut % (bytes.length + 1))
      await read(Uint8Array.from(bytes), format)
    }), { seed: 303, numRuns: 300 })
  })

  test('long names and values in a message are cut: it stays one short line', async () => {
    const name = 'x'.repeat(50_000)
    const inputs: Array<[DatasetFormat, string]> = [
      ['jsonl', `{"${name}": 1}\n`],
      ['csv', `${name},${name}\nv,w\n`],
      ['tsv', `${name}\t${name}\nv\tw\n`],
    ]
    for (const [format, text] of inputs) {
      let message = ''
      try {
        parseDataset(text, format, DATASET_FIELDS, 'data')
      } catch (error) {
        message = (error as Error).message
      }
      assert.ok(message.length > 0 && message.length < 500 && !message.includes('\n'), `${format}: ${message.slice(0, 200)}`)
    }
  })
})

describe('corpus text', () => {
  test('any bytes decode to text (one BOM dropped, CRLF as LF) or are refused (DATA)', async () => {
    const bytes = fc.array(fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0x0d, 0x0a, 0xef, 0xbb, 0xbf, 0x20)), { maxLength: 200 }).map((b) => Uint8Array.from(b))
    await fc.assert(fc.asyncProperty(bytes, async (input) => {
      await refusedOrValid(input.length, () => {
        const text = decodeCorpus(input, 'corpus')
        let expectedText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input)
        if (expectedText.charCodeAt(0) === 0xfeff) expectedText = expectedText.slice(1)
        expectValid(text === expectedText.replace(/\r\n/g, '\n') && /\S/u.test(text), 'the text, one BOM dropped, CRLF as LF, not blank')
      })
    }), { seed: 304, numRuns: 300 })
  })
})
