import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import type { RecurErrorCode } from '../../src/errors.js'
import { crc32, decodeModelFile, encodeModelFile, MODEL_FILE_MAGIC } from '../../src/io/model-format.js'
import type { ModelFileInput } from '../../src/io/model-format.js'

// ---------------------------------------------------------------------------------------------
// Helpers

/** Asserts that `run` throws a RecurError with `code` (and a message matching `pattern`). */
function assertRefused(run: () => unknown, code: RecurErrorCode, pattern?: RegExp): RecurError {
  let caught: unknown
  try {
    run()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RecurError, `expected a RecurError, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  if (pattern !== undefined) assert.match(caught.message, pattern)
  assert.ok(!caught.message.includes('\n'), 'messages are one line')
  return caught
}

/** The bit pattern of a typed array, so NaN payloads and -0 compare exactly. */
function bits(data: Float32Array | Int32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)]
}

function f32FromBits(patterns: number[]): Float32Array {
  const data = new Float32Array(patterns.length)
  new Uint32Array(data.buffer).set(patterns)
  return data
}

/** Builds a file by hand from the documented layout, with a valid CRC unless `crc` is given. */
function forge(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  options: { version?: number; headerText?: string; crc?: number } = {},
): Uint8Array {
  const headerBytes = new TextEncoder().encode(options.headerText ?? JSON.stringify(header))
  const dataStart = Math.ceil((20 + headerBytes.length) / 64) * 64
  const file = new Uint8Array(dataStart + data.length)
  const view = new DataView(file.buffer)
  file.set(MODEL_FILE_MAGIC, 0)
  view.setUint32(8, options.version ?? 1, true)
  view.setUint32(12, headerBytes.length, true)
  file.set(headerBytes, 20)
  file.set(data, dataStart)
  view.setUint32(16, options.crc ?? crc32(file.subarray(20)), true)
  return file
}

function forgeHeader(tensors: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 'recur-model', formatVersion: 1, kind: 'language-model', meta: null, tensors, ...extra }
}

/** A small model with special f32 values, i32 extremes, a scalar and a zero-size tensor. */
function sampleModel(): ModelFileInput {
  return {
    kind: 'language-model',
    meta: {
      architecture: { cell: 'lstm', layers: 2, hidden: 3 },
      vocabulary: ['a', 'b', '\u00e9', '\ud83d\ude00', '\n', '"'],
      training: { step: 17, learningRate: 0.002, seed: null, done: false },
    },
    tensors: [
      {
        name: 'special',
        shape: [2, 4],
        data: f32FromBits([
          0x80000000, // -0
          0x00000001, // smallest denormal
          0x007fffff, // largest denormal
          0x7f800000, // +Infinity
          0xff800000, // -Infinity
          0x7fc00001, // quiet NaN with a payload
          0x7f800001, // signalling NaN
          0xffc12345, // negative NaN with a payload
        ]),
      },
      { name: 'ids', shape: [5], data: new Int32Array([0, -1, 2147483647, -2147483648, 42]) },
      { name: 'scalar', shape: [], data: new Float32Array([3.5]) },
      { name: 'empty', shape: [0, 7], data: new Float32Array(0) },
      { name: 'weights', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.fround(i / 7 - 1)) },
    ],
  }
}

function assertSameModel(decoded: ReturnType<typeof decodeModelFile>, model: ModelFileInput): void {
  assert.equal(decoded.kind, model.kind)
  assert.deepEqual(decoded.meta, model.meta)
  assert.deepEqual([...decoded.tensors.keys()], model.tensors.map((t) => t.name))
  for (const tensor of model.tensors) {
    const got = decoded.tensors.get(tensor.name)
    assert.ok(got !== undefined)
    assert.deepEqual(got.shape, [...tensor.shape])
    assert.equal(got.data.constructor, tensor.data.constructor, `${tensor.name} keeps its dtype`)
    assert.deepEqual(bits(got.data), bits(tensor.data), `${tensor.name} is bit-exact`)
  }
}

// ---------------------------------------------------------------------------------------------

describe('crc32', () => {
  test('matches the IEEE check value', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926)
    assert.equal(crc32(new Uint8Array(0)), 0)
  })
})

describe('model file round trip', () => {
  test('tensors are bit-exact (-0, denormals, infinities, NaN payloads, i32 extremes) and meta survives', () => {
    const model = sampleModel()
    assertSameModel(decodeModelFile(encodeModelFile(model)), model)
  })

  test('the bytes follow the documented layout', () => {
    const model = sampleModel()
    const file = encodeModelFile(model)
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
    assert.deepEqual([...file.subarray(0, 8)], [0x52, 0x45, 0x43, 0x55, 0x52, 0x00, 0x4d, 0x46])
    assert.equal(view.getUint32(8, true), 1)
    const headerLength = view.getUint32(12, true)
    assert.equal(view.getUint32(16, true), crc32(file.subarray(20)))
    const header = JSON.parse(new TextDecoder().decode(file.subarray(20, 20 + headerLength))) as {
      format: string
      formatVersion: number
      kind: string
      tensors: Array<{ name: string; dtype: string; shape: number[]; offset: number; byteLength: number }>
    }
    assert.equal(header.format, 'recur-model')
    assert.equal(header.formatVersion, 1)
    assert.equal(header.kind, 'language-model')
    const dataStart = Math.ceil((20 + headerLength) / 64) * 64
    assert.ok(file.subarray(20 + headerLength, dataStart).every((b) => b === 0), 'header padding is zero')
    assert.equal(file.length % 64, 0)
    assert.deepEqual(header.tensors.map((t) => t.dtype), ['f32', 'i32', 'f32', 'f32', 'f32'])
    for (const [index, entry] of header.tensors.entries()) {
      assert.equal(entry.offset % 64, 0)
      const source = model.tensors[index]!.data
      assert.equal(entry.byteLength, source.length * 4)
      for (let i = 0; i < source.length; i++) {
        // Little-endian on disk whatever the host: compare through DataView.
        const at = dataStart + entry.offset + 4 * i
        const expected = new Uint32Array(source.buffer, source.byteOffset, source.length)[i]
        assert.equal(view.getUint32(at, true), expected)
      }
    }
  })

  test('an empty tensor list and null meta', () => {
    const model: ModelFileInput = { kind: 'classifier', meta: null, tensors: [] }
    const file = encodeModelFile(model)
    assert.equal(file.length % 64, 0)
    const decoded = decodeModelFile(file)
    assert.equal(decoded.kind, 'classifier')
    assert.equal(decoded.meta, null)
    assert.equal(decoded.tensors.size, 0)
  })

  test('zero-size tensors, also as the only and as the last tensor', () => {
    for (const tensors of [
      [{ name: 'nothing', shape: [0], data: new Int32Array(0) }],
      [
        { name: 'a', shape: [3], data: new Float32Array([1, 2, 3]) },
        { name: 'b', shape: [4, 0, 2], data: new Float32Array(0) },
      ],
    ]) {
      const model: ModelFileInput = { kind: 'tagger', meta: [1, 'two', { three: 3 }], tensors }
      assertSameModel(decodeModelFile(encodeModelFile(model)), model)
    }
  })

  test('results are fresh aligned arrays that do not alias the input', () => {
    const model = sampleModel()
    const file = encodeModelFile(model)
    // Place the file at an odd offset of a larger buffer: the decoder must not need alignment.
    const shifted = new Uint8Array(file.length + 3)
    shifted.set(file, 3)
    const bytes = shifted.subarray(3)
    const decoded = decodeModelFile(bytes)
    assertSameModel(decoded, model)
    for (const { data } of decoded.tensors.values()) {
      assert.notEqual(data.buffer, shifted.buffer)
      assert.equal(data.byteOffset, 0)
    }
    bytes.fill(0xff)
    assertSameModel(decoded, model)
  })

  test('encoding reads views at any offset and accepts an ArrayBuffer on decode', () => {
    const backing = new Float32Array([9, 8, 7, 6, 5])
    const model: ModelFileInput = { kind: 'seq2seq', meta: {}, tensors: [{ name: 'view', shape: [3], data: backing.subarray(1, 4) }] }
    const file = encodeModelFile(model)
    const decoded = decodeModelFile(file.slice().buffer)
    assert.deepEqual([...decoded.tensors.get('view')!.data], [8, 7, 6])
  })

  test('encoding the same model twice gives the same bytes', () => {
    assert.deepEqual(encodeModelFile(sampleModel()), encodeModelFile(sampleModel()))
  })
})

describe('encodeModelFile refuses what it cannot write exactly', () => {
  const tensor = { name: 'w', shape: [2], data: new Float32Array(2) }
  test('shape problems are SHAPE errors', () => {
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [{ ...tensor, shape: [3] }] }), 'SHAPE', /holds 3 values but data has 2/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [{ ...tensor, shape: [-2] }] }), 'SHAPE')
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [{ ...tensor, shape: [1.5] }] }), 'SHAPE')
  })
  test('names, kinds, data types and meta are FORMAT errors', () => {
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [tensor, tensor] }), 'FORMAT', /duplicate tensor name "w"/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [{ ...tensor, name: '' }] }), 'FORMAT')
    assertRefused(() => encodeModelFile({ kind: '', meta: null, tensors: [] }), 'FORMAT', /kind/)
    const float64 = { name: 'w', shape: [2], data: new Float64Array(2) as unknown as Float32Array }
    assertRefused(() => encodeModelFile({ kind: 'k', meta: null, tensors: [float64] }), 'FORMAT', /Float64Array/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: { lr: NaN }, tensors: [] }), 'FORMAT', /meta\.lr is NaN/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: undefined, tensors: [] }), 'FORMAT', /use null/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: { when: new Date(0) }, tensors: [] }), 'FORMAT', /Date/)
    assertRefused(() => encodeModelFile({ kind: 'k', meta: { f: () => 1 }, tensors: [] }), 'FORMAT', /function/)
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    assertRefused(() => encodeModelFile({ kind: 'k', meta: cycle, tensors: [] }), 'FORMAT', /cycle/)
  })
})

describe('decodeModelFile refuses damaged files', () => {
  const small: ModelFileInput = {
    kind: 'language-model',
    meta: { vocabulary: 'ab' },
    tensors: [
      { name: 'w', shape: [2, 3], data: new Float32Array([1, -2, 3, -4, 5, -6]) },
      { name: 'ids', shape: [2], data: new Int32Array([7, 8]) },
    ],
  }
  const file = encodeModelFile(small)

  test('every truncation is a FORMAT error', () => {
    for (let length = 0; length < file.length; length++) {
      assertRefused(() => decodeModelFile(file.slice(0, length)), 'FORMAT')
    }
    assertRefused(() => decodeModelFile(new Uint8Array(0)), 'FORMAT', /empty/)
    assertRefused(() => decodeModelFile(file.slice(0, 12)), 'FORMAT', /truncated/)
    assertRefused(() => decodeModelFile(file.slice(0, file.length - 64)), 'FORMAT', /truncated: expected/)
  })

  test('every single bit flip is refused with a RecurError', () => {
    for (let bit = 0; bit < file.length * 8; bit++) {
      const damaged = file.slice()
      damaged[bit >> 3]! ^= 1 << (bit & 7)
      let caught: unknown
      try {
        decodeModelFile(damaged)
      } catch (error) {
        caught = error
      }
      assert.ok(caught instanceof RecurError, `bit ${bit}: expected a RecurError, got ${String(caught)}`)
      assert.ok(caught.code === 'FORMAT' || caught.code === 'VERSION', `bit ${bit}: ${caught.code}`)
      if (bit >= 20 * 8) assert.match(caught.message, /corrupt \(checksum mismatch/, `bit ${bit}`)
    }
  })

  test('extra bytes after the data are refused', () => {
    const longer = new Uint8Array(file.length + 64)
    longer.set(file)
    assertRefused(() => decodeModelFile(longer), 'FORMAT')
  })

  test('a file that is not a recur model says so', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1])
    assertRefused(() => decodeModelFile(png), 'FORMAT', /not a recur model file/)
    assertRefused(() => decodeModelFile(new TextEncoder().encode('{"weights": [1, 2, 3]}')), 'FORMAT', /not a recur model file/)
    assertRefused(() => decodeModelFile(new TextEncoder().encode('X')), 'FORMAT', /not a recur model file/)
    assertRefused(() => decodeModelFile('RECUR' as unknown as Uint8Array), 'FORMAT', /expected bytes/)
  })

  test('a newer format version asks to upgrade recur', () => {
    const future = file.slice()
    new DataView(future.buffer).setUint32(8, 2, true)
    assertRefused(() => decodeModelFile(future), 'VERSION', /format version 2 .*newer recur.*Upgrade recur/)
    assertRefused(() => decodeModelFile(forge({ anything: 'goes' }, undefined, { version: 7 })), 'VERSION', /Upgrade recur/)
    const zero = file.slice()
    new DataView(zero.buffer).setUint32(8, 0, true)
    assertRefused(() => decodeModelFile(zero), 'FORMAT', /version 0/)
  })

  test('another kind is a VERSION error naming both kinds', () => {
    const error = assertRefused(() => decodeModelFile(file, { expectKind: 'classifier' }), 'VERSION')
    assert.match(error.message, /language-model/)
    assert.match(error.message, /classifier/)
    assert.equal(decodeModelFile(file, { expectKind: 'language-model' }).kind, 'language-model')
  })

  test('messages name the source when given', () => {
    const damaged = file.slice()
    damaged[file.length - 1]! ^= 0x10
    assertRefused(() => decodeModelFile(damaged, { source: 'out/lm.recur' }), 'FORMAT', /^model file out\/lm\.recur: corrupt \(checksum mismatch/)
  })
})

describe('decodeModelFile refuses forged headers (valid checksum)', () => {
  const f32 = (name: string, shape: number[], offset: number, byteLength = shape.reduce((a, b) => a * b, 1) * 4) => ({
    name,
    dtype: 'f32',
    shape,
    offset,
    byteLength,
  })
  const data128 = new Uint8Array(128)

  test('the forging helper makes files the decoder accepts', () => {
    const payload = new Uint8Array(128)
    new DataView(payload.buffer).setFloat32(64, 1.5, true)
    const decoded = decodeModelFile(forge(forgeHeader([f32('a', [4], 0), f32('b', [16], 64)]), payload))
    assert.equal(decoded.tensors.get('b')!.data[0], 1.5)
  })

  test('huge dimensions are refused without allocating', () => {
    // 10^12 elements: the file would need 4 TB; refused by comparing with the file's length.
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('huge', [1_000_000, 1_000_000], 0)]), data128)), 'FORMAT', /truncated/)
    // A product past 2^53 cannot even be counted exactly.
    assertRefused(
      () => decodeModelFile(forge(forgeHeader([f32('huger', [2 ** 30, 2 ** 30, 2 ** 30], 0, 4)]), data128)),
      'FORMAT',
      /more elements than any file can hold/,
    )
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('far', [4], 2 ** 50)]), data128)), 'FORMAT', /truncated/)
  })

  test('overlapping, misaligned and out-of-bounds tensors', () => {
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [32], 0), f32('b', [4], 64)]), data128)), 'FORMAT', /overlap/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [4], 64), f32('b', [4], 64)]), data128)), 'FORMAT', /overlap/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [4], 4)]), data128)), 'FORMAT', /not a multiple of 64/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [64], 0)]), data128)), 'FORMAT', /truncated/)
  })

  test('byteLength, dtype, names and shape entries', () => {
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [4], 0, 12)]), data128)), 'FORMAT', /byteLength 12 does not match/)
    const f16 = { ...f32('a', [4], 0), dtype: 'f16' }
    assertRefused(() => decodeModelFile(forge(forgeHeader([f16]), data128)), 'FORMAT', /unknown dtype "f16"/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [4], 0), f32('a', [4], 64)]), data128)), 'FORMAT', /duplicate tensor name "a"/)
    for (const shape of [[-1], [1.5], ['4'], [null], [NaN]]) {
      const entry = { ...f32('a', [4], 0), shape }
      assertRefused(() => decodeModelFile(forge(forgeHeader([entry]), data128)), 'FORMAT', /shape/)
    }
    assertRefused(() => decodeModelFile(forge(forgeHeader([{ ...f32('a', [4], 0), shape: 4 }]), data128)), 'FORMAT', /shape must be an array/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([{ ...f32('a', [4], 0), offset: '0' }]), data128)), 'FORMAT', /offset/)
    assertRefused(() => decodeModelFile(forge(forgeHeader([{ ...f32('a', [4], 0), name: 7 }]), data128)), 'FORMAT', /name/)
  })

  test('header schema: fields, types and values', () => {
    const entry = f32('a', [4], 0)
    const cases: Array<[unknown, RegExp]> = [
      [[], /expected a JSON object/],
      [null, /expected a JSON object/],
      [forgeHeader([entry], { format: 'safetensors' }), /format is "safetensors"/],
      [forgeHeader([entry], { formatVersion: 2 }), /formatVersion is 2 but the prefix says 1/],
      [forgeHeader([entry], { kind: 5 }), /kind must be a non-empty string/],
      [forgeHeader([entry], { tensors: {} }), /tensors must be an array/],
      [forgeHeader([entry], { extra: true }), /unknown field "extra"/],
      [{ format: 'recur-model', formatVersion: 1, kind: 'k', tensors: [entry] }, /no "meta" field/],
      [forgeHeader([{ ...entry, note: 'x' }]), /unknown field "note"/],
      [forgeHeader(['a']), /tensors\[0\] must be an object/],
    ]
    for (const [header, pattern] of cases) {
      assertRefused(() => decodeModelFile(forge(header, data128)), 'FORMAT', pattern)
    }
  })

  test('invalid JSON, invalid UTF-8, non-zero padding', () => {
    assertRefused(() => decodeModelFile(forge(null, data128, { headerText: '{"format": "recur-model",' })), 'FORMAT', /not valid JSON/)
    const badUtf8 = forge(forgeHeader([]))
    badUtf8[21] = 0xff // inside the header text
    new DataView(badUtf8.buffer).setUint32(16, crc32(badUtf8.subarray(20)), true)
    assertRefused(() => decodeModelFile(badUtf8), 'FORMAT', /UTF-8/)
    const headerPadding = forge(forgeHeader([]))
    headerPadding[headerPadding.length - 1] = 1
    new DataView(headerPadding.buffer).setUint32(16, crc32(headerPadding.subarray(20)), true)
    assertRefused(() => decodeModelFile(headerPadding), 'FORMAT', /padding/)
    const gap = new Uint8Array(64)
    gap[40] = 1 // after the 16 bytes of tensor "a", before the end of the 64-byte data section
    assertRefused(() => decodeModelFile(forge(forgeHeader([f32('a', [4], 0)]), gap)), 'FORMAT', /padding/)
  })
})
