/**
 * Pure text formatting for the command line: durations, rates, counts, sizes, word wrapping and
 * aligned tables. Nothing here prints or reads the environment; every function returns a string.
 * Width is measured in terminal columns by `displayWidth` (code points, ANSI escapes ignored).
 */

// ---------------------------------------------------------------------------------------------
// Numbers

const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'] as const

/**
 * A count in at most three significant digits with an SI suffix: 950 -> "950", 12_345 -> "12.3k",
 * 1_500_000 -> "1.5M". Trailing zeros are dropped ("2k", not "2.00k"). Non-finite values print as
 * "NaN", "∞" or "-∞".
 */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value)
  const sign = value < 0 ? '-' : ''
  let magnitude = Math.abs(value)
  let prefix = 0
  // Divide while the rounded value would show four digits, so 999.7 becomes "1k", not "1000".
  while (Number(roundSignificant(magnitude, 3)) >= 1000 && prefix < SI_PREFIXES.length - 1) {
    magnitude /= 1000
    prefix++
  }
  return sign + trimZeros(roundSignificant(magnitude, 3)) + SI_PREFIXES[prefix]
}

/** A rate per second, e.g. `formatRate(12_345)` -> "12.3k tok/s", `formatRate(3.2, 'step')` -> "3.2 step/s". */
export function formatRate(perSecond: number, unit = 'tok'): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `-- ${unit}/s`
  return `${formatCompact(perSecond)} ${unit}/s`
}

/** An integer with thousands separators, independent of locale: 1234567 -> "1,234,567". */
export function formatInteger(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value)
  const rounded = Math.round(value)
  const digits = String(Math.abs(rounded))
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return rounded < 0 ? `-${grouped}` : grouped
}

/** A fixed number of decimals, with non-finite values spelled out: (1.23456, 3) -> "1.235". */
export function formatFixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return nonFinite(value)
  return value.toFixed(decimals)
}

/** A fraction in [0, 1] as a percentage: 0.25 -> "25%"; `decimals` for more precision. */
export function formatPercent(fraction: number, decimals = 0): string {
  if (!Number.isFinite(fraction)) return `${nonFinite(fraction)}%`
  return `${(fraction * 100).toFixed(decimals)}%`
}

/** A size in bytes with binary prefixes: 512 -> "512 B", 1536 -> "1.5 KiB", 3 * 2**20 -> "3 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${nonFinite(bytes)} B`
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const
  let magnitude = Math.abs(bytes)
  let unit = 0
  while (magnitude >= 1023.95 && unit < units.length - 1) {
    magnitude /= 1024
    unit++
  }
  const text = unit === 0 ? String(Math.round(magnitude)) : trimZeros(magnitude.toFixed(1))
  return `${bytes < 0 ? '-' : ''}${text} ${units[unit]}`
}

/**
 * A duration in seconds as "mm:ss", or "h:mm:ss" from one hour up: 83 -> "01:23",
 * 3725 -> "1:02:05". Negative or non-finite durations (an unknown ETA) print as "--:--".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--'
  const total = Math.floor(seconds)
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const secs = total % 60
  const mmss = `${pad2(minutes)}:${pad2(secs)}`
  return hours > 0 ? `${hours}:${mmss}` : mmss
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value)
}

function nonFinite(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? '∞' : '-∞'
}

/** `value` rounded to `digits` significant digits, printed without exponent for values < 1e21. */
function roundSignificant(value: number, digits: number): string {
  if (value === 0) return '0'
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(value)))
  const rounded = Number(value.toFixed(decimals))
  // Rounding may carry into a new digit (9.995 -> 10.00); recompute the decimals for it.
  const decimalsAfter = Math.max(0, digits - 1 - Math.floor(Math.log10(rounded)))
  return rounded.toFixed(Math.min(decimals, decimalsAfter))
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text
}

// ---------------------------------------------------------------------------------------------
// Text

// Matches CSI sequences such as colours and clear-line, which take no columns on screen.
const ANSI_PATTERN = /\x1b\[[0-9;?]*[A-Za-z]/g

/** Columns `text` takes on a terminal: code points, with ANSI escape sequences not counted. */
export function displayWidth(text: string): number {
  let width = 0
  for (const _ of text.replace(ANSI_PATTERN, '')) width++
  return width
}

/** `text` padded with spaces to `width` columns, on the right (`align` 'left') or the left. */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)))
  return align === 'left' ? text + fill : fill + text
}

/** `text` cut to at most `width` columns, ending in "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 0) return ''
  const codePoints = [...text.replace(ANSI_PATTERN, '')]
  return codePoints.slice(0, width - 1).join('') + '…'
}

/**
 * Words of `text` joined into lines of at most `width` columns. Words are separated by spaces
 * and tabs only, so a no-break space (U+00A0) holds two words together. Existing newlines are
 * kept; a word longer than `width` gets a line of its own rather than being split.
 */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = []
  for (const paragraph of text.split('\n')) {
    let line = ''
    for (const word of paragraph.split(/[ \t]+/).filter((w) => w.length > 0)) {
      if (line === '') line = word
      else if (displayWidth(line) + 1 + displayWidth(word) <= width) line += ` ${word}`
      else {
        lines.push(line)
        line = word
      }
    }
    lines.push(line)
  }
  return lines
}

// ---------------------------------------------------------------------------------------------
// Tables

export interface TableOptions {
  /** Column titles, printed as the first row. */
  readonly header?: readonly string[]
  /** Alignment per column; numbers read best right-aligned. Default 'left' for every column. */
  readonly align?: readonly ('left' | 'right')[]
  /** Spaces between columns. Default 2. */
  readonly gap?: number
  /** Spaces before every line. Default 0. */
  readonly indent?: number
  /** Draw a line of '─' under the header. Default true when there is a header. */
  readonly rule?: boolean
}

/**
 * Rows of cells as aligned columns, one string with a line per row (no trailing newline). Rows
 * may have fewer cells than others; the missing cells are empty. Trailing spaces are trimmed.
 *
 *     formatTable([['lstm', '1,234'], ['gru', '56']], { header: ['cell', 'params'], align: ['left', 'right'] })
 *     // cell  params
 *     // ────  ──────
 *     // lstm   1,234
 *     // gru       56
 */
export function formatTable(rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const gap = ' '.repeat(options.gap ?? 2)
  const indent = ' '.repeat(options.indent ?? 0)
  const all = options.header === undefined ? rows : [options.header, ...rows]
  const columnCount = Math.max(0, ...all.map((row) => row.length))
  const widths: number[] = []
  for (let c = 0; c < columnCount; c++) {
    widths.push(Math.max(0, ...all.map((row) => displayWidth(row[c] ?? ''))))
  }
  const renderRow = (row: readonly string[]): string =>
    (indent + widths.map((w, c) => pad(row[c] ?? '', w, options.align?.[c] ?? 'left')).join(gap)).trimEnd()
  const lines: string[] = []
  if (options.header !== undefined) {
    lines.push(renderRow(options.header))
    if (options.rule ?? true) lines.push(renderRow(widths.map((w) => '─'.repeat(w))))
  }
  for (const row of rows) lines.push(renderRow(row))
  return lines.join('\n')
}

/**
 * Labelled values, labels aligned, for summaries such as `recur info`:
 *
 *     formatKeyValues([['cell', 'lstm'], ['parameters', '1,234,567']])
 *     // cell        lstm
 *     // parameters  1,234,567
 */
export function formatKeyValues(pairs: readonly (readonly [string, string])[], options: { readonly indent?: number } = {}): string {
  return formatTable(pairs, { gap: 2, indent: options.indent ?? 0 })
}
