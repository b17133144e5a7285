/**
 * Loading a model never executes code and never reads outside the file: the loaders hold no
 * eval, Function, require or dynamic import; a header's "__proto__" and "constructor" keys stay
 * plain data; a file given as a view into a larger buffer reads only its own bytes, and the same
 * file cut short inside that buffer is refused although the missing bytes are right after it.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { decodeModelFile } from '../../src/io/model-format.js'
import { decodePyTorchSafetensors } from '../../src/io/pytorch.js'
import { decodeSafetensors } from '../../src/io/safetensors.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { decodeTaskModel } from '../../src/models/task-file.js'
import { buildModelFile, buildSafetensors, splitModelFile, splitSafetensors } from '../fuzz/mutate.js'
import { classifierSeed, languageModelSafetensorsSeed, languageModelSeed, seedKernels } from '../fuzz/seeds.js'

const SRC = join(import.meta.dirname, '..', '..', 'src')

/** The TypeScript files that read files from strangers. */
function loaderSources(): string[] {
  const inDir = (dir: string): string[] => readdirSync(join(SRC, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, dir, f))
  return [...inDir('io'), ...inDir('data'), ...inDir('text'), join(SRC, 'models', 'language-model-file.ts'), join(SRC, 'models', 'task-file.ts')]
}

describe('loading never executes code', () => {
  test('the loaders hold no eval, Function constructor, require or dynamic import', () => {
    const forbidden = /\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(|\brequire\s*\(|\bimport\s*\(/
    for (const path of loaderSources()) {
      const code = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      assert.doesNotMatch(code, forbidden, path)
    }
  })

  test('"__proto__" and "constructor" in a header stay data: no prototype is changed', async () => {
    const poison = { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }
    const parts = splitModelFile(await languageModelSeed())!
    const header = JSON.parse(new TextDecoder().decode(parts.header)) as { meta: Record<string, unknown> }
    const text = JSON.stringify(header).replace('"meta":{', `"meta":{"__proto__":${JSON.stringify(poison.__proto__)},"constructor":${JSON.stringify(poison.constructor)},`)
    const forged = buildModelFile(new TextEncoder().encode(text), parts.data)
    const decoded = decodeModelFile(forged)
    assert.ok(Object.hasOwn(decoded.meta as object, '__proto__'), 'kept as an own key')
    decodeLanguageModel(forged, seedKernels())
    const task = splitModelFile(await classifierSeed())!
    const taskText = new TextDecoder().decode(task.header).replace('"architecture":{', '"architecture":{"__proto__":{"polluted":true},')
    decodeTaskModel(buildModelFile(new TextEncoder().encode(taskText), task.data), seedKernels(), 'classifier')
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
    assert.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined)
  })
})

describe('loading never reads outside the file', () => {
  /** `bytes` placed in the middle of a larger buffer of `fill`, returned as a view of exactly its length. */
  function embedded(bytes: Uint8Array, fill: number): { view: Uint8Array; buffer: Uint8Array } {
    const buffer = new Uint8Array(bytes.length + 256).fill(fill)
    buffer.set(bytes, 128)
    return { view: buffer.subarray(128, 128 + bytes.length), buffer }
  }

  test('a model file inside a larger buffer decodes as it does alone', async () => {
    const bytes = await languageModelSeed()
    const alone = decodeModelFile(bytes)
    for (const fill of [0x00, 0xff]) {
      const inside = decodeModelFile(embedded(bytes, fill).view)
      assert.deepEqual(inside.meta, alone.meta)
      for (const [name, t] of alone.tensors) assert.deepEqual(inside.tensors.get(name)!.data, t.data, name)
    }
  })

  test('a model file cut short inside a larger buffer is refused, though the rest follows in memory', async () => {
    const bytes = await languageModelSeed()
    const { buffer } = embedded(bytes, 0)
    for (const cut of [1, 64, bytes.length - splitModelFile(bytes)!.data.length + 8]) {
      const view = buffer.subarray(128, 128 + bytes.length - cut)
      assert.throws(() => decodeModelFile(view), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT')
    }
  })

  test('a safetensors file cut short inside a larger buffer is refused; whole, it reads as alone', async () => {
    const bytes = await languageModelSafetensorsSeed()
    const { view, buffer } = embedded(bytes, 0x20)
    assert.deepEqual([...decodeSafetensors(view).tensors.keys()], [...decodeSafetensors(bytes).tensors.keys()])
    decodePyTorchSafetensors(view, seedKernels())
    const parts = splitSafetensors(bytes)!
    for (const cut of [1, 4, parts.data.length]) {
      const short = buffer.subarray(128, 128 + bytes.length - cut)
      assert.throws(() => decodeSafetensors(short), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT')
    }
    // A header whose declared length runs past the view (into the following bytes) is refused too.
    const forged = buildSafetensors(parts.header, parts.data)
    new DataView(forged.buffer).setBigUint64(0, BigInt(forged.length), true)
    assert.throws(() => decodeSafetensors(embedded(forged, 0x20).view), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT')
  })
})
