/**
 * Corpus files: reading text from disk with the checks a training run wants before it starts
 * (missing file, empty or whitespace-only text, binary data, invalid UTF-8), and building a
 * vocabulary from a file of any size by streaming it.
 *
 * What a corpus is, stated once: UTF-8 text. A leading byte-order mark is removed and CRLF line
 * ends become LF (a lone CR is left alone). Everything else is kept as is (no Unicode
 * normalisation: "é" as one code point and as e + U+0301 are different tokens).
 *
 * Node only (node:fs). `decodeCorpus` is pure and does the same checks on bytes from anywhere.
 */

import { open, readFile, type FileHandle } from 'node:fs/promises'

import { RecurError, expectInt } from '../errors.js'
import { TokenStream, type TokenizerOptionsInput } from './tokenizers.js'
import { DEFAULT_MAX_DISTINCT_TOKENS, TokenCounter, type Vocabulary, type VocabularyBuildOptions } from './vocabulary.js'

/** Bytes read at a time when streaming a corpus. */
export const DEFAULT_CHUNK_BYTES = 1 << 20

/** Options of `streamCorpusFile`. */
export interface CorpusStreamOptions {
  /** Bytes read at a time. Default 1 MiB. */
  chunkBytes?: number
}

/** Options of `countTokensInFile`. */
export interface CorpusCountOptions extends CorpusStreamOptions {
  /** Most distinct tokens the counter holds (see `TokenCounter`). Default 2,097,152. */
  maxDistinct?: number
}

/** Options of `buildVocabularyFromFile`: the vocabulary's, plus how to read and count. */
export interface CorpusVocabularyOptions extends VocabularyBuildOptions, CorpusStreamOptions {
  /**
   * Most distinct tokens the counter holds while reading (see `TokenCounter`). Default: the larger
   * of 2,097,152 and twice `maxSize`, so that the vocabulary's tokens are counted (nearly) exactly.
   */
  maxDistinct?: number
}

/**
 * Reads a corpus file whole and checks it (see `decodeCorpus`).
 * @throws RecurError 'FILE' for a missing or unreadable file, 'DATA' for unusable content.
 */
export async function readCorpusFile(path: string): Promise<string> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw fileError(error, path)
  }
  return decodeCorpus(bytes, path)
}

/**
 * Turns the bytes of a corpus into its text: checks that it is UTF-8 text, removes a leading BOM
 * and turns CRLF into LF.
 * @param name what to call the corpus in error messages (its path)
 * @throws RecurError 'DATA' if it is empty or only whitespace, holds a NUL byte (binary, or
 *   UTF-16) or is not valid UTF-8; the message gives the byte offset and line.
 */
export function decodeCorpus(bytes: Uint8Array, name: string): string {
  if (!(bytes instanceof Uint8Array)) {
    throw new RecurError('OPTION', `decodeCorpus: expected a Uint8Array, got ${typeof bytes}`)
  }
  if (bytes.length === 0) throw emptyError(name, 'decodeCorpus', 'is empty')
  const nul = bytes.indexOf(0)
  if (nul >= 0) throw binaryError(name, 'decodeCorpus', nul, 1 + countLines(bytes, 0, nul))
  let text: string
  try {
    // ignoreBOM: false (the default, spelled out) makes the decoder drop a leading BOM.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    const problem = findUtf8Error(bytes, 0)
    const offset = problem?.offset ?? 0
    throw invalidUtf8Error(name, 'decodeCorpus', offset, 1 + countLines(bytes, 0, offset), problem?.truncated ?? false)
  }
  if (text.includes('\r')) text = text.replace(/\r\n/g, '\n')
  if (text.length === 0) throw emptyError(name, 'decodeCorpus', 'holds only a byte-order mark')
  if (!/\S/u.test(text)) throw emptyError(name, 'decodeCorpus', 'holds only whitespace')
  return text
}

/**
 * Reads a corpus file as a sequence of text chunks (each about `chunkBytes` long), with the checks
 * and normalisation of `decodeCorpus`. Memory stays at one chunk whatever the file's size. A NUL
 * byte or invalid UTF-8 is reported when its chunk is reached, so chunks before it have been
 * yielded by then; emptiness is known at the end.
 * @throws RecurError 'FILE' for a missing or unreadable file, 'DATA' for unusable content.
 */
export async function* streamCorpusFile(path: string, options: CorpusStreamOptions = {}): AsyncGenerator<string, void, undefined> {
  const operation = 'streamCorpusFile'
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES
  expectInt(`${operation}: chunkBytes`, chunkBytes, 1)
  const handle = await openRegularFile(path, operation)
  const stream = handle.createReadStream({ highWaterMark: chunkBytes }) // closes the handle when done
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
  let offset = 0 // bytes before the current chunk
  let lines = 1 // line number at `offset`
  let tail: Uint8Array = new Uint8Array(0) // the last 3 bytes before the current chunk: an open sequence lies there
  let carriedReturn = false // the previous chunk ended in '\r', maybe half of a CRLF
  let hasText = false
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      const nul = chunk.indexOf(0)
      if (nul >= 0) throw binaryError(path, operation, offset + nul, lines + countLines(chunk, 0, nul))
      let text: string
      try {
        text = decoder.decode(chunk, { stream: true })
      } catch {
        throw invalidUtf8InStream(path, operation, tail, chunk, offset, lines)
      }
      tail = lastBytes(tail, chunk, 3)
      lines += countLines(chunk, 0, chunk.length)
      offset += chunk.length
      if (carriedReturn) text = '\r' + text
      carriedReturn = text.endsWith('\r')
      if (carriedReturn) text = text.slice(0, -1)
      if (text.includes('\r')) text = text.replace(/\r\n/g, '\n')
      if (text.length === 0) continue
      if (!hasText && /\S/u.test(text)) hasText = true
      yield text
    }
    let rest: string
    try {
      rest = decoder.decode()
    } catch {
      // The file ends inside a sequence, which starts in the last 3 bytes.
      const start = findUtf8Error(tail, skipContinuationBytes(tail))?.offset ?? 0
      throw invalidUtf8Error(path, operation, offset - tail.length + start, lines - countLines(tail, start, tail.length), true)
    }
    if (carriedReturn) rest = '\r' + rest
    if (rest.length > 0) {
      if (!hasText && /\S/u.test(rest)) hasText = true
      yield rest
    }
  } catch (error) {
    if (error instanceof RecurError) throw error
    throw fileError(error, path)
  } finally {
    stream.destroy()
  }
  if (offset === 0) throw emptyError(path, operation, 'is empty')
  if (!hasText) throw emptyError(path, operation, 'holds only whitespace')
}

/**
 * Streams a corpus file through a tokenizer into a `TokenCounter`, in memory bounded by one chunk
 * and the counter's `maxDistinct`.
 * @throws RecurError 'OPTION' for bad tokenizer options, and what `streamCorpusFile` throws.
 */
export async function countTokensInFile(path: string, tokenizerOptions: TokenizerOptionsInput, options: CorpusCountOptions = {}): Promise<TokenCounter> {
  const tokenStream = new TokenStream(tokenizerOptions) // checks the options before the file is opened
  const counter = new TokenCounter(options.maxDistinct === undefined ? {} : { maxDistinct: options.maxDistinct })
  const streamOptions: CorpusStreamOptions = options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }
  for await (const text of streamCorpusFile(path, streamOptions)) counter.add(tokenStream.push(text))
  counter.add(tokenStream.end())
  return counter
}

/**
 * Builds a vocabulary from a corpus file of any size: streams it through the tokenizer into a
 * `TokenCounter`, then `Vocabulary.build` on the counts. Use `countTokensInFile` and
 * `TokenCounter.toVocabulary` to see the counts too.
 * @throws what `countTokensInFile` and `Vocabulary.build` throw.
 */
export async function buildVocabularyFromFile(
  path: string,
  tokenizerOptions: TokenizerOptionsInput,
  vocabularyOptions: CorpusVocabularyOptions = {},
): Promise<Vocabulary> {
  const { maxDistinct, chunkBytes, ...buildOptions } = vocabularyOptions
  const counterSize = maxDistinct ?? Math.max(DEFAULT_MAX_DISTINCT_TOKENS, 2 * (buildOptions.maxSize ?? 0))
  const countOptions: CorpusCountOptions = chunkBytes === undefined ? { maxDistinct: counterSize } : { maxDistinct: counterSize, chunkBytes }
  const counter = await countTokensInFile(path, tokenizerOptions, countOptions)
  return counter.toVocabulary(buildOptions)
}

/** Most tokens `encodeCorpusFile` holds: the length limit of one Int32Array that every platform allows. */
export const MAX_CORPUS_TOKENS = 2 ** 31 - 1

/** A corpus file as token ids, and the vocabulary that encoded it. */
export interface EncodedCorpus {
  ids: Int32Array
  vocabulary: Vocabulary
}

/**
 * Reads a corpus file of any size as token ids, in two streaming passes: the first counts the
 * tokens (and, without a vocabulary, counts each token and builds one, as
 * `buildVocabularyFromFile` does), the second encodes them into one Int32Array of exactly that
 * length. Memory: 4 bytes per token, one chunk of text, and the counter's table; the text is never
 * held whole, and neither is a list of its tokens. The ids equal
 * `vocabulary.encode(tokenize(text))` of the whole text (tokens outside a given vocabulary become
 * `<UNK>`).
 * @param source the vocabulary to encode with, or the options to build one from the file
 * @throws RecurError 'DATA' for more than `MAX_CORPUS_TOKENS` tokens or a file that changes between
 *   the passes, and what `streamCorpusFile` and `Vocabulary.build` throw.
 */
export async function encodeCorpusFile(
  path: string,
  tokenizerOptions: TokenizerOptionsInput,
  source: Vocabulary | CorpusVocabularyOptions,
  options: CorpusStreamOptions = {},
): Promise<EncodedCorpus> {
  let vocabulary: Vocabulary
  let total: number
  if (isVocabulary(source)) {
    vocabulary = source
    total = await countTokens(path, tokenizerOptions, options)
  } else {
    const { maxDistinct, chunkBytes, ...buildOptions } = source
    const counterSize = maxDistinct ?? Math.max(DEFAULT_MAX_DISTINCT_TOKENS, 2 * (buildOptions.maxSize ?? 0))
    const streamOptions = chunkBytes === undefined ? options : { ...options, chunkBytes }
    const counter = await countTokensInFile(path, tokenizerOptions, { ...streamOptions, maxDistinct: counterSize })
    vocabulary = counter.toVocabulary(buildOptions)
    total = counter.totalTokens
  }
  if (total > MAX_CORPUS_TOKENS) {
    throw new RecurError('DATA', `${path} has ${total.toLocaleString('en')} tokens, more than the ${MAX_CORPUS_TOKENS.toLocaleString('en')} recur can hold`, 'Train on a part of it (split the file)')
  }
  const ids = new Int32Array(total)
  let filled = 0
  const encode = (tokens: readonly string[]) => {
    if (filled + tokens.length > total) throw changedError(path)
    for (const token of tokens) ids[filled++] = vocabulary.id(token)
  }
  const tokenStream = new TokenStream(tokenizerOptions)
  for await (const text of streamCorpusFile(path, options)) encode(tokenStream.push(text))
  encode(tokenStream.end())
  if (filled !== total) throw changedError(path)
  return { ids, vocabulary }
}

/** Number of tokens in a corpus file, streamed. */
async function countTokens(path: string, tokenizerOptions: TokenizerOptionsInput, options: CorpusStreamOptions): Promise<number> {
  const tokenStream = new TokenStream(tokenizerOptions)
  let total = 0
  for await (const text of streamCorpusFile(path, options)) total += tokenStream.push(text).length
  return total + tokenStream.end().length
}

function isVocabulary(source: Vocabulary | CorpusVocabularyOptions): source is Vocabulary {
  return typeof (source as Vocabulary).encode === 'function'
}

function changedError(path: string): RecurError {
  return new RecurError('DATA', `${path} changed while it was being read`, 'Run again once nothing is writing to it')
}

// ---------------------------------------------------------------------------------------------
// UTF-8 validation, to say where a file stops being UTF-8 (TextDecoder only says that it does).

/** Where the first invalid UTF-8 sequence starts, and whether it is only cut short by the end. */
export interface Utf8Problem {
  offset: number
  truncated: boolean
}

/**
 * Finds the first byte at or after `start` that does not begin a well-formed UTF-8 sequence (the
 * Unicode definition: no overlong forms, no surrogates, nothing above U+10FFFF), or null if there
 * is none. `truncated` is true when the sequence is only cut off by the end of `bytes`.
 */
export function findUtf8Error(bytes: Uint8Array, start: number): Utf8Problem | null {
  const n = bytes.length
  let i = start
  while (i < n) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }
    // Lead byte -> number of continuation bytes, and the allowed range of the first of them
    // (narrower after E0, ED, F0, F4 to exclude overlong forms, surrogates and > U+10FFFF).
    let following = 0
    let low = 0x80
    let high = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) {
      following = 1
    } else if (lead >= 0xe0 && lead <= 0xef) {
      following = 2
      if (lead === 0xe0) low = 0xa0
      if (lead === 0xed) high = 0x9f
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      following = 3
      if (lead === 0xf0) low = 0x90
      if (lead === 0xf4) high = 0x8f
    } else {
      return { offset: i, truncated: false }
    }
    for (let k = 1; k <= following; k++) {
      if (i + k >= n) return { offset: i, truncated: true }
      const next = bytes[i + k]!
      if (next < low || next > high) return { offset: i, truncated: false }
      low = 0x80
      high = 0xbf
    }
    i += following + 1
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function openRegularFile(path: string, operation: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    throw fileError(error, path)
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      throw new RecurError('FILE', `${path} is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}`, 'Pass the path of a text file')
    }
    if (stats.size === 0) throw emptyError(path, operation, 'is empty')
    return handle
  } catch (error) {
    await handle.close()
    if (error instanceof RecurError) throw error
    throw fileError(error, path)
  }
}

/** The 'FILE' error for a corpus file that could not be read. */
function fileError(error: unknown, path: string): RecurError {
  return fileReadError(error, path, 'Pass the path of a text file')
}

/**
 * The 'FILE' error for a file that could not be read (`error` from node:fs): a missing path, a
 * directory (`directoryHint` says what to pass instead), no permission, or another failure.
 */
export function fileReadError(error: unknown, path: string, directoryHint: string): RecurError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  let result: RecurError
  if (code === 'ENOENT') {
    result = new RecurError('FILE', `no such file: ${path}`, `Check the path (a relative path is resolved from ${process.cwd()})`)
  } else if (code === 'EISDIR') {
    result = new RecurError('FILE', `${path} is a directory`, directoryHint)
  } else if (code === 'EACCES' || code === 'EPERM') {
    result = new RecurError('FILE', `permission denied reading ${path}`, 'Check the file permissions')
  } else {
    const message = error instanceof Error ? error.message : String(error)
    result = new RecurError('FILE', `cannot read ${path}: ${message}`)
  }
  result.cause = error
  return result
}

function emptyError(name: string, operation: string, what: string): RecurError {
  return new RecurError('DATA', `${name} ${what}`, 'A corpus needs some text to learn from')
}

function binaryError(name: string, operation: string, offset: number, line: number): RecurError {
  return new RecurError(
    'DATA',
    `${name} looks binary: NUL byte at byte offset ${offset} (line ${line})`,
    'recur reads UTF-8 text; a UTF-16 text file has NUL bytes too: convert it to UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8)',
  )
}

function invalidUtf8Error(name: string, operation: string, offset: number, line: number, truncated: boolean): RecurError {
  const what = truncated ? 'ends inside a UTF-8 sequence that starts' : 'has an invalid byte sequence'
  return new RecurError(
    'DATA',
    `${name} is not valid UTF-8: ${what} at byte offset ${offset} (line ${line})`,
    'Save the file as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8 for Latin-1 text)',
  )
}

/**
 * Locates the error TextDecoder found in `chunk`: it starts in the chunk or in the sequence left
 * open before it, which lies in the 3 bytes before the chunk (`tail`).
 */
function invalidUtf8InStream(name: string, operation: string, tail: Uint8Array, chunk: Uint8Array, offset: number, lines: number): RecurError {
  const joined = new Uint8Array(tail.length + chunk.length)
  joined.set(tail, 0)
  joined.set(chunk, tail.length)
  const problem = findUtf8Error(joined, skipContinuationBytes(tail))
  // A sequence cut only by the chunk's end is not the error (it goes on in the next chunk).
  const index = problem !== null && !problem.truncated ? problem.offset : tail.length
  const line = index >= tail.length ? lines + countLines(chunk, 0, index - tail.length) : lines
  return invalidUtf8Error(name, operation, offset - tail.length + index, line, false)
}

/** Index of the first byte of `tail` that is not a continuation byte (of a sequence that began before it). */
function skipContinuationBytes(tail: Uint8Array): number {
  let start = 0
  while (start < tail.length && tail[start]! >= 0x80 && tail[start]! <= 0xbf) start++
  return start
}

/** The last `count` bytes of `before` followed by `chunk`. */
function lastBytes(before: Uint8Array, chunk: Uint8Array, count: number): Uint8Array {
  if (chunk.length >= count) return chunk.slice(chunk.length - count)
  const joined = new Uint8Array(Math.min(count, before.length + chunk.length))
  const fromBefore = joined.length - chunk.length
  joined.set(before.subarray(before.length - fromBefore), 0)
  joined.set(chunk, fromBefore)
  return joined
}

/** Number of '\n' bytes in bytes[from, to). */
function countLines(bytes: Uint8Array, from: number, to: number): number {
  let lines = 0
  let at = bytes.indexOf(0x0a, from)
  while (at >= 0 && at < to) {
    lines++
    at = bytes.indexOf(0x0a, at + 1)
  }
  return lines
}
