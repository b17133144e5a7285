/**
 * Property-based tests (fast-check, fixed seeds) of everything that reads a recur model file:
 * the container (`decodeModelFile`), a language model (`decodeLanguageModel`) and the task models
 * (`decodeTaskModel`). Inputs are valid seed files (test/fuzz/seeds.ts) damaged the ways a file from
 * a stranger can be: truncated, bit-flipped, with bytes inserted, with an oversized or garbage JSON
 * header, wrong dtypes, overlapping or out-of-range offsets, huge dimensions, huge architecture
 * fields and NaN-filled weights. Every input must end in a valid result or a RecurError (one line,
 * of bounded length), and nothing may allocate more than a few times the input (the allocation
 * guard of test/fuzz/allocation-guard.ts throws if it does).
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'

import fc from 'fast-check'

import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { decodeModelFile } from '../../src/io/model-format.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { TASK_KINDS, decodeTaskModel, type TaskKind } from '../../src/models/task-file.js'
import { buildModelFile, editModelFileHeader, repairChecksum, splitModelFile } from '../fuzz/mutate.js'
import { classifierSeed, languageModelSeed, seedKernels, seq2seqSeed, taggerSeed } from '../fuzz/seeds.js'
import { assertRefused, outcome } from '../helpers/refusal.js'

const RUNS = { numRuns: 60 } as const

const decodeContainer = (bytes: Uint8Array): unknown => decodeModelFile(bytes)
const decodeLm = (bytes: Uint8Array): unknown => decodeLanguageModel(bytes, seedKernels(), 'lm.recur')
const decodeTask = (kind: TaskKind) => (bytes: Uint8Array): unknown => decodeTaskModel(bytes, seedKernels(), kind, 'task.recur')

type Header = { kind: string; meta: Record<string, unknown>; tensors: Array<Record<string, unknown>> } & Record<string, unknown>

/** A copy of `file` with its header JSON edited by `edit` (lengths, padding and CRC rebuilt). */
const withHeader = (file: Uint8Array, edit: (header: Header) => void): Uint8Array => editModelFileHeader(file, edit)

interface Seeds {
  lm: Uint8Array
  tasks: Record<TaskKind, Uint8Array>
}
const seeds = {} as Seeds

before(async () => {
  seeds.lm = await languageModelSeed()
  seeds.tasks = { classifier: await classifierSeed(), tagger: await taggerSeed(), seq2seq: await seq2seqSeed() }
})

/** Every seed with the decoder that reads it, for properties that hold for all of them. */
function everySeed(): Array<{ name: string; bytes: Uint8Array; decode: (bytes: Uint8Array) => unknown }> {
  return [
    { name: 'language model', bytes: seeds.lm, decode: decodeLm },
    ...TASK_KINDS.map((kind) => ({ name: kind, bytes: seeds.tasks[kind], decode: decodeTask(kind) })),
  ]
}

describe('model files: the seeds are valid', () => {
  test('every seed decodes, as a container and as its model', async () => {
    for (const { name, bytes, decode } of everySeed()) {
      assert.equal(await outcome(bytes, decodeContainer), null, `${name}: container`)
      assert.equal(await outcome(bytes, decode), null, `${name}: model`)
    }
  })
})

describe('model files: damaged bytes', () => {
  test('every truncation is refused (FORMAT)', async () => {
    for (const { bytes, decode } of everySeed()) {
      await fc.assert(fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), async (length) => {
        await assertRefused(bytes.subarray(0, length), decode, ['FORMAT'])
      }), { seed: 101, ...RUNS })
    }
  })

  test('bit flips are refused by the checksum; with the checksum repaired they end in a valid model or a RecurError', async () => {
    for (const { bytes, decode } of everySeed()) {
      const flips = fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 })
      await fc.assert(fc.asyncProperty(flips, async (positions) => {
        const damaged = bytes.slice()
        for (const [at, bit] of positions) damaged[at]! ^= 1 << bit
        if (damaged.every((b, i) => b === bytes[i])) return // the flips cancelled out
        await assertRefused(damaged, decode, ['FORMAT', 'VERSION'])
        await outcome(repairChecksum(damaged) ?? damaged, decode)
      }), { seed: 102, ...RUNS })
    }
  })

  test('inserted bytes (checksum repaired) end in a valid model or a RecurError', async () => {
    for (const { bytes, decode } of everySeed()) {
      const insertion = fc.tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 32 }))
      await fc.assert(fc.asyncProperty(insertion, async ([at, inserted]) => {
        const damaged = new Uint8Array(bytes.length + inserted.length)
        damaged.set(bytes.subarray(0, at))
        damaged.set(inserted, at)
        damaged.set(bytes.subarray(at), at + inserted.length)
        await outcome(repairChecksum(damaged) ?? damaged, decode)
      }), { seed: 103, ...RUNS })
    }
  })
})

describe('model files: forged headers', () => {
  const data = (): Uint8Array => splitModelFile(seeds.lm)!.data

  test('any JSON value as the header is refused (FORMAT), never thrown through', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
      const header = new TextEncoder().encode(JSON.stringify(value) ?? 'null')
      await assertRefused(buildModelFile(header, data()), decodeContainer, ['FORMAT'])
    }), { seed: 104, ...RUNS })
  })

  test('garbage text, very deep nesting and an oversized header are refused (FORMAT)', async () => {
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.nat({ max: 200_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
      fc.nat({ max: 2_000_000 }).map((spaces) => `{"format": "recur-model"${' '.repeat(spaces)}`),
    )
    await fc.assert(fc.asyncProperty(garbage, async (text) => {
      await assertRefused(buildModelFile(new TextEncoder().encode(text), data()), decodeContainer, ['FORMAT'])
    }), { seed: 105, numRuns: 30 })
  })

  test('a wrong dtype is refused (FORMAT)', async () => {
    const dtype = fc.constantFrom<unknown>('f64', 'F32', 'u8', 'bf16', '', 'f32 ', 4, null, ['f32'], { f32: true })
    await fc.assert(fc.asyncProperty(fc.nat(), dtype, async (pick, wrong) => {
      const forged = withHeader(seeds.lm, (h) => {
        h.tensors[pick % h.tensors.length]!['dtype'] = wrong
      })
      await assertRefused(forged, decodeContainer, ['FORMAT'])
    }), { seed: 106, ...RUNS })
  })

  test('an offset moved onto another tensor, past the end, or off the alignment is refused (FORMAT)', async () => {
    const moved = fc.oneof(
      fc.constant('onto-another' as const),
      fc.integer({ min: 1, max: 2 ** 40 }).map((n) => n * 64),
      fc.integer({ min: 1, max: 63 }),
      fc.constantFrom(-64, 2 ** 53, 1.5, '0', null),
    )
    await fc.assert(fc.asyncProperty(fc.nat(), fc.nat(), moved, async (i, j, offset) => {
      let changed = false
      const forged = withHeader(seeds.lm, (h) => {
        const nonEmpty = h.tensors.filter((t) => (t['byteLength'] as number) > 0)
        const target = nonEmpty[i % nonEmpty.length]!
        const value = offset === 'onto-another' ? nonEmpty[j % nonEmpty.length]!['offset'] : offset
        changed = value !== target['offset']
        target['offset'] = value
      })
      if (changed) await assertRefused(forged, decodeContainer, ['FORMAT'])
    }), { seed: 107, ...RUNS })
  })

  test('huge dimensions (with a byteLength to match, or not) are refused before anything is allocated (FORMAT)', async () => {
    const huge = fc.array(fc.constantFrom(1, 7, 1e6, 2 ** 31, 2 ** 32, 1e12, 2 ** 53 - 1), { minLength: 1, maxLength: 4 })
    await fc.assert(fc.asyncProperty(fc.nat(), huge, fc.boolean(), async (pick, shape, matchLength) => {
      const elements = shape.reduce((a, b) => a * b, 1)
      if (elements < 1e6) return
      const forged = withHeader(seeds.lm, (h) => {
        const t = h.tensors[pick % h.tensors.length]!
        t['shape'] = shape
        if (matchLength) t['byteLength'] = 4 * elements
      })
      await assertRefused(forged, decodeContainer, ['FORMAT'])
    }), { seed: 108, ...RUNS })
  })

  test('a header that declares a 10^12-element tensor is refused without allocating it', async () => {
    const forged = withHeader(seeds.lm, (h) => {
      h.tensors.push({ name: 'huge', dtype: 'f32', shape: [1_000_000, 1_000_000], offset: 1 << 20, byteLength: 4e12 })
    })
    const refusal = await assertRefused(forged, decodeContainer, ['FORMAT'])
    assert.match(refusal.message, /truncated|declares/)
  })
})

describe('model files: forged models', () => {
  const architectureField = fc.constantFrom('hidden', 'layers', 'vocabularySize', 'embedding')
  const hugeValue = fc.constantFrom<unknown>(1e6, 2 ** 31, 1e12, 2 ** 53 - 1, 2 ** 53, -1, 0.5, '64', null, [64], { n: 1 })

  test('language model: a huge or wrong architecture field is refused (FORMAT) before the model is built', async () => {
    await fc.assert(fc.asyncProperty(architectureField, hugeValue, async (field, value) => {
      const forged = withHeader(seeds.lm, (h) => {
        ;(h.meta['architecture'] as Record<string, unknown>)[field] = value
      })
      await assertRefused(forged, decodeLm, ['FORMAT'])
    }), { seed: 109, ...RUNS })
  })

  test('task models: a huge or wrong architecture field is refused (FORMAT) before the model is built', async () => {
    const paths = fc.constantFrom(
      ['classifier', 'hidden'], ['classifier', 'layers'], ['classifier', 'vocabularySize'], ['classifier', 'classes'], ['classifier', 'dense', 0],
      ['tagger', 'hidden'], ['tagger', 'tags'], ['tagger', 'embedding'], ['tagger', 'layers'],
      ['seq2seq', 'encoder', 'hidden'], ['seq2seq', 'decoder', 'hidden'], ['seq2seq', 'decoder', 'vocabularySize'], ['seq2seq', 'decoder', 'layers'],
    )
    await fc.assert(fc.asyncProperty(paths, hugeValue, async ([kind, ...path], value) => {
      const forged = withHeader(seeds.tasks[kind as TaskKind], (h) => {
        let node = h.meta['architecture'] as Record<string | number, unknown>
        for (const key of path.slice(0, -1)) node = node[key!] as Record<string | number, unknown>
        node[path[path.length - 1]!] = value
      })
      await assertRefused(forged, decodeTask(kind as TaskKind), ['FORMAT'])
    }), { seed: 110, ...RUNS })
  })

  test('any JSON value in place of a part of meta ends in a valid model or a RecurError', async () => {
    const part = fc.constantFrom('architecture', 'vocabulary', 'tokenizer', 'training', 'input', 'labels', 'target', 'moments', 'optimizerStep')
    await fc.assert(fc.asyncProperty(fc.nat(), part, fc.jsonValue({ maxDepth: 3 }), async (pick, key, value) => {
      const all = everySeed()
      const { bytes, decode } = all[pick % all.length]!
      await outcome(withHeader(bytes, (h) => {
        h.meta[key] = value
      }), decode)
    }), { seed: 111, ...RUNS })
  })

  test('NaN or infinite weights: the container keeps them bit for bit, the models refuse them (NON_FINITE)', async () => {
    const bad = fc.constantFrom(0x7fc00000, 0x7f800000, 0xff800000, 0x7fa00001)
    await fc.assert(fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), bad, async (which, tensorPick, at, pattern) => {
      const all = everySeed()
      const { bytes, decode } = all[which % all.length]!
      const file = decodeModelFile(bytes)
      const parts = splitModelFile(bytes)!
      const header = JSON.parse(new TextDecoder().decode(parts.header)) as Header
      const weights = header.tensors.filter((t) => t['dtype'] === 'f32' && (t['byteLength'] as number) > 0 && !String(t['name']).startsWith('trainer.'))
      const t = weights[tensorPick % weights.length]!
      const index = at % ((t['byteLength'] as number) / 4)
      const data = parts.data.slice()
      new DataView(data.buffer).setUint32((t['offset'] as number) + 4 * index, pattern, true)
      const damaged = buildModelFile(parts.header, data)
      const decoded = decodeModelFile(damaged)
      assert.equal(decoded.tensors.size, file.tensors.size)
      assert.equal(new Uint32Array(decoded.tensors.get(t['name'] as string)!.data.buffer)[index], pattern, 'bit for bit')
      const refusal = await assertRefused(damaged, decode, ['NON_FINITE'])
      assert.match(refusal.message, new RegExp(`tensor "${String(t['name']).replace(/\./g, '\\.')}" holds (NaN|-?Infinity) at index ${index}`))
    }), { seed: 112, numRuns: 40 })
  })
})
