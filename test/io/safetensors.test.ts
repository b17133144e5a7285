/**
 * The safetensors codec against the specification: what the writer lays out (header length, JSON
 * header padded with spaces to 8 bytes, contiguous data in name order, __metadata__ strings), that
 * values survive bit for bit, that it reads a file PyTorch's side wrote (test/golden/interop), and
 * that every malformed file is refused with a FORMAT error before anything is allocated.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import {
  SAFETENSORS_MAX_HEADER_BYTES, decodeSafetensors, encodeSafetensors, tensorToFloat32, type SafetensorsTensor,
} from '../../src/io/safetensors.js'
import { bits, expectRecurError } from '../helpers/lm.js'

/** A file from a header object and a data section, built by hand as the specification says. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) }
}

const f32 = (values: number[]): Float32Array => Float32Array.from(values)

describe('writer', () => {
  test('lays out the header length, a space-padded JSON header, and contiguous data in name order', () => {
    const bytes = encodeSafetensors([
      { name: 'out.weight', shape: [2, 3], data: f32([1, 2, 3, 4, 5, 6]) },
      { name: 'embedding.weight', shape: [1, 1], data: f32([7]) },
    ], { format: 'pt', 'recur.kind': 'language-model' })
    const { length, text } = headerOf(bytes)
    assert.equal((8 + length) % 8, 0, 'the data starts at a multiple of 8')
    assert.ok(text.startsWith('{'))
    assert.match(text, /} *$/)
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>
    assert.deepEqual(header['__metadata__'], { format: 'pt', 'recur.kind': 'language-model' })
    assert.deepEqual(header['embedding.weight'], { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] })
    assert.deepEqual(header['out.weight'], { dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] })
    assert.equal(bytes.length, 8 + length + 28)
    const data = new DataView(bytes.buffer, 8 + length)
    assert.equal(data.getFloat32(0, true), 7)
    assert.equal(data.getFloat32(4, true), 1)
    assert.equal(data.getFloat32(24, true), 6)
  })

  test('round trip: shapes, metadata and values bit for bit (NaN payload, -0, subnormals, infinities)', () => {
    const special = new Float32Array(new Uint32Array([0x7fc00001, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]).buffer)
    const tensors = [
      { name: 'a', shape: [2, 3], data: special },
      { name: 'scalar', shape: [], data: f32([3.5]) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
    ]
    const decoded = decodeSafetensors(encodeSafetensors(tensors, { note: 'ünïcödé ✓' }))
    assert.deepEqual(decoded.metadata, { note: 'ünïcödé ✓' })
    assert.deepEqual([...decoded.tensors.keys()].sort(), ['a', 'empty', 'scalar'])
    for (const t of tensors) {
      const got = decoded.tensors.get(t.name)!
      assert.equal(got.dtype, 'F32')
      assert.deepEqual(got.shape, t.shape)
      assert.deepEqual(bits(tensorToFloat32(got, t.name)), bits(t.data))
    }
  })

  test('a file with no tensors and no metadata is the header {} padded to 8 bytes', () => {
    const bytes = encodeSafetensors([])
    assert.deepEqual(headerOf(bytes), { length: 8, text: '{}      ' })
    assert.equal(decodeSafetensors(bytes).tensors.size, 0)
  })

  test('refuses a duplicate name, a shape that does not match the data, a non-string metadata value', async () => {
    await expectRecurError(() => encodeSafetensors([{ name: 'x', shape: [1], data: f32([1]) }, { name: 'x', shape: [1], data: f32([2]) }]), 'FORMAT', /duplicate/)
    await expectRecurError(() => encodeSafetensors([{ name: 'x', shape: [2, 2], data: f32([1, 2, 3]) }]), 'SHAPE', /holds 4 values but data has 3/)
    await expectRecurError(() => encodeSafetensors([], { n: 1 as unknown as string }), 'FORMAT', /must be a string/)
    await expectRecurError(() => encodeSafetensors([{ name: '__metadata__', shape: [1], data: f32([1]) }]), 'FORMAT', /invalid tensor name/)
  })
})

describe('reader', () => {
  test('reads a file written by the Python side (make_interop.py) with PyTorch names', () => {
    const bytes = readFileSync(new URL('../golden/interop/lstm-l1-uni-emb.safetensors', import.meta.url))
    const file = decodeSafetensors(bytes)
    assert.deepEqual(file.metadata, { format: 'pt' })
    assert.deepEqual(file.tensors.get('rnn.weight_ih_l0')?.shape, [24, 5])
    assert.deepEqual(file.tensors.get('embedding.weight')?.shape, [7, 5])
  })

  test('reads every dtype of the specification; F16, BF16 and F64 convert to float32, integers are refused as weights', async () => {
    const data = new Uint8Array(2 + 2 + 8 + 8 + 1)
    const view = new DataView(data.buffer)
    view.setUint16(0, 0x3e00, true) // F16 1.5
    view.setUint16(2, 0xc040, true) // BF16 -3
    view.setFloat64(4, 0.1, true)
    view.setBigInt64(12, -5n, true)
    data[20] = 1
    const file = decodeSafetensors(rawFile({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      d: { dtype: 'F64', shape: [], data_offsets: [4, 12] },
      i: { dtype: 'I64', shape: [1, 1], data_offsets: [12, 20] },
      z: { dtype: 'BOOL', shape: [1], data_offsets: [20, 21] },
    }, data, 3))
    const value = (name: string): number => tensorToFloat32(file.tensors.get(name)!, name)[0]!
    assert.equal(value('h'), 1.5)
    assert.equal(value('b'), -3)
    assert.equal(value('d'), Math.fround(0.1))
    await expectRecurError(() => value('i'), 'FORMAT', /tensor "i" has dtype I64/)
    const subnormal: SafetensorsTensor = { dtype: 'F16', shape: [3], bytes: new Uint8Array(new Uint16Array([0x0001, 0x7c00, 0xfbff]).buffer) }
    assert.deepEqual([...tensorToFloat32(subnormal, 's')], [2 ** -24, Infinity, -65504])
  })

  const good = () => rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12))

  test('a well-formed hand-made file is accepted (the malformed ones below differ from it in one thing)', () => {
    assert.equal(decodeSafetensors(good()).tensors.size, 2)
  })

  test('truncation anywhere is refused', async () => {
    const bytes = good()
    for (const cut of [0, 3, 7, 8, 20, bytes.length - 12, bytes.length - 5, bytes.length - 1]) {
      await expectRecurError(() => decodeSafetensors(bytes.subarray(0, cut), 'cut.safetensors'), 'FORMAT', /^cut\.safetensors: /)
    }
  })

  test('bytes after the last tensor are refused (the tensors must cover the data)', async () => {
    const bytes = good()
    const longer = new Uint8Array(bytes.length + 4)
    longer.set(bytes)
    await expectRecurError(() => decodeSafetensors(longer), 'FORMAT', /4 bytes belong to no tensor/)
  })

  test('overlapping offsets, holes, and offsets out of bounds are refused', async () => {
    const data = new Uint8Array(12)
    await expectRecurError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data)), 'FORMAT', /"a" .* and "b" .* overlap/)
    await expectRecurError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, data)), 'FORMAT', /bytes 4\.\.8 .* belong to no tensor/)
    await expectRecurError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, data)), 'FORMAT', /tensor "a" ends at data byte 16 but the data has 12 bytes/)
    await expectRecurError(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, data)), 'FORMAT', /end before they begin/)
  })

  test('a bad dtype, a size that does not match the shape, and malformed entries are refused', async () => {
    const data = new Uint8Array(8)
    const one = (entry: unknown) => decodeSafetensors(rawFile({ a: entry }, data))
    await expectRecurError(() => one({ dtype: 'F33', shape: [2], data_offsets: [0, 8] }), 'FORMAT', /unknown dtype "F33"/)
    await expectRecurError(() => one({ dtype: 'f32', shape: [2], data_offsets: [0, 8] }), 'FORMAT', /unknown dtype/)
    await expectRecurError(() => one({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }), 'FORMAT', /hold 8 bytes but F32 \[3\] needs 12/)
    await expectRecurError(() => one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), 'FORMAT', /shape must be/)
    await expectRecurError(() => one({ dtype: 'F32', shape: [2], data_offsets: [0] }), 'FORMAT', /data_offsets must be two/)
    await expectRecurError(() => one({ dtype: 'F32', shape: [2], data_offsets: [0, 8], extra: 1 }), 'FORMAT', /unknown field "extra"/)
    await expectRecurError(() => one([1, 2]), 'FORMAT', /must be an object/)
    await expectRecurError(() => one({ dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] }), 'FORMAT', /too large/)
  })

  test('a huge header length is refused at once, before anything is read or allocated', async () => {
    for (const declared of [2n ** 40n, BigInt(SAFETENSORS_MAX_HEADER_BYTES) + 1n, 2n ** 64n - 1n]) {
      const bytes = new Uint8Array(16)
      new DataView(bytes.buffer).setBigUint64(0, declared, true)
      await expectRecurError(() => decodeSafetensors(bytes), 'FORMAT', /header length is \d+ bytes, more than the 100000000-byte limit/)
    }
    const bytes = good()
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true)
    await expectRecurError(() => decodeSafetensors(bytes), 'FORMAT', /the header needs 1000 bytes but the file has/)
  })

  test('a header that is not a JSON object, not UTF-8, or with bad metadata is refused', async () => {
    const text = (s: string | Uint8Array) => {
      const json = typeof s === 'string' ? new TextEncoder().encode(s) : s
      const out = new Uint8Array(8 + json.length)
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
      out.set(json, 8)
      return decodeSafetensors(out)
    }
    await expectRecurError(() => text('{"a": '), 'FORMAT', /not valid JSON/)
    await expectRecurError(() => text('[1, 2]  '), 'FORMAT', /must start with '\{'/)
    await expectRecurError(() => text(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 'FORMAT', /not valid UTF-8/)
    await expectRecurError(() => text('{"__metadata__": {"n": 1}}'), 'FORMAT', /__metadata__\.n must be a string/)
    await expectRecurError(() => text('{"__metadata__": [1]}'), 'FORMAT', /__metadata__ must be an object/)
  })
})

/** Every module specifier reachable from `entry` through relative imports that is not relative itself. */
function externalImports(entry: string): string[] {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
  const seen = new Set<string>()
  const external: string[] = []
  const visit = (path: string): void => {
    if (seen.has(path)) return
    seen.add(path)
    const source = readFileSync(path, 'utf8')
    for (const m of source.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const specifier = (m[1] ?? m[2])!
      if (specifier.startsWith('.')) visit(resolve(dirname(path), specifier).replace(/\.js$/, '.ts'))
      else external.push(`${relative(root, path)} -> ${specifier}`)
    }
  }
  visit(resolve(root, entry))
  return external
}

test('safetensors.ts, pytorch.ts and onnx.ts are browser-safe: no node: modules (onnx.ts uses onnx-proto only)', () => {
  assert.deepEqual(externalImports('src/io/safetensors.ts'), [])
  assert.deepEqual(externalImports('src/io/pytorch.ts'), [])
  assert.deepEqual(externalImports('src/io/onnx.ts').map((e) => e.replace(/^.* -> /, '')), ['onnx-proto', 'onnx-proto'])
})
