/**
 * Dataset text -> records: the three file formats recur reads for the sequence tasks, parsed from a
 * string already in memory (a file's or standard input's). Reading files lives in `./datasets.ts`.
 *
 * The formats, stated once:
 * - 'jsonl' (JSON lines): one JSON object per line; lines of only whitespace are skipped. A field
 *   may be a string, a number or boolean (kept as its JSON text: 1.50 -> "1.5", true -> "true") or
 *   an array of those (per-token labels, pre-tokenized text), kept as an array of strings.
 * - 'csv' (RFC 4180): a header row naming the columns, then one record per row; fields separated
 *   by commas; a field that starts with a double quote runs to the next lone quote and may hold
 *   commas, line breaks and doubled quotes ("" -> "). A quote inside an unquoted field is an
 *   ordinary character (5" screen); anything but a comma or line end after a closing quote is an
 *   error. Empty lines between rows are skipped.
 * - 'tsv': a header row, then one record per line, fields separated by tabs. No quoting; instead
 *   the backslash escapes \t (tab), \n (line feed), \r (carriage return) and \\ (backslash) are
 *   decoded; any other backslash is kept as is. Empty lines are skipped.
 * - For all three: a leading byte-order mark is removed and CRLF line ends become LF (as for a
 *   corpus, see `decodeCorpus`), also inside quoted CSV fields; a lone CR is an ordinary character.
 *   Header names are trimmed of surrounding whitespace; values are kept exactly.
 * - A record holds the required fields only, under their names; other columns and fields are not
 *   read (so they may hold anything). Every required field must be present in every record.
 *
 * Errors are one line, start with the input's name and the line ("train.csv line 7: ..."; about
 * content, so they name the file, not the function) and say what to do: 'DATA' for an empty
 * dataset, a header without records and a missing field (with the fields there are and the closest
 * name); 'FORMAT' for malformed JSON, a row with the wrong number of columns, an unterminated quote
 * and a field of the wrong JSON type; 'OPTION' for bad arguments.
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError } from '../errors.js'
import { didYouMean, listSome } from './suggest.js'

/** The dataset file formats. */
export type DatasetFormat = 'jsonl' | 'csv' | 'tsv'

/** The formats, in the order error messages list them. */
export const DATASET_FORMATS: readonly DatasetFormat[] = Object.freeze(['jsonl', 'csv', 'tsv'])

/** A field's value: text, or a list (per-token labels, pre-tokenized text; JSON lines only). */
export type FieldValue = string | string[]

/** One record: the required fields by name. */
export type DatasetRecord = Record<string, FieldValue>

/** A parsed dataset. */
export interface Dataset {
  /** The records, in file order. */
  records: DatasetRecord[]
  /** lines[i] is the 1-based line where records[i] starts, for error messages about a record. */
  lines: number[]
  format: DatasetFormat
  /** The file's path, or the name given to `parseDataset` (e.g. '<stdin>'). */
  path: string
}

/** Extensions (lower case) and the format each means. */
const EXTENSIONS: ReadonlyMap<string, DatasetFormat> = new Map([
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.tab', 'tsv'],
])

/**
 * The format a path's extension names: .jsonl or .ndjson -> 'jsonl', .csv -> 'csv', .tsv or
 * .tab -> 'tsv' (case ignored).
 * @throws RecurError 'OPTION' for any other extension, saying to pass the format.
 */
export function formatFromPath(path: string): DatasetFormat {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1)
  const dot = base.lastIndexOf('.')
  const extension = dot > 0 ? base.slice(dot).toLowerCase() : ''
  const format = EXTENSIONS.get(extension)
  if (format !== undefined) return format
  const what = extension === '' ? 'has no extension' : `has the extension ${extension}`
  const hint = extension === '.json'
    ? 'recur reads JSON lines (one object per line), not a JSON array; if the file holds one object per line, pass --format jsonl'
    : `Pass --format ${DATASET_FORMATS.join('|')} (the extensions recur knows are ${[...EXTENSIONS.keys()].join(' ')})`
  throw new RecurError('OPTION', `cannot tell the format of ${path}: it ${what}`, hint)
}

/**
 * Parses dataset text (see the module comment for the formats). Pure: the CLI reads standard input
 * and calls this; `readDataset` reads a file and calls this.
 * @param text the dataset's text
 * @param format how it is written
 * @param fields the names of the fields every record must have (at least one)
 * @param name what to call the input in error messages: its path, or e.g. '<stdin>'
 * @throws RecurError 'OPTION' for bad arguments, 'DATA' and 'FORMAT' as the module comment says.
 */
export function parseDataset(text: string, format: DatasetFormat, fields: readonly string[], name: string): Dataset {
  return parseDatasetAs('parseDataset', text, format, fields, name)
}

/** `parseDataset`, with the operation that argument errors name (for `readDataset` and `decodeDataset`). */
export function parseDatasetAs(operation: string, text: string, format: DatasetFormat, fields: readonly string[], name: string): Dataset {
  if (typeof text !== 'string') throw new RecurError('OPTION', `${operation}: expected the dataset as a string, got ${typeof text}`)
  checkFormat(operation, format)
  const required = checkFields(operation, fields)
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.includes('\r')) text = text.replace(/\r\n/g, '\n')
  const where = new Where(name)
  if (!/\S/u.test(text)) throw emptyDatasetError(name, format)
  const parsed = format === 'jsonl' ? parseJsonLines(text, required, where) : parseTable(text, format, required, where)
  return { records: parsed.records, lines: parsed.lines, format, path: name }
}

/** The 'DATA' error for a dataset with no text (or only whitespace). */
export function emptyDatasetError(name: string, format: DatasetFormat): RecurError {
  const what = format === 'jsonl' ? 'one JSON object per line' : 'a header row naming the columns, then one record per line'
  return new RecurError('DATA', `${name} is empty`, `A dataset needs ${what}`)
}

/** Checks a format name. @throws RecurError 'OPTION' for an unknown one. */
export function checkFormat(operation: string, format: unknown): asserts format is DatasetFormat {
  if (!DATASET_FORMATS.includes(format as DatasetFormat)) {
    throw new RecurError('OPTION', `${operation}: unknown format ${JSON.stringify(format)}`, `Use one of ${DATASET_FORMATS.join(', ')}`)
  }
}

/** Checks the required field names; returns them without repeats. @throws RecurError 'OPTION'. */
export function checkFields(operation: string, fields: unknown): string[] {
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new RecurError('OPTION', `${operation}: fields must be a non-empty array of field names, got ${Array.isArray(fields) ? 'an empty array' : typeof fields}`)
  }
  for (const field of fields) {
    if (typeof field !== 'string' || field === '') {
      throw new RecurError('OPTION', `${operation}: field names must be non-empty strings, got ${JSON.stringify(field)}`)
    }
  }
  return [...new Set(fields as string[])]
}

// ---------------------------------------------------------------------------------------------
// JSON lines

interface Parsed {
  records: DatasetRecord[]
  lines: number[]
}

function parseJsonLines(text: string, fields: readonly string[], where: Where): Parsed {
  const records: DatasetRecord[] = []
  const lines: number[] = []
  const rows = text.split('\n')
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    if (!/\S/u.test(row)) continue
    const line = r + 1
    let value: unknown
    try {
      value = JSON.parse(row)
    } catch (error) {
      const reason = shorten((error as Error).message, 160)
      const hint = /^\s*\[/.test(row) && line === 1
        ? 'This looks like a JSON array; JSON lines needs one object per line, e.g. {"text": "...", "label": "..."}'
        : 'Each line must hold one complete JSON object, e.g. {"text": "...", "label": "..."}'
      throw where.error('FORMAT', line, `not valid JSON (${reason})`, hint)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const hint = Array.isArray(value) && line === 1
        ? 'This looks like a JSON array; JSON lines needs one object per line, e.g. {"text": "...", "label": "..."}'
        : 'Each line must hold one JSON object, e.g. {"text": "...", "label": "..."}'
      throw where.error('FORMAT', line, `expected a JSON object, got ${describeJson(value)}`, hint)
    }
    const object = value as Record<string, unknown>
    const entries: [string, FieldValue][] = []
    for (const field of fields) {
      if (!Object.hasOwn(object, field)) {
        const names = Object.keys(object)
        const have = names.length === 0 ? 'the record has no fields' : `the record's fields are ${listSome(shortNames(names), 20)}`
        throw where.error('DATA', line, `no field ${JSON.stringify(field)} (${have})`, `${didYouMean(field, names)}Name the field that holds it (names are case-sensitive)`)
      }
      entries.push([field, jsonFieldValue(object[field], field, line, where)])
    }
    records.push(Object.fromEntries(entries))
    lines.push(line)
  }
  return { records, lines }
}

function jsonFieldValue(value: unknown, field: string, line: number, where: Where): FieldValue {
  const scalar = jsonScalar(value)
  if (scalar !== undefined) return scalar
  if (Array.isArray(value)) {
    const items: string[] = []
    for (let i = 0; i < value.length; i++) {
      const item = jsonScalar(value[i])
      if (item === undefined) {
        throw where.error('FORMAT', line, `field ${JSON.stringify(field)} item ${i} is ${describeJson(value[i])}`, 'An array field must hold strings, numbers or booleans')
      }
      items.push(item)
    }
    return items
  }
  throw where.error('FORMAT', line, `field ${JSON.stringify(field)} is ${describeJson(value)}`, 'A field must be a string, a number, a boolean or an array of strings')
}

function jsonScalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

function describeJson(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `a string (${JSON.stringify(shorten(value, 40))})`
  return `a ${typeof value} (${String(value)})`
}

// ---------------------------------------------------------------------------------------------
// CSV and TSV

interface Row {
  values: string[]
  /** Line the row starts on. */
  line: number
}

function parseTable(text: string, format: 'csv' | 'tsv', fields: readonly string[], where: Where): Parsed {
  const rows = format === 'csv' ? csvRows(text, where) : tsvRows(text)
  const first = rows.next()
  if (first.done === true) throw emptyDatasetError(where.name, format)
  const header = first.value
  const columns = header.values.map((name) => name.trim())
  const indices: number[] = []
  for (const field of fields) {
    const at = columns.indexOf(field)
    if (at < 0) {
      const suggestion = didYouMean(field, columns)
      const hint = suggestion === ''
        ? 'The first line must be a header row naming the columns (names are case-sensitive)'
        : `${suggestion}Names are case-sensitive`
      throw where.error('DATA', header.line, `no column ${JSON.stringify(field)} in the header (its columns are ${listSome(shortNames(columns), 20)})`, hint)
    }
    const again = columns.indexOf(field, at + 1)
    if (again >= 0) {
      throw where.error('FORMAT', header.line, `columns ${at + 1} and ${again + 1} are both named ${JSON.stringify(field)}`, 'Rename one of them so that the field is not ambiguous')
    }
    indices.push(at)
  }
  const records: DatasetRecord[] = []
  const lines: number[] = []
  for (const row of rows) {
    if (row.values.length !== columns.length) {
      const hint = format === 'csv'
        ? 'Quote a value that holds commas, quotes or line breaks ("a, b"), writing a quote inside it twice ("")'
        : 'Write a tab inside a value as \\t and a line break as \\n'
      throw where.error('FORMAT', row.line, `${row.values.length} ${plural(row.values.length, 'column')}, but the header (line ${header.line}) has ${columns.length}`, hint)
    }
    records.push(Object.fromEntries(fields.map((field, f) => [field, row.values[indices[f]!]!])))
    lines.push(row.line)
  }
  if (records.length === 0) {
    throw new RecurError('DATA', `${where.name} has a header row (line ${header.line}) but no records`, 'Add one record per line below the header')
  }
  return { records, lines }
}

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a

/** The rows of RFC 4180 CSV text (LF line ends), skipping empty lines. */
function* csvRows(text: string, where: Where): Generator<Row, void, undefined> {
  const n = text.length
  let i = 0
  let line = 1
  while (i < n) {
    if (text.charCodeAt(i) === LF) {
      i++
      line++
      continue
    }
    const start = line
    const values: string[] = []
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        // Quoted: runs to a quote that is not doubled.
        const openLine = line
        let value = ''
        let from = i + 1
        for (;;) {
          const quote = text.indexOf('"', from)
          if (quote < 0) {
            throw where.error('FORMAT', openLine, 'a quoted field starts here and is never closed', 'End it with a quote, and write a quote inside it twice ("")')
          }
          value += text.slice(from, quote)
          line += countLineFeeds(text, from, quote)
          if (text.charCodeAt(quote + 1) === QUOTE) {
            value += '"'
            from = quote + 2
            continue
          }
          i = quote + 1
          break
        }
        if (i < n && text.charCodeAt(i) !== COMMA && text.charCodeAt(i) !== LF) {
          throw where.error('FORMAT', line, `${JSON.stringify(text[i])} after the closing quote of a quoted field`, 'A quoted field must end at a comma or the end of the line; write a quote inside it twice ("")')
        }
        values.push(value)
      } else {
        let end = i
        while (end < n) {
          const c = text.charCodeAt(end)
          if (c === COMMA || c === LF) break
          end++
        }
        values.push(text.slice(i, end))
        i = end
      }
      if (i >= n) break
      if (text.charCodeAt(i) === COMMA) {
        i++
        continue
      }
      i++ // the LF that ends the row
      line++
      break
    }
    yield { values, line: start }
  }
}

/** The rows of TSV text, escapes decoded, skipping empty lines. */
function* tsvRows(text: string): Generator<Row, void, undefined> {
  const lines = text.split('\n')
  for (let l = 0; l < lines.length; l++) {
    const row = lines[l]!
    if (row === '') continue
    yield { values: row.split('\t').map(unescapeTsv), line: l + 1 }
  }
}

const TSV_ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', '\\': '\\' }

/** Decodes \t \n \r \\ in a TSV field; other backslashes stay. */
export function unescapeTsv(value: string): string {
  if (!value.includes('\\')) return value
  return value.replace(/\\([tnr\\])/g, (_, c: string) => TSV_ESCAPES[c]!)
}

/** Line feeds in text[from, to). Looks at those characters only (indexOf would search on past `to`, which made a field of many "" quadratic). */
function countLineFeeds(text: string, from: number, to: number): number {
  let count = 0
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === LF) count++
  return count
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Builds "name line N: problem. Hint" errors (about content: no operation, the file is what the user knows). */
class Where {
  constructor(readonly name: string) {}

  error(code: 'DATA' | 'FORMAT', line: number, problem: string, hint: string): RecurError {
    return new RecurError(code, `${this.name} line ${line}: ${problem}`, hint)
  }
}

/** Names from the file, each cut to 40 characters, for listing in a message. */
function shortNames(names: readonly string[]): string[] {
  return names.map((name) => shorten(name, 40))
}

function shorten(text: string, most: number): string {
  const oneLine = text.replace(/\s+/g, ' ')
  return oneLine.length > most ? `${oneLine.slice(0, most)}…` : oneLine
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`
}
