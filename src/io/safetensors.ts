/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written as the
 * specification says. A pure codec: bytes in, bytes out, no `node:` imports, so the browser can
 * read and write the same files.
 *
 * Layout:
 *
 *   offset  size  field
 *   0       8     u64 little-endian N: the header's byte length
 *   8       N     header: UTF-8 JSON object, right-padded with spaces (0x20) so that 8 + N is a
 *                 multiple of 8 (the writer pads; the reader accepts any trailing whitespace)
 *   8+N     ..    the byte buffer: every tensor's elements, little-endian, row-major
 *
 *   header = { "<tensor name>": { "dtype": "F32", "shape": [G*H, X], "data_offsets": [begin, end] },
 *              ...,
 *              "__metadata__": { "<key>": "<string value>", ... } }      (optional, strings only)
 *
 * `data_offsets` are relative to the byte buffer's start; end - begin = product(shape) * the dtype's
 * size. The tensors tile the buffer: sorted by begin, each starts where the previous one ended, the
 * first at 0, the last ending at the end of the file (no holes, no overlap, nothing after).
 *
 * The writer stores F32 tensors, ordered by name (as the reference implementation orders tensors
 * of one dtype), and puts recur's own description of the model (architecture, vocabulary,
 * tokenizer) in `__metadata__` as JSON strings. The reader validates everything before it
 * allocates any tensor: the header length against the file and a 100 MB cap (the reference
 * implementation's), UTF-8, JSON, every entry's fields, known dtypes, sizes that match shapes,
 * offsets in bounds, non-overlapping and covering the buffer. Every refusal is a RecurError
 * 'FORMAT' naming the file and the problem.
 */

import { RecurError } from '../errors.js'
import { describeShape, describeValue, quoteName, shortName } from './describe.js'

/** The dtypes of the specification, with their element sizes in bytes. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
})

/** A dtype name the specification knows. */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES

/** The largest header the reader accepts (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000

/** Key of the metadata entry in the header. */
const METADATA_KEY = '__metadata__'

/** One tensor to write: F32 values in row-major order. */
export interface SafetensorsInput {
  name: string
  shape: readonly number[]
  data: Float32Array
}

/** One tensor as read: its dtype, shape and stored bytes (a copy, little-endian). */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype
  shape: number[]
  bytes: Uint8Array
}

export interface DecodedSafetensors {
  /** In the order of their data offsets. */
  tensors: Map<string, SafetensorsTensor>
  /** The header's `__metadata__` (empty when there is none). */
  metadata: Record<string, string>
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Reverses each `size`-byte group of `bytes` in place. */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse()
}

// ---------------------------------------------------------------------------------------------
// Encode

/**
 * The bytes of a safetensors file holding `tensors` (F32) and `metadata` (string values).
 * 'FORMAT' for an empty or duplicate name (or `__metadata__`), a metadata value that is not a string;
 * 'SHAPE' for a shape that does not match its data.
 */
export function encodeSafetensors(tensors: readonly SafetensorsInput[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const what = 'encodeSafetensors'
  const names = new Set<string>()
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name === '' || t.name === METADATA_KEY) {
      throw new RecurError('FORMAT', `${what}: invalid tensor name ${JSON.stringify(t.name)}`)
    }
    if (names.has(t.name)) throw new RecurError('FORMAT', `${what}: duplicate tensor name "${t.name}"`)
    names.add(t.name)
    if (!(t.data instanceof Float32Array)) throw new RecurError('FORMAT', `${what}: tensor "${t.name}": data must be a Float32Array`)
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RecurError('SHAPE', `${what}: tensor "${t.name}": shape must be non-negative integers, got [${t.shape.join(', ')}]`)
    }
    const elements = t.shape.reduce((a, b) => a * b, 1)
    if (elements !== t.data.length) {
      throw new RecurError('SHAPE', `${what}: tensor "${t.name}": shape [${t.shape.join(', ')}] holds ${elements} values but data has ${t.data.length}`)
    }
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new RecurError('FORMAT', `${what}: metadata "${key}" must be a string, got a ${typeof value}`)
  }
  const ordered = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata }
  let offset = 0
  for (const t of ordered) {
    const end = offset + t.data.length * 4
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, end] }
    offset = end
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8
  const out = new Uint8Array(8 + headerLength + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(headerLength), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + headerLength)
  let cursor = 8 + headerLength
  for (const t of ordered) {
    const target = out.subarray(cursor, cursor + t.data.byteLength)
    target.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)) // bytes, so NaN payloads survive
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes(target, 4)
    cursor += t.data.byteLength
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Decode

interface Entry {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  begin: number
  end: number
}

/**
 * Reads a safetensors file. Throws RecurError 'FORMAT' for anything the specification does not
 * allow, before allocating any tensor. `source` names the bytes in messages (e.g. the path).
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, source = 'safetensors file'): DecodedSafetensors {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes)
  const fail = (problem: string): never => {
    throw new RecurError('FORMAT', `${source}: ${problem}`, 'It is not a valid safetensors file')
  }
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, shorter than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const declared = view.getBigUint64(0, true)
  if (declared > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`the header length is ${declared} bytes, more than the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`)
  }
  const headerLength = Number(declared)
  if (headerLength < 2) fail(`the header length is ${headerLength} bytes, too short for a JSON object`)
  if (8 + headerLength > bytes.length) fail(`truncated: the header needs ${headerLength} bytes but the file has ${bytes.length - 8} after the length`)
  let text = ''
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength))
  } catch {
    fail('the header is not valid UTF-8')
  }
  if (!text.startsWith('{')) fail(`the header must start with '{', it starts with ${JSON.stringify(text.slice(0, 8))}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    fail(`the header is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (!isRecord(parsed)) return fail('the header is not a JSON object')
  const metadata: Record<string, string> = {}
  const entries: Entry[] = []
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      if (!isRecord(raw)) fail(`${METADATA_KEY} must be an object of strings`)
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`${METADATA_KEY}.${shortName(key)} must be a string, got ${describe(value)}`)
        metadata[key] = value as string
      }
      continue
    }
    entries.push(parseEntry(name, raw, fail))
  }
  const bufferLength = bytes.length - 8 - headerLength
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let cursor = 0
  let previous: Entry | undefined
  for (const e of entries) {
    if (e.begin < cursor) fail(`tensors ${quoteName(previous!.name)} (bytes ${previous!.begin}..${previous!.end}) and ${quoteName(e.name)} (bytes ${e.begin}..${e.end}) overlap`)
    if (e.begin > cursor) fail(`bytes ${cursor}..${e.begin} of the data belong to no tensor (a hole before ${quoteName(e.name)})`)
    if (e.end > bufferLength) fail(`truncated: tensor ${quoteName(e.name)} ends at data byte ${e.end} but the data has ${bufferLength} bytes`)
    cursor = e.end
    previous = e
  }
  if (cursor !== bufferLength) fail(`the tensors cover ${cursor} bytes of data but the file holds ${bufferLength} (${bufferLength - cursor} bytes belong to no tensor)`)
  const tensors = new Map<string, SafetensorsTensor>()
  const start = 8 + headerLength
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: bytes.slice(start + e.begin, start + e.end) })
  return { tensors, metadata }
}

function parseEntry(name: string, raw: unknown, fail: (problem: string) => never): Entry {
  const label = `tensor ${quoteName(name)}`
  if (!isRecord(raw)) return fail(`${label} must be an object { dtype, shape, data_offsets }, got ${describe(raw)}`)
  for (const key of Object.keys(raw)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`${label} has an unknown field ${quoteName(key)}`)
  }
  const { dtype, shape, data_offsets: offsets } = raw
  if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, dtype)) {
    fail(`${label} has unknown dtype ${describe(dtype)} (known: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`)
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail(`${label}: shape must be a list of non-negative integers, got ${describe(shape)}`)
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    fail(`${label}: data_offsets must be two non-negative integers [begin, end], got ${describe(offsets)}`)
  }
  const [begin, end] = offsets as [number, number]
  if (end < begin) fail(`${label}: data_offsets [${begin}, ${end}] end before they begin`)
  const size = SAFETENSORS_DTYPES[dtype as string]!
  let elements = 1
  for (const d of shape as number[]) {
    elements *= d
    if (elements * size > Number.MAX_SAFE_INTEGER) fail(`${label}: shape ${describeShape(shape as number[])} is too large for any file`)
  }
  if (end - begin !== elements * size) {
    fail(`${label}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${describeShape(shape as number[])} needs ${elements * size}`)
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end }
}

// ---------------------------------------------------------------------------------------------
// Values

/**
 * A tensor's values as float32: F32 exactly (bit for bit), F16 and BF16 exactly (widened), F64
 * rounded to nearest. Other dtypes are refused ('FORMAT'), naming the tensor.
 */
export function tensorToFloat32(tensor: SafetensorsTensor, name: string): Float32Array {
  const { dtype, bytes } = tensor
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.length / 4)
      const target = new Uint8Array(out.buffer)
      target.set(bytes)
      if (!HOST_IS_LITTLE_ENDIAN) swapBytes(target, 4)
      return out
    }
    case 'F64': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      return Float32Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(8 * i, true))
    }
    case 'F16':
    case 'BF16': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const out = new Float32Array(bytes.length / 2)
      const word = new Uint32Array(out.buffer)
      for (let i = 0; i < out.length; i++) {
        const h = view.getUint16(2 * i, true)
        if (dtype === 'BF16') word[i] = h << 16
        else out[i] = halfToFloat(h)
      }
      return out
    }
    default:
      throw new RecurError('FORMAT', `tensor ${quoteName(name)} has dtype ${dtype}; recur reads weights stored as F32, F16, BF16 or F64`)
  }
}

/** IEEE binary16 bits -> its value. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A value from the header for a message: arrays as their first elements (each described, never printed whole). */
function describe(value: unknown): string {
  return Array.isArray(value) ? describeShape(value) : describeValue(value)
}
