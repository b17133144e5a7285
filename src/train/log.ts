/**
 * Training logs: one record per logged step, as CSV (`.csv`) or JSON lines (`.jsonl`), chosen by
 * the file's extension.
 *
 * Crash safety: each record is one `write` of one complete line to a file opened for appending,
 * so a crash loses at most the line being written. A file left with an unterminated last line is
 * cut back to its last newline before new records are appended, and the reader skips such a line
 * (and says so in `truncatedLastLine`). Lines are not fsync'ed: a process crash loses nothing
 * already written, a power cut may lose what the OS had not flushed.
 *
 * CSV: a header line, then one line per record. The columns are always
 * `step,time,loss,valLoss,lr,tokensPerSecond`, then the extra columns in the order they were
 * declared (or first seen). An absent value is an empty cell; NaN and ±Infinity are written as
 * `NaN`, `Infinity`, `-Infinity`, which `Number()` reads back. Appending to an existing CSV file
 * requires the same header; anything else is a 'FILE' error rather than a file with two layouts.
 *
 * JSONL: one JSON object per line, keys in the same order. JSON has no NaN or Infinity, so those
 * are written as the strings "NaN", "Infinity", "-Infinity" and read back as numbers.
 */

import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import { extname } from 'node:path'

import { RecurError } from '../errors.js'

/** One logged step. Extra numeric fields (gradient norm, epoch, ...) become extra columns. */
export interface TrainingRecord {
  readonly step: number
  /** Seconds since the run started. */
  readonly time: number
  /** Training loss (mean per token) at this step. */
  readonly loss: number
  /** Validation loss, on the steps where it was measured. */
  readonly valLoss?: number
  /** Learning rate used at this step. */
  readonly lr: number
  readonly tokensPerSecond: number
  readonly [extra: string]: number | undefined
}

export type TrainingLogFormat = 'csv' | 'jsonl'

/** The standard columns, in file order. Only `valLoss` may be empty. */
export const STANDARD_COLUMNS = ['step', 'time', 'loss', 'valLoss', 'lr', 'tokensPerSecond'] as const
const REQUIRED_COLUMNS = ['step', 'time', 'loss', 'lr', 'tokensPerSecond'] as const
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** 'csv' for `.csv`, 'jsonl' for `.jsonl`; anything else is a 'FILE' error naming both. */
export function trainingLogFormat(path: string): TrainingLogFormat {
  const extension = extname(path).toLowerCase()
  if (extension === '.csv') return 'csv'
  if (extension === '.jsonl') return 'jsonl'
  throw new RecurError('FILE', `training log ${path}: unknown extension '${extension}'`, 'Use a .csv or .jsonl file name')
}

export interface TrainingLogOptions {
  /**
   * Extra columns after the standard ones, in this order. When left out, the extra fields of the
   * first record written fix them (CSV); a later record with a field that is not a column is an
   * error rather than a silently dropped value.
   */
  readonly extraColumns?: readonly string[]
  /**
   * Cut off, on opening, the records of steps after this one: a run resumed from the checkpoint
   * of this step replays those steps, and a crash may have logged some past the checkpoint.
   */
  readonly dropAfterStep?: number
}

/**
 * Appends training records to a CSV or JSONL file, one line per `append`. Opening creates the
 * file if needed; `close` releases it (appending after `close` is a 'STATE' error).
 *
 *     const log = new TrainingLogWriter('runs/shakespeare/log.csv')
 *     log.append({ step: 100, time: 12.5, loss: 1.93, lr: 2e-3, tokensPerSecond: 41_000 })
 *     log.close()
 */
export class TrainingLogWriter {
  readonly path: string
  readonly format: TrainingLogFormat
  private fd: number | undefined
  private columns: readonly string[] | undefined
  /** The existing CSV header when appending to a file; checked against the columns on first write. */
  private existingHeader: string | undefined

  constructor(path: string, options: TrainingLogOptions = {}) {
    this.path = path
    this.format = trainingLogFormat(path)
    if (options.extraColumns !== undefined) this.columns = this.checkedColumns(options.extraColumns)
    try {
      // 'a+': created if absent, every write lands at the end (O_APPEND), and we can read the header.
      this.fd = openSync(path, 'a+')
    } catch (error) {
      throw new RecurError('FILE', `training log ${path}: cannot open for writing (${errorText(error)})`, 'Check that the folder exists and is writable')
    }
    const fd = this.fd
    let existing = cutToLastNewline(fd)
    if (options.dropAfterStep !== undefined && existing > 0) existing = cutAfterStep(fd, existing, this.format, options.dropAfterStep)
    if (this.format === 'csv' && existing > 0) this.existingHeader = readFirstLine(fd, existing)
    if (this.columns !== undefined) this.checkHeader()
  }

  /** Writes one record as one line. Non-finite values are kept (a NaN loss is worth seeing). */
  append(record: TrainingRecord): void {
    if (this.fd === undefined) throw new RecurError('STATE', `training log ${this.path}: append after close`)
    for (const name of REQUIRED_COLUMNS) {
      if (typeof record[name] !== 'number') {
        throw new RecurError('FORMAT', `training log ${this.path}: record at step ${String(record.step)} has no number '${name}'`)
      }
    }
    if (this.columns === undefined) {
      this.columns = this.checkedColumns(Object.keys(record).filter((key) => !(STANDARD_COLUMNS as readonly string[]).includes(key)))
      this.checkHeader()
    }
    for (const key of Object.keys(record)) {
      if (!this.columns.includes(key) && record[key] !== undefined) {
        throw new RecurError(
          'FORMAT',
          `training log ${this.path}: field '${key}' at step ${record.step} is not a column (${this.columns.join(', ')})`,
          'Declare it in extraColumns when opening the log',
        )
      }
    }
    let line: string
    if (this.format === 'csv') {
      if (this.existingHeader === undefined) {
        this.writeText(`${this.columns.join(',')}\n`)
        this.existingHeader = this.columns.join(',')
      }
      line = this.columns.map((column) => csvCell(record[column])).join(',')
    } else {
      const object: Record<string, number | string> = {}
      for (const column of this.columns) {
        const value = record[column]
        if (value !== undefined) object[column] = Number.isFinite(value) ? value : String(value)
      }
      line = JSON.stringify(object)
    }
    this.writeText(`${line}\n`)
  }

  close(): void {
    if (this.fd === undefined) return
    closeSync(this.fd)
    this.fd = undefined
  }

  private checkedColumns(extra: readonly string[]): readonly string[] {
    for (const name of extra) {
      if (!COLUMN_NAME.test(name)) {
        throw new RecurError('FORMAT', `training log ${this.path}: column name '${name}' must be letters, digits and '_'`)
      }
      if ((STANDARD_COLUMNS as readonly string[]).includes(name)) {
        throw new RecurError('FORMAT', `training log ${this.path}: '${name}' is a standard column, not an extra one`)
      }
    }
    return [...STANDARD_COLUMNS, ...new Set(extra)]
  }

  private checkHeader(): void {
    if (this.format !== 'csv' || this.existingHeader === undefined || this.columns === undefined) return
    const header = this.columns.join(',')
    if (this.existingHeader !== header) {
      this.close()
      throw new RecurError(
        'FILE',
        `training log ${this.path}: the file has columns '${this.existingHeader}', this run writes '${header}'`,
        'Log to a new file, or move the old one away',
      )
    }
  }

  private writeText(text: string): void {
    const bytes = Buffer.from(text, 'utf8')
    let offset = 0
    // One write call per line; the loop only matters for a short write, which files rarely do.
    while (offset < bytes.length) offset += writeSync(this.fd!, bytes, offset, bytes.length - offset)
  }
}

/** Cuts an unterminated last line off the open file; returns the remaining size in bytes. */
function cutToLastNewline(fd: number): number {
  const size = fstatSync(fd).size
  if (size === 0) return 0
  const chunk = Buffer.alloc(4096)
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - chunk.length)
    const length = readSync(fd, chunk, 0, end - start, start)
    const newline = chunk.subarray(0, length).lastIndexOf(0x0a)
    if (newline >= 0) {
      const keep = start + newline + 1
      if (keep !== size) ftruncateSync(fd, keep)
      return keep
    }
    end = start
  }
  ftruncateSync(fd, 0)
  return 0
}

/**
 * Cuts the open file (`size` bytes of complete lines) before the first record whose step is
 * greater than `step`; returns the remaining size. Lines it cannot read as records are kept.
 */
function cutAfterStep(fd: number, size: number, format: TrainingLogFormat, step: number): number {
  const bytes = Buffer.alloc(size)
  let read = 0
  while (read < size) read += readSync(fd, bytes, read, size - read, read)
  let stepColumn = -1
  let start = 0
  let first = true
  while (start < size) {
    const end = bytes.indexOf(0x0a, start)
    const line = bytes.subarray(start, end < 0 ? size : end).toString('utf8').replace(/\r$/, '')
    let lineStep = Number.NaN
    if (format === 'csv' && first) stepColumn = line.split(',').map((c) => c.trim()).indexOf('step')
    else if (format === 'csv') lineStep = stepColumn < 0 ? Number.NaN : Number(line.split(',')[stepColumn])
    else lineStep = Number(tryParseObject(line)?.['step'])
    if (line.trim() !== '') first = false
    if (lineStep > step) {
      ftruncateSync(fd, start)
      return start
    }
    start = end < 0 ? size : end + 1
  }
  return size
}

function readFirstLine(fd: number, size: number): string {
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024))
  const length = readSync(fd, chunk, 0, chunk.length, 0)
  const text = chunk.subarray(0, length).toString('utf8')
  const newline = text.indexOf('\n')
  return (newline < 0 ? text : text.slice(0, newline)).replace(/\r$/, '')
}

function csvCell(value: number | undefined): string {
  return value === undefined ? '' : String(value)
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface TrainingLog {
  readonly format: TrainingLogFormat
  /** Column names in file order (CSV: the header; JSONL: the keys in order of first appearance). */
  readonly columns: readonly string[]
  readonly records: readonly TrainingRecord[]
  /** True when the last line was incomplete (the writer was interrupted) and was skipped. */
  readonly truncatedLastLine: boolean
}

/** Reads a training log written by `TrainingLogWriter` (or by hand in the same layout). */
export function readTrainingLog(path: string): TrainingLog {
  const format = trainingLogFormat(path)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new RecurError('FILE', `training log ${path}: cannot read (${errorText(error)})`)
  }
  return parseTrainingLog(text, format, path)
}

/**
 * Parses the text of a training log. A last line without its newline is an interrupted write:
 * in CSV it is skipped (a cut number can still look like a number); in JSONL it is kept only if
 * it parses as a complete object. Blank lines are ignored; any other bad line is a 'FORMAT'
 * error naming its line number.
 */
export function parseTrainingLog(text: string, format: TrainingLogFormat, name = 'training log'): TrainingLog {
  const lines = text.split('\n')
  let truncatedLastLine = false
  const last = lines.pop() ?? ''
  if (last.trim() !== '') {
    if (format === 'jsonl' && tryParseObject(last) !== undefined) lines.push(last)
    else truncatedLastLine = true
  }
  const result = format === 'csv' ? parseCsv(lines, name) : parseJsonLines(lines, name)
  return { format, ...result, truncatedLastLine }
}

function parseCsv(lines: readonly string[], name: string): { columns: readonly string[]; records: TrainingRecord[] } {
  const headerIndex = lines.findIndex((line) => line.trim() !== '')
  if (headerIndex < 0) return { columns: [], records: [] }
  const columns = lines[headerIndex]!.replace(/\r$/, '').split(',').map((c) => c.trim())
  for (const required of REQUIRED_COLUMNS) {
    if (!columns.includes(required)) {
      throw new RecurError('FORMAT', `${name}: the CSV header has no '${required}' column (header: ${columns.join(',')})`)
    }
  }
  const records: TrainingRecord[] = []
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '')
    if (line.trim() === '') continue
    const cells = line.split(',')
    if (cells.length !== columns.length) {
      throw new RecurError('FORMAT', `${name}, line ${i + 1}: ${cells.length} values for ${columns.length} columns`)
    }
    const record: Record<string, number> = {}
    columns.forEach((column, c) => {
      const cell = cells[c]!.trim()
      if (cell === '') return
      record[column] = parseNumber(cell, `${name}, line ${i + 1}, column ${column}`)
    })
    records.push(checkRecord(record, `${name}, line ${i + 1}`))
  }
  return { columns, records }
}

function parseJsonLines(lines: readonly string[], name: string): { columns: readonly string[]; records: TrainingRecord[] } {
  const columns = new Set<string>()
  const records: TrainingRecord[] = []
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return
    const where = `${name}, line ${i + 1}`
    const object = tryParseObject(raw)
    if (object === undefined) throw new RecurError('FORMAT', `${where}: not a JSON object`)
    const record: Record<string, number> = {}
    for (const [key, value] of Object.entries(object)) {
      if (value === null) continue
      if (typeof value === 'number') record[key] = value
      else if (typeof value === 'string') record[key] = parseNumber(value, `${where}, field ${key}`)
      else throw new RecurError('FORMAT', `${where}: field '${key}' is not a number`)
      columns.add(key)
    }
    records.push(checkRecord(record, where))
  })
  return { columns: [...columns], records }
}

function tryParseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function parseNumber(text: string, where: string): number {
  if (text === 'NaN') return Number.NaN
  const value = Number(text)
  if (Number.isNaN(value) || text.trim() === '') throw new RecurError('FORMAT', `${where}: '${text}' is not a number`)
  return value
}

function checkRecord(record: Record<string, number>, where: string): TrainingRecord {
  for (const required of REQUIRED_COLUMNS) {
    if (record[required] === undefined) throw new RecurError('FORMAT', `${where}: no value for '${required}'`)
  }
  return record as unknown as TrainingRecord
}
