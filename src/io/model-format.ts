/**
 * recur's model file: one self-describing binary file per model. This module is the pure codec
 * (bytes in, bytes out, no `node:` imports) so the browser can read and write the same files;
 * `model-file.ts` adds the Node file layer (atomic save, load with file-naming errors).
 *
 * Layout (all integers little-endian, offsets in bytes):
 *
 *   offset  size  field
 *   0       8     magic "RECUR\x00MF" (52 45 43 55 52 00 4D 46)
 *   8       4     u32 format version (1)
 *   12      4     u32 header byte length H (the UTF-8 JSON below, without padding)
 *   16      4     u32 CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) of every byte from 20 to the end
 *   20      H     header: UTF-8 JSON, see below
 *   20+H    ..    zero padding up to D = the next multiple of 64 (the data section's start)
 *   D       ..    tensor data: each tensor at D + offset, offset a multiple of 64, its elements
 *                 little-endian (f32: IEEE binary32, i32: two's complement), zero padding between
 *                 tensors; the data section is zero-padded to a multiple of 64 bytes, so the file's
 *                 length is D + ceil64(max(offset + byteLength)) and always a multiple of 64.
 *
 * Header (no other fields are allowed, in the header or in a tensor entry):
 *
 *   { "format": "recur-model", "formatVersion": 1, "kind": "language-model",
 *     "meta": <any JSON: architecture, vocabulary, tokenizer, training state; opaque here>,
 *     "tensors": [{ "name": "embedding.weight", "dtype": "f32", "shape": [V, X],
 *                   "offset": 0, "byteLength": 4*V*X }, ...] }
 *
 * `offset` is relative to the data section D, so the header does not depend on its own length.
 * The CRC covers the header, the padding and the data; the version and header length in the prefix
 * are not covered (they must be readable before the CRC scheme is known) but are checked against
 * the rest of the file. Decoding checks everything (magic, version, lengths, CRC, JSON, the schema
 * of every field, alignment, bounds, overlap, padding, the expected kind) before it allocates any
 * tensor, so a forged header that declares a 10^12-element tensor is refused without allocating.
 */

import { RecurError } from '../errors.js'
import { describeShape, quoteName } from './describe.js'

/** The 8 bytes every recur model file starts with: "RECUR\x00MF". */
export const MODEL_FILE_MAGIC: Uint8Array = new Uint8Array([0x52, 0x45, 0x43, 0x55, 0x52, 0x00, 0x4d, 0x46])
/** The format version this build writes and the newest it reads. */
export const MODEL_FORMAT_VERSION = 1
/** magic (8) + version (4) + header length (4) + CRC-32 (4). */
const PREFIX_BYTES = 20
/** Alignment of the data section and of every tensor in it. */
const ALIGN = 64
/** Every dtype has 4-byte elements. */
const ELEMENT_BYTES = 4
const FORMAT_NAME = 'recur-model'

/** JSON as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export type TensorDtype = 'f32' | 'i32'
export type TensorData = Float32Array | Int32Array

/** One named tensor to save; `data` holds product(shape) elements in row-major order. */
export interface ModelTensor {
  name: string
  shape: readonly number[]
  data: TensorData
}

/** What `encodeModelFile` writes. */
export interface ModelFileInput {
  /** What the model is, e.g. 'language-model'; a loader refuses files of another kind. */
  kind: string
  /** Plain JSON (null, booleans, finite numbers, strings, arrays, plain objects); opaque here. */
  meta: unknown
  /** Written in this order; names must be unique. */
  tensors: readonly ModelTensor[]
}

/** What `decodeModelFile` returns. Tensor data are fresh arrays that never alias the input. */
export interface DecodedModelFile {
  kind: string
  meta: JsonValue
  /** In file order. */
  tensors: Map<string, { shape: number[]; data: TensorData }>
}

export interface DecodeOptions {
  /** Refuse (code 'VERSION') a file whose kind differs, e.g. a classifier loaded as a language model. */
  expectKind?: string | undefined
  /** Names the bytes in error messages, e.g. the file's path. Default: none ("model file: ..."). */
  source?: string | undefined
}

/** One entry of the header's `tensors` array, as validated. */
interface TensorEntry {
  name: string
  dtype: TensorDtype
  shape: number[]
  offset: number
  byteLength: number
}

interface Header {
  kind: string
  meta: JsonValue
  tensors: TensorEntry[]
  /** ceil64(max(offset + byteLength)): the data section's length the header implies. */
  dataLength: number
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), table-driven, one byte per step

const CRC_TABLE: Uint32Array = makeCrcTable()

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/** CRC-32 (IEEE 802.3, as in zlib and PNG) of `bytes`; crc32("123456789") = 0xCBF43926. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

// ---------------------------------------------------------------------------------------------
// Byte order: tensor bytes are copied as bytes (so NaN payloads survive) and swapped on big-endian hosts

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Reverses each 4-byte group of `bytes` in place (its length is a multiple of 4). */
function swapBytes32(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const b0 = bytes[i]!
    const b1 = bytes[i + 1]!
    bytes[i] = bytes[i + 3]!
    bytes[i + 1] = bytes[i + 2]!
    bytes[i + 2] = b1
    bytes[i + 3] = b0
  }
}

function ceil64(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN
}

function dtypeOf(data: TensorData): TensorDtype {
  return data instanceof Float32Array ? 'f32' : 'i32'
}

// ---------------------------------------------------------------------------------------------
// Encode

/**
 * Encodes a model into the bytes of one model file (layout at the top of this file). Refuses input
 * it cannot represent exactly: 'SHAPE' when a shape is not a list of non-negative integers or does
 * not match its data's length; 'FORMAT' for an empty kind or name, a duplicate name, data that is
 * not a Float32Array or Int32Array, or meta that is not plain JSON (NaN, undefined, a Date, a cycle).
 */
export function encodeModelFile(model: ModelFileInput): Uint8Array {
  const what = 'encodeModelFile'
  if (typeof model !== 'object' || model === null) {
    throw new RecurError('FORMAT', `${what}: expected { kind, meta, tensors }, got ${describe(model)}`)
  }
  const { kind, meta, tensors } = model
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new RecurError('FORMAT', `${what}: kind must be a non-empty string, got ${describe(kind)}`)
  }
  checkPlainJson(what, meta, 'meta', new Set())
  if (!Array.isArray(tensors)) {
    throw new RecurError('FORMAT', `${what}: tensors must be an array, got ${describe(tensors)}`)
  }

  const entries: TensorEntry[] = []
  const names = new Set<string>()
  let cursor = 0 // next free aligned offset in the data section
  let dataEnd = 0
  for (const [index, tensor] of (tensors as readonly ModelTensor[]).entries()) {
    const at = `${what}: tensors[${index}]`
    if (typeof tensor !== 'object' || tensor === null) {
      throw new RecurError('FORMAT', `${at} must be { name, shape, data }, got ${describe(tensor)}`)
    }
    const { name, shape, data } = tensor
    if (typeof name !== 'string' || name.length === 0) {
      throw new RecurError('FORMAT', `${at}: name must be a non-empty string, got ${describe(name)}`)
    }
    if (names.has(name)) {
      throw new RecurError('FORMAT', `${at}: duplicate tensor name "${name}"`, 'Give every tensor its own name')
    }
    names.add(name)
    if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) {
      throw new RecurError('FORMAT', `${at} "${name}": data must be a Float32Array or Int32Array, got ${describe(data)}`)
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RecurError('SHAPE', `${at} "${name}": shape must be a list of non-negative integers, got ${describe(shape)}`)
    }
    const elements = shape.reduce((product: number, d: number) => product * d, 1)
    if (elements !== data.length) {
      throw new RecurError(
        'SHAPE',
        `${at} "${name}": shape [${shape.join(', ')}] holds ${elements} values but data has ${data.length}`,
      )
    }
    const byteLength = elements * ELEMENT_BYTES
    entries.push({ name, dtype: dtypeOf(data), shape: [...shape], offset: cursor, byteLength })
    dataEnd = cursor + byteLength
    cursor = ceil64(dataEnd)
  }
  const dataLength = ceil64(dataEnd)

  const headerJson = JSON.stringify({
    format: FORMAT_NAME,
    formatVersion: MODEL_FORMAT_VERSION,
    kind,
    meta,
    tensors: entries,
  })
  const header = new TextEncoder().encode(headerJson)
  if (header.length > 0xffffffff) {
    throw new RecurError('FORMAT', `${what}: header is ${header.length} bytes, more than the format's 4 GiB limit`, 'Store less in meta')
  }
  const dataStart = ceil64(PREFIX_BYTES + header.length)
  const total = dataStart + dataLength

  let out: Uint8Array
  try {
    out = new Uint8Array(total) // zero-filled: all padding is zero
  } catch {
    throw new RecurError('FORMAT', `${what}: a ${total}-byte model file is larger than this JavaScript engine can hold in one buffer`)
  }
  const view = new DataView(out.buffer)
  out.set(MODEL_FILE_MAGIC, 0)
  view.setUint32(8, MODEL_FORMAT_VERSION, true)
  view.setUint32(12, header.length, true)
  out.set(header, PREFIX_BYTES)
  for (const [index, entry] of entries.entries()) {
    const data = tensors[index]!.data
    const target = out.subarray(dataStart + entry.offset, dataStart + entry.offset + entry.byteLength)
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes32(target)
  }
  view.setUint32(16, crc32(out.subarray(PREFIX_BYTES)), true)
  return out
}

/** Throws 'FORMAT' unless `value` is plain JSON that survives JSON.stringify/parse unchanged. */
function checkPlainJson(what: string, value: unknown, path: string, ancestors: Set<object>): void {
  const refuse = (problem: string): never => {
    throw new RecurError(
      'FORMAT',
      `${what}: ${path} ${problem}`,
      'Meta must be plain JSON (null, booleans, finite numbers, strings, arrays, plain objects)',
    )
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) refuse(`is ${value}, which JSON cannot hold`)
      return
    case 'object': {
      if (value === null) return
      if (ancestors.has(value)) refuse('refers to itself (a cycle)')
      const prototype: unknown = Object.getPrototypeOf(value)
      const isArray = Array.isArray(value)
      if (!isArray && prototype !== Object.prototype && prototype !== null) {
        refuse(`is a ${value.constructor?.name ?? 'non-plain object'}, not a plain object`)
      }
      ancestors.add(value)
      if (isArray) {
        for (let i = 0; i < value.length; i++) checkPlainJson(what, value[i], `${path}[${i}]`, ancestors)
      } else {
        for (const key of Object.keys(value)) {
          checkPlainJson(what, (value as Record<string, unknown>)[key], `${path}.${key}`, ancestors)
        }
      }
      ancestors.delete(value)
      return
    }
    default:
      refuse(`is ${value === undefined ? 'undefined' : `a ${typeof value}`}${path === 'meta' ? ' (use null for no metadata)' : ''}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Decode

/**
 * Decodes the bytes of one model file, refusing anything malformed with a RecurError:
 * 'FORMAT' for bytes that are not a recur model, truncated, corrupt (checksum mismatch) or with an
 * invalid header; 'VERSION' for a file of a newer format version or (with `expectKind`) of another
 * kind. Everything is checked before any tensor is allocated; tensor data are copied into fresh,
 * aligned typed arrays.
 */
export function decodeModelFile(bytes: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodedModelFile {
  const what = options.source === undefined ? 'model file' : `model file ${options.source}`
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes)
  if (!(bytes instanceof Uint8Array)) {
    throw new RecurError('FORMAT', `${what}: expected bytes (a Uint8Array or ArrayBuffer), got ${describe(bytes)}`)
  }
  const fail = (problem: string, hint?: string): never => {
    throw new RecurError('FORMAT', `${what}: ${problem}`, hint)
  }
  const length = bytes.length

  // 1. Magic.
  const magicSeen = Math.min(length, MODEL_FILE_MAGIC.length)
  let magicMatches = true
  for (let i = 0; i < magicSeen; i++) if (bytes[i] !== MODEL_FILE_MAGIC[i]) magicMatches = false
  if (!magicMatches) {
    const start = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    fail(`not a recur model file (it starts with ${start}, a recur model starts with 52 45 43 55 52 00 4d 46 "RECUR\\0MF")`,
      'Give the path of a file saved by recur')
  }
  if (length === 0) fail('empty (0 bytes)', 'Save the model again')
  if (length < PREFIX_BYTES) fail(`truncated: ${length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`, 'Save the model again')

  // 2. Version.
  const view = new DataView(bytes.buffer, bytes.byteOffset, length)
  const version = view.getUint32(8, true)
  if (version > MODEL_FORMAT_VERSION) {
    throw new RecurError(
      'VERSION',
      `${what}: format version ${version} was written by a newer recur; this recur reads version ${MODEL_FORMAT_VERSION}`,
      'Upgrade recur to load it',
    )
  }
  if (version < 1) fail(`format version ${version} does not exist (corrupt prefix)`)

  // 3. Header length within the file.
  const headerLength = view.getUint32(12, true)
  const dataStart = ceil64(PREFIX_BYTES + headerLength)
  if (headerLength === 0) fail('header length is 0 (corrupt prefix)')
  if (dataStart > length) {
    fail(`truncated or corrupt: the prefix declares a ${headerLength}-byte header but the file has ${length} bytes`,
      'Save the model again')
  }

  // 4. Checksum. On a mismatch, say "truncated" when the header (read for diagnosis only) asks for more bytes.
  const storedCrc = view.getUint32(16, true)
  const actualCrc = crc32(bytes.subarray(PREFIX_BYTES))
  if (storedCrc !== actualCrc) {
    let expectedLength: number | undefined
    try {
      expectedLength = dataStart + parseHeader(bytes, headerLength, what).dataLength
    } catch {
      expectedLength = undefined
    }
    if (expectedLength !== undefined && expectedLength > length) {
      fail(`truncated: expected ${expectedLength} bytes, the file has ${length}`, 'The save or copy was interrupted; save the model again')
    }
    fail(`corrupt (checksum mismatch: stored ${hex32(storedCrc)}, computed ${hex32(actualCrc)})`,
      'The file was damaged after it was written; save the model again or restore a copy')
  }

  // 5. Header padding, JSON, schema.
  for (let i = PREFIX_BYTES + headerLength; i < dataStart; i++) {
    if (bytes[i] !== 0) fail(`non-zero byte in the header padding at offset ${i}`)
  }
  const header = parseHeader(bytes, headerLength, what)

  // 6. Sizes against the actual file length, before allocating.
  const expectedLength = dataStart + header.dataLength
  if (expectedLength > length) {
    fail(`truncated: the header declares tensors up to byte ${expectedLength} but the file has ${length} bytes`)
  }
  if (expectedLength < length) fail(`${length - expectedLength} unexpected bytes after the tensor data`)
  checkGapsAreZero(bytes, dataStart, header, fail)

  // 7. Kind.
  if (options.expectKind !== undefined && header.kind !== options.expectKind) {
    throw new RecurError(
      'VERSION',
      `${what}: holds a model of kind ${quoteName(header.kind)}, expected kind "${options.expectKind}"`,
      `Give the path of a "${options.expectKind}" model, or load this one as a ${quoteName(header.kind)} model`,
    )
  }

  // 8. Copy out.
  const tensors = new Map<string, { shape: number[]; data: TensorData }>()
  for (const entry of header.tensors) {
    const elements = entry.byteLength / ELEMENT_BYTES
    const data = entry.dtype === 'f32' ? new Float32Array(elements) : new Int32Array(elements)
    const target = new Uint8Array(data.buffer)
    const start = dataStart + entry.offset
    target.set(bytes.subarray(start, start + entry.byteLength))
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes32(target)
    tensors.set(entry.name, { shape: entry.shape, data })
  }
  return { kind: header.kind, meta: header.meta, tensors }
}

/** Parses and validates the JSON header; checks everything except the file's length. */
function parseHeader(bytes: Uint8Array, headerLength: number, what: string): Header {
  const fail = (problem: string): never => {
    throw new RecurError('FORMAT', `${what}: invalid header: ${problem}`)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength),
    )
  } catch {
    return fail('not valid UTF-8')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (!isRecord(parsed)) return fail(`expected a JSON object, got ${describe(parsed)}`)
  checkKeys(parsed, ['format', 'formatVersion', 'kind', 'meta', 'tensors'], 'the header', fail)
  if (parsed.format !== FORMAT_NAME) fail(`format is ${describe(parsed.format)}, expected "${FORMAT_NAME}"`)
  if (parsed.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(`formatVersion is ${describe(parsed.formatVersion)} but the prefix says ${MODEL_FORMAT_VERSION}`)
  }
  const kind = parsed.kind
  if (typeof kind !== 'string' || kind.length === 0) return fail(`kind must be a non-empty string, got ${describe(kind)}`)
  const rawTensors = parsed.tensors
  if (!Array.isArray(rawTensors)) return fail(`tensors must be an array, got ${describe(rawTensors)}`)

  const tensors: TensorEntry[] = []
  const names = new Set<string>()
  for (const [index, raw] of (rawTensors as unknown[]).entries()) {
    const at = `tensors[${index}]`
    if (!isRecord(raw)) return fail(`${at} must be an object, got ${describe(raw)}`)
    checkKeys(raw, ['name', 'dtype', 'shape', 'offset', 'byteLength'], at, fail)
    const { name, dtype, shape, offset, byteLength } = raw
    if (typeof name !== 'string' || name.length === 0) return fail(`${at}.name must be a non-empty string, got ${describe(name)}`)
    const label = `tensor ${quoteName(name)}`
    if (names.has(name)) fail(`duplicate tensor name ${quoteName(name)}`)
    names.add(name)
    if (dtype !== 'f32' && dtype !== 'i32') return fail(`${label} has unknown dtype ${describe(dtype)} (known: "f32", "i32")`)
    if (!Array.isArray(shape)) return fail(`${label}: shape must be an array, got ${describe(shape)}`)
    // Count elements without overflowing: stop as soon as the count passes what a file could hold.
    let elements = 1
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        return fail(`${label}: shape entries must be non-negative integers, got ${describe(d)}`)
      }
    }
    if (!(shape as number[]).includes(0)) {
      for (const d of shape as number[]) {
        elements *= d
        if (elements * ELEMENT_BYTES > Number.MAX_SAFE_INTEGER) {
          return fail(`${label}: shape ${describeShape(shape)} declares more elements than any file can hold`)
        }
      }
    } else {
      elements = 0
    }
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      return fail(`${label}: offset must be a non-negative integer, got ${describe(offset)}`)
    }
    if (offset % ALIGN !== 0) fail(`${label}: offset ${offset} is not a multiple of ${ALIGN}`)
    if (typeof byteLength !== 'number' || !Number.isSafeInteger(byteLength) || byteLength < 0) {
      return fail(`${label}: byteLength must be a non-negative integer, got ${describe(byteLength)}`)
    }
    if (byteLength !== elements * ELEMENT_BYTES) {
      const expected = `${elements} x ${ELEMENT_BYTES} = ${elements * ELEMENT_BYTES} bytes`
      fail(`${label}: byteLength ${byteLength} does not match shape ${describeShape(shape)} (${expected})`)
    }
    if (offset + byteLength > Number.MAX_SAFE_INTEGER) fail(`${label}: offset + byteLength is too large`)
    tensors.push({ name, dtype, shape: [...(shape as number[])], offset, byteLength })
  }

  // Non-overlapping: sorted by offset, each non-empty tensor starts at or after the end of the ones before it.
  const byOffset = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset)
  let end = 0
  let previous: TensorEntry | undefined
  for (const t of byOffset) {
    if (previous !== undefined && t.offset < end) {
      fail(`tensors ${quoteName(previous.name)} (bytes ${previous.offset}..${end}) and ${quoteName(t.name)} (from ${t.offset}) overlap`)
    }
    end = t.offset + t.byteLength
    previous = t
  }
  const dataEnd = tensors.reduce((max, t) => Math.max(max, t.offset + t.byteLength), 0)
  return { kind, meta: parsed.meta as JsonValue, tensors, dataLength: ceil64(dataEnd) }
}

/** Bytes of the data section that belong to no tensor must be zero (the writer's padding). */
function checkGapsAreZero(bytes: Uint8Array, dataStart: number, header: Header, fail: (problem: string) => never): void {
  const ranges = header.tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset)
  let cursor = 0
  const checkZero = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      if (bytes[dataStart + i] !== 0) fail(`non-zero padding byte at offset ${dataStart + i}, outside every tensor`)
    }
  }
  for (const t of ranges) {
    checkZero(cursor, t.offset)
    cursor = t.offset + t.byteLength
  }
  checkZero(cursor, header.dataLength)
}

function checkKeys(record: Record<string, unknown>, allowed: readonly string[], at: string, fail: (problem: string) => never): void {
  for (const key of allowed) if (!Object.hasOwn(record, key)) fail(`${at} has no "${key}" field`)
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      fail(`${at} has an unknown field ${quoteName(key)} (version ${MODEL_FORMAT_VERSION} allows ${allowed.join(', ')})`)
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}

/** A short description of a value for error messages; never prints a whole large value. */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}...` : JSON.stringify(value)
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'undefined':
      return 'undefined'
    case 'object':
      return 'an object'
    default:
      return `a ${typeof value}`
  }
}
