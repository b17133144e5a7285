/**
 * A translator's file records its default decoding limit, `training.decodeMaxLength`, which bounds
 * the decoding loop. A forged or damaged value (too large, 0, negative, fractional, not a number)
 * is refused when the file is read: a RecurError 'FORMAT' that names the file and the field, from
 * the library (`TextTranslator.load`, `fromBundle`) and from `recur translate predict|eval` (one
 * line, exit 1). A file without the field (older ones) decodes up to 50 tokens, as before. A limit
 * asked for when decoding (`--max-length`, `resolveDecodeConfig`) has the same bound.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { decodeModelFile, encodeModelFile, type ModelTensor } from '../../src/io/model-format.js'
import { decodeTaskModel } from '../../src/models/task-file.js'
import { MAX_DECODE_LENGTH, TextTranslator, resolveDecodeConfig } from '../../src/tasks/translate.js'
import { f32, runCli, stackLines } from '../helpers/lm.js'

const kernels = f32()
const pairs = [
  { input: 'ab', target: 'x y' },
  { input: 'ba', target: 'y x' },
  { input: 'aab', target: 'x x y' },
]
const tiny = { hidden: 4, embedding: 3, targetLevel: 'word' as const, steps: 1, seed: 2 }

let dir: string
let original: Uint8Array

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recur-decode-length-'))
  original = encodeModelFile(await TextTranslator.create(kernels, pairs, tiny).fileContents())
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** The translator's file with `training.decodeMaxLength` replaced (undefined: removed). */
function withDecodeLength(value: unknown): Uint8Array {
  const file = decodeModelFile(original)
  const meta = file.meta as Record<string, unknown>
  const training = { ...(meta['training'] as Record<string, unknown>) }
  if (value === undefined) delete training['decodeMaxLength']
  else training['decodeMaxLength'] = value
  const tensors: ModelTensor[] = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))
  return encodeModelFile({ kind: file.kind, meta: { ...meta, training }, tensors })
}

const BAD = [MAX_DECODE_LENGTH + 1, 2 ** 31, 1e300, 0, -5, 2.5, '100', true, null, Number.MAX_SAFE_INTEGER + 2]

describe('decodeMaxLength from a file', () => {
  test('a valid value, the bound included, is the translator\'s limit; none means 50', () => {
    for (const value of [1, 37, MAX_DECODE_LENGTH]) {
      assert.equal(TextTranslator.fromBundle(decodeTaskModel(withDecodeLength(value), kernels, 'seq2seq', 'ok.recur')).maxLength, value)
    }
    assert.equal(TextTranslator.fromBundle(decodeTaskModel(withDecodeLength(undefined), kernels, 'seq2seq', 'old.recur')).maxLength, 50)
  })

  for (const value of BAD) {
    test(`${JSON.stringify(value)} is refused, naming the file and the field`, () => {
      const bundle = decodeTaskModel(withDecodeLength(value), kernels, 'seq2seq', 'forged.recur')
      assert.throws(
        () => TextTranslator.fromBundle(bundle, 'forged.recur'),
        (e: unknown) => e instanceof RecurError && e.code === 'FORMAT' && /^forged\.recur: training\.decodeMaxLength is .*, expected an integer in \[1, 65536\]/.test(e.message),
      )
    })
  }

  test('TextTranslator.load names the path', async () => {
    const path = join(dir, 'huge.recur')
    writeFileSync(path, withDecodeLength(1e12))
    await assert.rejects(TextTranslator.load(path, kernels), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT' && e.message.includes(path) && e.message.includes('decodeMaxLength'))
  })

  test('training cannot record more than the bound: --max-length above it is refused, the default is capped', () => {
    assert.throws(() => TextTranslator.create(kernels, pairs, { ...tiny, maxLength: MAX_DECODE_LENGTH + 1 }), (e: unknown) => e instanceof RecurError && e.code === 'OPTION' && /maxLength/.test(e.message))
    assert.equal(TextTranslator.create(kernels, pairs, { ...tiny, maxLength: MAX_DECODE_LENGTH }).maxLength, MAX_DECODE_LENGTH)
  })
})

describe('recur translate predict|eval with a forged decodeMaxLength', () => {
  for (const command of ['predict', 'eval'] as const) {
    test(command, async () => {
      const model = join(dir, `forged-${command}.recur`)
      writeFileSync(model, withDecodeLength(4_000_000_000))
      const data = join(dir, 'pairs.jsonl')
      writeFileSync(data, `${pairs.map((p) => JSON.stringify({ text: p.input, target: p.target })).join('\n')}\n`)
      const argv = command === 'predict' ? ['translate', 'predict', model, 'ab'] : ['translate', 'eval', model, '--data', data]
      const r = await runCli(argv)
      assert.equal(r.code, 1, r.err)
      assert.equal(r.out, '')
      const lines = r.err.trimEnd().split('\n')
      assert.equal(lines.length, 1, r.err)
      assert.match(lines[0]!, new RegExp(`^recur: error: .*forged-${command}\\.recur.*training\\.decodeMaxLength is 4000000000, expected an integer in \\[1, 65536\\]`))
      assert.deepEqual(stackLines(r.err), [])
    })
  }
})

describe('decoding limits asked for at prediction time', () => {
  test('resolveDecodeConfig and --max-length refuse more than the bound', async () => {
    assert.equal(resolveDecodeConfig({ maxLength: MAX_DECODE_LENGTH }).maxLength, MAX_DECODE_LENGTH)
    assert.throws(() => resolveDecodeConfig({ maxLength: MAX_DECODE_LENGTH + 1 }), (e: unknown) => e instanceof RecurError && e.code === 'OPTION')
    const r = await runCli(['translate', 'predict', join(dir, 'none.recur'), 'ab', '--max-length', String(MAX_DECODE_LENGTH + 1)])
    assert.equal(r.code, 2, r.err)
    assert.match(r.err, /^recur: error: --max-length must be an integer from 0 to 65536, got 65537\n$/)
  })
})
