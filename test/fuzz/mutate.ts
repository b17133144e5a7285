/**
 * Mutators for the fuzzer (`fuzz.ts`): libFuzzer's byte-level mutations (flip a bit, change a
 * byte, insert, erase, copy a part, splice with another input, write an interesting integer,
 * rewrite an ASCII number, insert a dictionary word, truncate), and the format-aware ones that make
 * mutations reach past the containers' length fields and checksum: split a recur model file or a
 * safetensors file into header and data, mutate the header's JSON (as text or as a tree: huge and
 * negative numbers, wrong types, wrong dtypes, moved offsets, deep nesting, removed or added
 * fields) or fill a span of the data with NaN, then rebuild the container with correct lengths,
 * padding and CRC-32.
 *
 * Deterministic: everything draws from the `Random` it is given.
 */
import { MODEL_FILE_MAGIC, crc32 } from '../../src/io/model-format.js'
import { Random } from '../../src/random.js'

export { Random }

/** Largest input the mutators produce, so one run cannot grow without bound. */
export const MAX_INPUT_BYTES = 1 << 20

const INTERESTING_INTEGERS: readonly bigint[] = [
  0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 20n, 63n, 64n, 65n, 127n, 128n, 255n, 256n, 1023n, 1024n, 4096n, 32767n, 32768n, 65535n, 65536n,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 100000000n, 100000001n, 0x1fffffffffffffn, 0x20000000000000n, 0xffffffffffffffffn,
]

const INTERESTING_NUMBER_TEXT: readonly string[] = [
  '0', '-0', '1', '-1', '2', '3', '4', '64', '63', '65', '1.5', '-1.5', '1e3', '1e12', '1e300', '1e400', '-1e400', '2147483647', '2147483648',
  '4294967295', '4294967296', '9007199254740991', '9007199254740992', '9007199254740993', '18446744073709551615', '0.1', '1e-400', '100000000',
]

const JSON_WORDS: readonly string[] = [
  '{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', 'null', 'true', 'false', '""', '[]', '{}', '-', '.', 'e', '\u00e9', '\u{1F600}',
]

/** Interesting JSON values that replace a node of a header. */
const INTERESTING_VALUES: readonly unknown[] = [
  0, -1, 1, 1.5, -0.5, 3, 64, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e12, 1e308, -1e308, null, true, false, '', 'x', '0',
  'f32', 'i32', 'F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'f64', 'language-model', 'classifier', 'tagger', 'seq2seq',
  'lstm', 'gru', 'rnn', '<UNK>', '__proto__', [], {}, [0], [1e12, 1e12], [2 ** 31, 2 ** 31, 2 ** 31], [-1], [0, 0], [0, 1e12], [1.5],
  [null], ['a', 'a'], { format: 'recur-vocabulary', version: 1, tokens: [] }, { format: 'recur-vocabulary', version: 1, tokens: ['<UNK>'] },
]

/** A marker a tree mutation leaves where very deep nesting goes; replaced in the JSON text (JSON.stringify would overflow). */
const DEEP_MARKER = '\u0001deep\u0001'

// ---------------------------------------------------------------------------------------------
// Byte-level mutations

function insert(data: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + bytes.length)
  out.set(data.subarray(0, at), 0)
  out.set(bytes, at)
  out.set(data.subarray(at), at + bytes.length)
  return out
}

function erase(data: Uint8Array, at: number, count: number): Uint8Array {
  const out = new Uint8Array(data.length - count)
  out.set(data.subarray(0, at), 0)
  out.set(data.subarray(at + count), at)
  return out
}

/** An interesting integer as `size` bytes, little- or big-endian. */
function integerBytes(value: bigint, size: number, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(size)
  let v = BigInt.asUintN(size * 8, value)
  for (let i = 0; i < size; i++) {
    out[littleEndian ? i : size - 1 - i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The spans of ASCII digits (with a leading '-') in `data`, at most `most` of them. */
function numberSpans(data: Uint8Array, most = 256): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  let i = 0
  while (i < data.length && spans.length < most) {
    const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39
    if (isDigit(data[i]) || (data[i] === 0x2d && isDigit(data[i + 1]))) {
      const start = i
      i++
      while (i < data.length && (isDigit(data[i]) || data[i] === 0x2e || data[i] === 0x65 || data[i] === 0x2b || data[i] === 0x2d)) i++
      spans.push([start, i])
    } else {
      i++
    }
  }
  return spans
}

const encoder = new TextEncoder()

/**
 * One libFuzzer-style mutation of `data`. `others` are other corpus inputs (for splicing) and
 * `dictionary` the target's words (field names, dtype names, keywords).
 */
export function mutateOnce(data: Uint8Array, random: Random, others: readonly Uint8Array[], dictionary: readonly string[]): Uint8Array {
  const at = (extra = 0): number => random.int(data.length + extra)
  switch (random.int(13)) {
    case 0: { // flip a bit
      if (data.length === 0) return Uint8Array.of(random.int(256))
      const out = data.slice()
      out[at()] ^= 1 << random.int(8)
      return out
    }
    case 1: { // set a byte
      if (data.length === 0) return Uint8Array.of(random.int(256))
      const out = data.slice()
      out[at()] = random.int(256)
      return out
    }
    case 2: // insert random bytes, or one byte repeated
      return insert(data, at(1), random.int(2) === 0
        ? Uint8Array.from({ length: 1 + random.int(8) }, () => random.int(256))
        : new Uint8Array(1 + random.int(64)).fill(random.int(256)))
    case 3: { // erase a run
      if (data.length === 0) return data
      const start = at()
      return erase(data, start, 1 + random.int(Math.min(64, data.length - start)))
    }
    case 4: { // copy a part over another place, or insert it
      if (data.length < 2) return data
      const from = at()
      const length = 1 + random.int(Math.min(128, data.length - from))
      const part = data.slice(from, from + length)
      if (random.int(2) === 0) return insert(data, at(1), part)
      const out = data.slice()
      out.set(part.subarray(0, Math.max(0, out.length - from)), random.int(Math.max(1, out.length - length)))
      return out
    }
    case 5: { // splice with another input
      const other = others.length === 0 ? data : others[random.int(others.length)]!
      const cut = at(1)
      const from = random.int(other.length + 1)
      const out = new Uint8Array(cut + other.length - from)
      out.set(data.subarray(0, cut), 0)
      out.set(other.subarray(from), cut)
      return out
    }
    case 6: { // write an interesting integer (1, 2, 4 or 8 bytes, either byte order)
      const size = [1, 2, 4, 8][random.int(4)]!
      if (data.length < size) return data
      const out = data.slice()
      const value = INTERESTING_INTEGERS[random.int(INTERESTING_INTEGERS.length)]!
      out.set(integerBytes(random.int(4) === 0 ? -value : value, size, random.int(4) !== 0), random.int(data.length - size + 1))
      return out
    }
    case 7: { // rewrite an ASCII number
      const spans = numberSpans(data)
      if (spans.length === 0) return data
      const [start, end] = spans[random.int(spans.length)]!
      const text = INTERESTING_NUMBER_TEXT[random.int(INTERESTING_NUMBER_TEXT.length)]!
      return insert(erase(data, start, end - start), start, encoder.encode(text))
    }
    case 8: // insert a dictionary word or a JSON word
    case 9: {
      const words = random.int(3) === 0 || dictionary.length === 0 ? JSON_WORDS : dictionary
      return insert(data, at(1), encoder.encode(words[random.int(words.length)]!))
    }
    case 10: // truncate
      return data.subarray(0, at(1)).slice()
    case 11: { // deep nesting
      const depth = 1 + random.int(20000)
      return insert(data, at(1), encoder.encode(random.int(2) === 0 ? '['.repeat(depth) : '{"a":'.repeat(depth)))
    }
    default: { // overwrite a run with one byte (0x00, 0xff, NaN's 0x7f/0xc0, space)
      if (data.length === 0) return data
      const start = at()
      const out = data.slice()
      out.fill([0x00, 0xff, 0x7f, 0xc0, 0x20][random.int(5)]!, start, start + 1 + random.int(64))
      return out
    }
  }
}

/** 1 to 5 stacked byte-level mutations, capped at MAX_INPUT_BYTES. */
export function mutateBytes(data: Uint8Array, random: Random, others: readonly Uint8Array[], dictionary: readonly string[]): Uint8Array {
  let out = data
  const count = 1 + random.int(5)
  for (let i = 0; i < count; i++) out = mutateOnce(out, random, others, dictionary)
  return out.length > MAX_INPUT_BYTES ? out.subarray(0, MAX_INPUT_BYTES).slice() : out
}

// ---------------------------------------------------------------------------------------------
// JSON tree mutations

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Paths to every node of `value` (at most `most`), root first. */
function jsonPaths(value: Json, most = 2000): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = []
  const stack: Array<{ node: Json; path: Array<string | number> }> = [{ node: value, path: [] }]
  while (stack.length > 0 && paths.length < most) {
    const { node, path } = stack.pop()!
    paths.push(path)
    if (Array.isArray(node)) node.forEach((child, i) => stack.push({ node: child, path: [...path, i] }))
    else if (node !== null && typeof node === 'object') for (const key of Object.keys(node)) stack.push({ node: node[key]!, path: [...path, key] })
  }
  return paths
}

function getAt(root: Json, path: ReadonlyArray<string | number>): Json {
  let node = root
  for (const key of path) node = (node as Record<string, Json>)[key as string]!
  return node
}

function interestingValue(random: Random, root: Json): Json {
  switch (random.int(6)) {
    case 0: { // a node from elsewhere in the document
      const paths = jsonPaths(root)
      return structuredClone(getAt(root, paths[random.int(paths.length)]!))
    }
    case 1:
      return DEEP_MARKER
    case 2:
      return 'x'.repeat(1 + random.int(100000))
    default:
      return structuredClone(INTERESTING_VALUES[random.int(INTERESTING_VALUES.length)]) as Json
  }
}

/** A number nudged the way off-by-one and overflow bugs like. */
function nudge(n: number, random: Random): number {
  const choices = [n + 1, n - 1, -n, n * 2, n * 64, n * 1e6, n + 0.5, n * n, n + 2 ** 32, 0]
  return choices[random.int(choices.length)]!
}

/** One structural mutation of a parsed JSON document; returns the new document. */
export function mutateJson(root: Json, random: Random): Json {
  const paths = jsonPaths(root)
  const path = paths[random.int(paths.length)]!
  const node = getAt(root, path)
  const parent = path.length === 0 ? null : getAt(root, path.slice(0, -1))
  const key = path[path.length - 1]
  const replace = (value: Json): Json => {
    if (parent === null) return value
    ;(parent as Record<string, Json>)[key as string] = value
    return root
  }
  switch (random.int(7)) {
    case 0:
      if (typeof node === 'number') return replace(nudge(node, random))
      return replace(interestingValue(random, root))
    case 1: // remove it from its object or array
      if (Array.isArray(parent)) parent.splice(key as number, 1)
      else if (parent !== null) delete (parent as Record<string, Json>)[key as string]
      return root
    case 2: // add a field or an element
      if (Array.isArray(node)) node.splice(random.int(node.length + 1), 0, node.length > 0 && random.int(2) === 0 ? structuredClone(node[random.int(node.length)]!) : interestingValue(random, root))
      else if (node !== null && typeof node === 'object') node[['extra', '__proto__', 'constructor', 'toString', 'name'][random.int(5)]!] = interestingValue(random, root)
      else return replace(interestingValue(random, root))
      return root
    case 3: // a string that holds JSON (safetensors metadata): mutate the inner document
      if (typeof node === 'string' && /^[[{]/.test(node)) {
        try {
          return replace(jsonText(mutateJson(JSON.parse(node) as Json, random)))
        } catch {
          return root
        }
      }
      return replace(interestingValue(random, root))
    case 4: // swap two elements of an array (reorders tensors, offsets, tokens)
      if (Array.isArray(node) && node.length >= 2) {
        const i = random.int(node.length), j = random.int(node.length)
        const t = node[i]!
        node[i] = node[j]!
        node[j] = t
        return root
      }
      return replace(interestingValue(random, root))
    default:
      return replace(interestingValue(random, root))
  }
}

/** JSON text of a mutated document, with each deep-nesting marker replaced by very deep nesting. */
export function jsonText(value: Json): string {
  const text = JSON.stringify(value)
  const marker = JSON.stringify(DEEP_MARKER)
  return text.includes(marker) ? text.split(marker).join(`${'['.repeat(30000)}${']'.repeat(30000)}`) : text
}

/** Mutates JSON text as a tree when it parses, else as bytes. */
export function mutateJsonText(text: Uint8Array, random: Random, dictionary: readonly string[]): Uint8Array {
  let parsed: Json
  try {
    parsed = JSON.parse(new TextDecoder().decode(text)) as Json
  } catch {
    return mutateBytes(text, random, [], dictionary)
  }
  if (random.int(4) === 0) return mutateBytes(text, random, [], dictionary)
  try {
    let value = parsed
    const count = 1 + random.int(3)
    for (let i = 0; i < count; i++) value = mutateJson(value, random)
    return encoder.encode(jsonText(value))
  } catch {
    // Too deep to copy or print (an earlier mutation nested it): mutate the text instead.
    return mutateBytes(text, random, [], dictionary)
  }
}

// ---------------------------------------------------------------------------------------------
// Containers: split into header and data, rebuild with correct lengths and checksum

/** A container split into its JSON header and the bytes after it. */
export interface SplitContainer {
  header: Uint8Array
  data: Uint8Array
}

function startsWithMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 20) return false
  for (let i = 0; i < MODEL_FILE_MAGIC.length; i++) if (bytes[i] !== MODEL_FILE_MAGIC[i]) return false
  return true
}

/** A recur model file's header and data section, or null when it does not look like one. */
export function splitModelFile(bytes: Uint8Array): SplitContainer | null {
  if (!startsWithMagic(bytes)) return null
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(12, true)
  const dataStart = Math.ceil((20 + headerLength) / 64) * 64
  if (dataStart > bytes.length) return null
  return { header: bytes.subarray(20, 20 + headerLength), data: bytes.subarray(dataStart) }
}

/** A recur model file (version 1) of this header and data section, lengths, padding and CRC-32 correct. */
export function buildModelFile(header: Uint8Array, data: Uint8Array): Uint8Array {
  const dataStart = Math.ceil((20 + header.length) / 64) * 64
  const out = new Uint8Array(dataStart + data.length)
  const view = new DataView(out.buffer)
  out.set(MODEL_FILE_MAGIC, 0)
  view.setUint32(8, 1, true)
  view.setUint32(12, header.length, true)
  out.set(header, 20)
  out.set(data, dataStart)
  view.setUint32(16, crc32(out.subarray(20)), true)
  return out
}

/** A copy of a recur model file with its CRC-32 recomputed (so byte mutations reach the parser), or null. */
export function repairChecksum(bytes: Uint8Array): Uint8Array | null {
  if (!startsWithMagic(bytes)) return null
  const out = bytes.slice()
  new DataView(out.buffer).setUint32(16, crc32(out.subarray(20)), true)
  return out
}

/** A safetensors file's header and byte buffer, or null when its header length does not fit. */
export function splitSafetensors(bytes: Uint8Array): SplitContainer | null {
  if (bytes.length < 8) return null
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(0, true)
  if (length > BigInt(bytes.length - 8)) return null
  return { header: bytes.subarray(8, 8 + Number(length)), data: bytes.subarray(8 + Number(length)) }
}

/** A safetensors file of this header and byte buffer, its length prefix correct. */
export function buildSafetensors(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true)
  out.set(header, 8)
  out.set(data, 8 + header.length)
  return out
}

/** Fills a 4-byte-aligned span of `data` with NaN, infinity or -0 (as float32, little-endian). */
export function fillNonFinite(data: Uint8Array, random: Random): Uint8Array {
  if (data.length < 4) return data
  const out = data.slice()
  const patterns = [[0x00, 0x00, 0xc0, 0x7f], [0x00, 0x00, 0x80, 0x7f], [0x00, 0x00, 0x80, 0xff], [0x01, 0x00, 0x80, 0x7f], [0x00, 0x00, 0x00, 0x80]]
  const pattern = patterns[random.int(patterns.length)]!
  const words = out.length >> 2
  const start = random.int(words)
  const count = 1 + random.int(Math.min(64, words - start))
  for (let w = start; w < start + count; w++) out.set(pattern, 4 * w)
  return out
}

/**
 * A container-aware mutation: mutate the header (as JSON or bytes) or the data (NaN fill or
 * bytes), then rebuild. `split` and `build` are the container's; returns null when `data` is not one.
 */
export function mutateContainer(
  bytes: Uint8Array, random: Random, dictionary: readonly string[],
  split: (bytes: Uint8Array) => SplitContainer | null, build: (header: Uint8Array, data: Uint8Array) => Uint8Array,
): Uint8Array | null {
  const parts = split(bytes)
  if (parts === null) return null
  let { header, data } = parts
  const what = random.int(8)
  if (what < 5) header = mutateJsonText(header, random, dictionary)
  else if (what < 7) data = fillNonFinite(data, random)
  else data = mutateBytes(data, random, [], [])
  const out = build(header, data)
  return out.length > MAX_INPUT_BYTES ? null : out
}

/** A header as JSON.parse gives it, for the editing helpers below. */
export type EditableHeader = any

/** A copy of a recur model file with its header JSON edited in place by `edit` (lengths, padding and CRC rebuilt). */
export function editModelFileHeader(file: Uint8Array, edit: (header: EditableHeader) => void): Uint8Array {
  const parts = splitModelFile(file)
  if (parts === null) throw new Error('editModelFileHeader: not a recur model file')
  const header: EditableHeader = JSON.parse(new TextDecoder().decode(parts.header))
  edit(header)
  return buildModelFile(encoder.encode(JSON.stringify(header)), parts.data)
}

/** A copy of a safetensors file with its header JSON edited in place by `edit` (the length prefix rebuilt). */
export function editSafetensorsHeader(file: Uint8Array, edit: (header: EditableHeader) => void): Uint8Array {
  const parts = splitSafetensors(file)
  if (parts === null) throw new Error('editSafetensorsHeader: not a safetensors file')
  const header: EditableHeader = JSON.parse(new TextDecoder().decode(parts.header))
  edit(header)
  return buildSafetensors(encoder.encode(JSON.stringify(header)), parts.data)
}
