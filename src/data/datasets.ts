/**
 * Dataset files for the sequence tasks: JSON lines, CSV and TSV (the formats are described once,
 * in `./parse.ts`), read from disk or decoded from bytes (standard input) with the checks of a
 * corpus: missing file, empty file, binary data, invalid UTF-8.
 *
 * Node only (node:fs, through `../text/corpus.js`). The pure text parser, `parseDataset`, and the
 * dataset types are browser-safe: they are in `./parse.ts` (and exported from `./index.js`).
 */

import { readFile } from 'node:fs/promises'

import { RecurError } from '../errors.js'
import { decodeCorpus, fileReadError } from '../text/corpus.js'
import { checkFields, checkFormat, emptyDatasetError, formatFromPath, parseDatasetAs, type Dataset, type DatasetFormat } from './parse.js'

/** Options of `readDataset`. */
export interface ReadDatasetOptions {
  /** How the file is written. Default: from its extension (see `formatFromPath`). */
  format?: DatasetFormat
  /** The fields every record must have, e.g. ['text', 'label']. At least one. */
  fields: readonly string[]
}

/**
 * Reads and parses a dataset file.
 * @throws RecurError 'OPTION' for an unknown format or extension (pass --format) or bad field
 *   names; 'FILE' for a missing, unreadable or directory path; 'DATA' for an empty, binary or
 *   non-UTF-8 file, a header without records or a missing field; 'FORMAT' for malformed content.
 *   Every message names the file and, for content, the line.
 */
export async function readDataset(path: string, options: ReadDatasetOptions): Promise<Dataset> {
  const operation = 'readDataset'
  if (typeof path !== 'string' || path === '') throw new RecurError('OPTION', `${operation}: expected a file path, got ${JSON.stringify(path)}`)
  if (typeof options !== 'object' || options === null) throw new RecurError('OPTION', `${operation}: expected options { fields, format? }`)
  const format = options.format ?? formatFromPath(path)
  checkFormat(operation, format)
  checkFields(operation, options.fields)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw fileReadError(error, path, 'Pass the path of a .jsonl, .csv or .tsv file')
  }
  return decodeDatasetAs(operation, bytes, format, options.fields, path)
}

/**
 * Decodes and parses the bytes of a dataset (e.g. standard input), with the checks `readDataset`
 * makes on a file's content.
 * @param name what to call the input in error messages, e.g. '<stdin>'
 * @throws RecurError as `readDataset` does, less 'FILE'.
 */
export function decodeDataset(bytes: Uint8Array, format: DatasetFormat, fields: readonly string[], name: string): Dataset {
  return decodeDatasetAs('decodeDataset', bytes, format, fields, name)
}

function decodeDatasetAs(operation: string, bytes: Uint8Array, format: DatasetFormat, fields: readonly string[], name: string): Dataset {
  checkFormat(operation, format)
  checkFields(operation, fields)
  if (!(bytes instanceof Uint8Array)) throw new RecurError('OPTION', `${operation}: expected the dataset's bytes as a Uint8Array, got ${typeof bytes}`)
  // Said here rather than by decodeCorpus, whose message is about a corpus.
  if (onlyAsciiWhitespace(bytes)) throw emptyDatasetError(name, format)
  let text: string
  try {
    text = decodeCorpus(bytes, name) // NUL bytes (binary, UTF-16), invalid UTF-8; BOM and CRLF
  } catch (error) {
    throw error instanceof RecurError ? withoutOperation(error, 'decodeCorpus') : error
  }
  return parseDatasetAs(operation, text, format, fields, name)
}

/** True if the bytes, after a UTF-8 byte-order mark, are only spaces, tabs and line ends. */
function onlyAsciiWhitespace(bytes: Uint8Array): boolean {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false
  }
  return true
}

/** The error without a leading "decodeCorpus: " (its messages are about a file, which the user knows; the function they are not). */
function withoutOperation(error: RecurError, operation: string): RecurError {
  if (!error.message.startsWith(`${operation}: `)) return error
  const hint = error.hint
  const message = hint === undefined ? error.message : error.message.slice(0, error.message.length - hint.length - 2)
  const result = new RecurError(error.code, message.slice(operation.length + 2), hint)
  result.cause = error
  return result
}
