/**
 * Fuzz targets: the dataset readers (`decodeDataset`: bytes -> UTF-8 checks -> JSON lines, CSV or
 * TSV records), one target per format so each keeps a corpus of its own, and the corpus decoder
 * (`decodeCorpus`). A valid dataset must have one line number per record and every field present.
 */
import { decodeDataset } from '../../../src/data/datasets.js'
import type { DatasetFormat } from '../../../src/data/parse.js'
import { decodeCorpus } from '../../../src/text/corpus.js'
import { DATASET_FIELDS, DATASET_SEEDS } from '../seeds.js'
import { expectValid, refusedOrValid, type FuzzTarget } from '../target.js'

const encoder = new TextEncoder()

function datasetTarget(format: DatasetFormat, dictionary: readonly string[]): FuzzTarget {
  return {
    name: `dataset-${format}`,
    description: `decodeDataset(format '${format}') (src/data/datasets.ts, src/data/parse.ts)`,
    dictionary: ['text', 'label', '"text"', '"label"', '\n', '\r\n', '\uFEFF', ...dictionary],
    async seeds() {
      return DATASET_SEEDS[format].map((text) => encoder.encode(text))
    },
    async fuzz(data) {
      await refusedOrValid(data.length, () => {
        const dataset = decodeDataset(data, format, DATASET_FIELDS, 'fuzz')
        expectValid(dataset.records.length === dataset.lines.length, 'one line number per record')
        for (const record of dataset.records) expectValid(DATASET_FIELDS.every((f) => Object.hasOwn(record, f)), 'every field in every record')
      })
    },
  }
}

export const jsonlTarget = datasetTarget('jsonl', ['{', '}', '[', ']', ':', ',', '"', '\\"', '\\u0000', 'null', 'true', '1e999', '"__proto__"'])
export const csvTarget = datasetTarget('csv', ['"', '""', ',', '","', '"\n"', '\r'])
export const tsvTarget = datasetTarget('tsv', ['\t', '\\t', '\\n', '\\\\', '\\r', '\\'])

export const corpusTarget: FuzzTarget = {
  name: 'corpus',
  description: 'decodeCorpus (src/text/corpus.ts)',
  dictionary: ['\uFEFF', '\r\n', '\r', '\u0000', '\u00e9', '\u{1F600}', '\ud800'],
  async seeds() {
    return ['the cat sat.\nthe dog ran.\n', '\uFEFFcaf\u00e9\r\n\u{1F600} \u4e2d\u6587\r\n'].map((text) => encoder.encode(text))
  },
  async fuzz(data) {
    await refusedOrValid(data.length, () => {
      const text = decodeCorpus(data, 'fuzz')
      expectValid(!text.includes('\0') && /\S/u.test(text) && text.length <= data.length, 'text without NUL, not blank, no longer than its bytes')
    })
  },
}
