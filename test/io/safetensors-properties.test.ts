/**
 * Property-based tests (fast-check, fixed seeds) of the safetensors reader and the PyTorch import
 * built on it, on valid exports (test/fuzz/seeds.ts) damaged the ways a downloaded file can be:
 * truncated, a forged header length, a garbage or oversized header, wrong dtypes, overlapping,
 * out-of-range or gapped offsets, huge shapes, NaN-filled tensors and forged recur metadata.
 * Every input ends in a valid result or a RecurError, and nothing allocates more than a few
 * times the input (test/fuzz/allocation-guard.ts).
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'

import fc from 'fast-check'

import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { decodePyTorchSafetensors } from '../../src/io/pytorch.js'
import { decodeSafetensors, tensorToFloat32 } from '../../src/io/safetensors.js'
import { buildSafetensors, editSafetensorsHeader, splitSafetensors } from '../fuzz/mutate.js'
import { languageModelSafetensorsSeed, seedKernels, taggerSafetensorsSeed } from '../fuzz/seeds.js'
import { assertRefused, outcome } from '../helpers/refusal.js'

const RUNS = { numRuns: 60 } as const

/** The reader, then every tensor's values (as the importer reads them). */
function readAll(bytes: Uint8Array): void {
  const file = decodeSafetensors(bytes, 'w.safetensors')
  for (const [name, t] of file.tensors) if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64') tensorToFloat32(t, name)
}

const importModel = (bytes: Uint8Array): unknown => decodePyTorchSafetensors(bytes, seedKernels(), null, 'w.safetensors')

type Header = Record<string, Record<string, unknown>>

/** A copy of `file` with its header JSON edited (the length prefix rebuilt). */
const withHeader = (file: Uint8Array, edit: (header: Header) => void): Uint8Array => editSafetensorsHeader(file, edit)

/** The tensor entries of a header (not __metadata__). */
function entries(header: Header): Array<[string, Record<string, unknown>]> {
  return Object.entries(header).filter(([name]) => name !== '__metadata__')
}

const seeds: Uint8Array[] = []
before(async () => {
  seeds.push(await languageModelSafetensorsSeed(), await taggerSafetensorsSeed())
})

describe('safetensors: the seeds are valid', () => {
  test('both seeds read and import', async () => {
    for (const seed of seeds) {
      assert.equal(await outcome(seed, readAll), null)
      assert.equal(await outcome(seed, importModel), null)
    }
  })
})

describe('safetensors: damaged files', () => {
  test('every truncation is refused (FORMAT)', async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), async (which, cut) => {
      const seed = seeds[which]!
      await assertRefused(seed.subarray(0, cut % seed.length), readAll, ['FORMAT'])
    }), { seed: 201, ...RUNS })
  })

  test('a forged header length is refused (FORMAT)', async () => {
    const length = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 100_000_001n, 2n ** 63n, 2n ** 64n - 1n))
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), length, async (which, declared) => {
      const bytes = seeds[which]!.slice()
      const view = new DataView(bytes.buffer)
      if (view.getBigUint64(0, true) === declared) return
      view.setBigUint64(0, declared, true)
      await outcome(bytes, readAll) // a shorter length can still land on valid JSON; it must not throw through
    }), { seed: 202, ...RUNS })
  })

  test('bytes changed anywhere end in a valid result or a RecurError', async () => {
    const change = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 })
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), change, async (which, changes) => {
      const bytes = seeds[which]!.slice()
      for (const [at, value] of changes) bytes[at % bytes.length] = value
      await outcome(bytes, readAll)
      await outcome(bytes, importModel)
    }), { seed: 203, ...RUNS })
  })

  test('any JSON value, garbage or very deep nesting as the header is refused (FORMAT)', async () => {
    const header = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.nat({ max: 200_000 }).map((depth) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`),
    )
    const data = splitSafetensors(seeds[0]!)!.data
    await fc.assert(fc.asyncProperty(header, async (text) => {
      await assertRefused(buildSafetensors(new TextEncoder().encode(text), data), readAll, ['FORMAT'])
    }), { seed: 204, ...RUNS })
  })
})

describe('safetensors: forged entries', () => {
  test('a wrong or unknown dtype is refused (FORMAT)', async () => {
    const dtype = fc.constantFrom<unknown>('f32', 'F31', 'I64', 'U8', 'F64', 'BF16', 'float', '', 4, null, ['F32'])
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), dtype, async (which, pick, wrong) => {
      const forged = withHeader(seeds[which]!, (h) => {
        const list = entries(h)
        list[pick % list.length]![1]['dtype'] = wrong
      })
      // A known dtype of another size no longer matches data_offsets (FORMAT); the importer reads F32, F16, BF16, F64 only.
      await assertRefused(forged, importModel, ['FORMAT'])
    }), { seed: 205, ...RUNS })
  })

  test('overlapping, out-of-range or gapped data_offsets are refused (FORMAT)', async () => {
    const shift = fc.oneof(fc.integer({ min: -64, max: 64 }).filter((n) => n !== 0), fc.constantFrom(2 ** 40, 2 ** 53 - 1, -(2 ** 40)))
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), shift, fc.boolean(), async (which, pick, by, both) => {
      const forged = withHeader(seeds[which]!, (h) => {
        const list = entries(h)
        const offsets = list[pick % list.length]![1]['data_offsets'] as number[]
        offsets[0] = offsets[0]! + by
        if (both) offsets[1] = offsets[1]! + by
      })
      await assertRefused(forged, readAll, ['FORMAT'])
    }), { seed: 206, ...RUNS })
  })

  test('huge shapes are refused before anything is allocated (FORMAT)', async () => {
    const huge = fc.array(fc.constantFrom(3, 1e6, 2 ** 31, 1e12, 2 ** 53 - 1), { minLength: 1, maxLength: 4 })
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), huge, fc.boolean(), async (which, pick, shape, matchOffsets) => {
      const elements = shape.reduce((a, b) => a * b, 1)
      if (elements < 1e6) return
      const forged = withHeader(seeds[which]!, (h) => {
        const list = entries(h)
        const entry = list[pick % list.length]![1]
        entry['shape'] = shape
        const offsets = entry['data_offsets'] as number[]
        if (matchOffsets) offsets[1] = offsets[0]! + 4 * elements
      })
      await assertRefused(forged, readAll, ['FORMAT'])
    }), { seed: 207, ...RUNS })
  })

  test('NaN or infinite weights read as such, and the import refuses them (NON_FINITE)', async () => {
    const bad = fc.constantFrom(0x7fc00000, 0x7f800000, 0xff800000)
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), bad, async (which, at, pattern) => {
      const bytes = seeds[which]!.slice()
      const parts = splitSafetensors(bytes)!
      const start = bytes.length - parts.data.length
      const index = at % (parts.data.length / 4)
      new DataView(bytes.buffer).setUint32(start + 4 * index, pattern, true)
      assert.equal(await outcome(bytes, readAll), null)
      await assertRefused(bytes, importModel, ['NON_FINITE'])
    }), { seed: 208, numRuns: 30 })
  })

  test('forged recur metadata (architecture, vocabulary, labels) ends in a valid model or a RecurError, without allocating', async () => {
    const key = fc.constantFrom('recur.architecture', 'recur.vocabulary', 'recur.tokenizer', 'recur.labels', 'recur.kind')
    const field = fc.constantFrom('layers', 'hidden', 'vocabularySize', 'embedding', 'tags', 'cell', 'dense', 'bidirectional', 'output')
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e6, 2 ** 31, 1e12, 2 ** 53 - 1, -1, 0))
    await fc.assert(fc.asyncProperty(fc.nat({ max: 1 }), key, field, value, fc.boolean(), async (which, name, inner, replacement, whole) => {
      const forged = withHeader(seeds[which]!, (h) => {
        const metadata = h['__metadata__'] as Record<string, string>
        if (whole || name !== 'recur.architecture') {
          metadata[name] = JSON.stringify(replacement) ?? 'null'
        } else {
          const architecture = JSON.parse(metadata[name]!) as Record<string, unknown>
          architecture[inner] = replacement
          metadata[name] = JSON.stringify(architecture)
        }
      })
      await outcome(forged, importModel)
    }), { seed: 209, ...RUNS })
  })

  test('a metadata architecture of 10^9 layers is refused at once (FORMAT), without listing its tensors', async () => {
    const forged = withHeader(seeds[0]!, (h) => {
      const metadata = h['__metadata__'] as Record<string, string>
      metadata['recur.architecture'] = JSON.stringify({ ...JSON.parse(metadata['recur.architecture']!), layers: 1e9 })
    })
    const refusal = await assertRefused(forged, importModel, ['FORMAT'])
    assert.match(refusal.message, /needs at least .* weights/)
  })
})
