/**
 * Loss curves as a standalone SVG document: no DOM, no `node:` modules, a string in and a string
 * out, so the CLI, a browser page and a notebook can all use it.
 *
 * What is drawn:
 * - training loss as a thin light line, and over it the same values smoothed with a debiased
 *   exponential moving average (the TensorBoard kind), whose window grows with the number of
 *   points (about 1/25 of them) unless `smoothing` says otherwise;
 * - validation loss as a line with a dot per measurement (dots left out past 60 measurements);
 * - a title, a one-line summary (final smoothed loss, best validation loss and where), a legend,
 *   axes with round tick values (1, 2, 5 x 10^k), and gridlines.
 *
 * Points whose step or value is NaN or ±Infinity are skipped (and so are values <= 0 on a log
 * scale). A series with one point is drawn as a dot. With nothing to draw, the axes are drawn
 * with a short note in the middle. Very long runs are thinned per pixel column, keeping each
 * column's first, lowest, highest and last value, so spikes survive and the file stays small.
 */

/** One point of a training log; `TrainingRecord` fits. */
export interface LossPoint {
  readonly step: number
  readonly loss?: number
  readonly valLoss?: number
}

export interface LossPlotOptions {
  /** Default 'Training loss'. */
  readonly title?: string
  /** Pixels; default 800 x 450, at least 320 x 200. */
  readonly width?: number
  readonly height?: number
  /** Logarithmic loss axis; useful when the first steps dwarf the rest. Default false. */
  readonly logScale?: boolean
  /**
   * Weight of the moving average in [0, 1): 0 draws no smoothed line, 0.9 averages over about
   * the last 10 points. Default: chosen from the number of points (none below 10 points).
   */
  readonly smoothing?: number
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
const COLORS = {
  background: '#ffffff',
  title: '#111827',
  text: '#4b5563',
  muted: '#6b7280',
  grid: '#e5e7eb',
  axis: '#9ca3af',
  trainingRaw: '#a5c8fb',
  training: '#2563eb',
  validation: '#ea580c',
} as const
/**
 * Average glyph width as a fraction of the font size, for layout estimates; generous, because
 * the widest common fallback (DejaVu Sans) is wider than system-ui fonts.
 */
const CHAR_WIDTH = 0.58
const BOLD_CHAR_WIDTH = 0.6
const MAX_VALIDATION_DOTS = 60
/** Space between legend entries, in pixels. */
const LEGEND_GAP = 24

interface Point {
  readonly x: number
  readonly y: number
}

interface Scale {
  readonly ticks: readonly number[]
  readonly format: (value: number) => string
  /** Maps a data value to [0, 1] along the axis. */
  readonly unit: (value: number) => number
}

/** Renders the loss curves of `records` as an SVG document (a string starting with `<svg`). */
export function renderLossPlotSvg(records: readonly LossPoint[], options: LossPlotOptions = {}): string {
  const width = Math.max(320, Math.round(options.width ?? 800))
  const height = Math.max(200, Math.round(options.height ?? 450))
  const logScale = options.logScale === true
  const title = options.title ?? 'Training loss'

  const usable = (value: number | undefined): value is number =>
    value !== undefined && Number.isFinite(value) && (!logScale || value > 0)
  const sorted = records.filter((r) => Number.isFinite(r.step)).sort((a, b) => a.step - b.step)
  const training: Point[] = []
  const validation: Point[] = []
  for (const record of sorted) {
    if (usable(record.loss)) training.push({ x: record.step, y: record.loss })
    if (usable(record.valLoss)) validation.push({ x: record.step, y: record.valLoss })
  }
  const weight = options.smoothing ?? autoSmoothing(training.length)
  const smoothed = weight > 0 && training.length >= 3 ? smooth(training, Math.min(weight, 0.999)) : []

  // Header: title and summary on the left, legend on the right (or under them if too wide).
  const titleSize = 18
  const textSize = 13
  const summary = summaryLine(training, smoothed, validation)
  const legend = legendItems(training.length > 0, smoothed.length > 0, validation.length > 0)
  const legendWidth = legend.reduce((sum, item) => sum + 28 + textWidth(item.label, textSize) + LEGEND_GAP, 0) - LEGEND_GAP
  const left0 = 20
  const titleBaseline = 32
  const summaryBaseline = 52

  // Axes: the loss labels decide how much room the left side needs.
  const all = [...training, ...validation]
  const yScale = logScale ? logAxis(all.map((p) => p.y), 34 / Math.max(100, height - 130)) : linearAxis(all.map((p) => p.y), 5, false)
  const yLabelWidth = Math.max(...yScale.ticks.map((t) => textWidth(yScale.format(t), 12)), 12)
  const plotLeft = left0 + 22 + yLabelWidth + 8
  const plotRight = width - 24
  const shownTitle = fitText(title, titleSize, plotRight - left0, true)
  const headerFits = textWidth(shownTitle, titleSize, true) + 32 + legendWidth <= plotRight - left0
  const legendBaseline = headerFits ? titleBaseline - 4 : summary === '' ? 54 : 74
  const plotTop = (headerFits ? (summary === '' ? 48 : 70) : legendBaseline + 20) + 6
  const plotBottom = height - 52
  const plotWidth = plotRight - plotLeft
  const plotHeight = plotBottom - plotTop
  const xScale = linearAxis(
    all.map((p) => p.x),
    Math.max(2, Math.round(plotWidth / 110)),
    true,
  )
  const px = (x: number): number => plotLeft + xScale.unit(x) * plotWidth
  const py = (y: number): number => plotBottom - yScale.unit(y) * plotHeight

  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="loss-plot-title" font-family="${FONT}">`,
    `<title id="loss-plot-title">${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="${COLORS.background}"/>`,
    `<defs><clipPath id="loss-plot-area"><rect x="${n(plotLeft - 6)}" y="${n(plotTop - 6)}" width="${n(plotWidth + 12)}" height="${n(plotHeight + 12)}"/></clipPath></defs>`,
  )

  // Header.
  out.push(text(left0, titleBaseline, shownTitle, { size: titleSize, weight: 600, fill: COLORS.title }))
  if (summary !== '') out.push(text(left0, summaryBaseline, fitText(summary, 12.5, plotRight - left0), { size: 12.5, fill: COLORS.muted }))
  let legendX = headerFits ? plotRight - legendWidth : left0
  out.push('<g class="legend">')
  for (const item of legend) {
    const y = legendBaseline - 4.5
    out.push(...item.swatch(legendX, y))
    out.push(text(legendX + 28, legendBaseline, item.label, { size: textSize, fill: COLORS.text }))
    legendX += 28 + textWidth(item.label, textSize) + LEGEND_GAP
  }
  out.push('</g>')

  // Grid and ticks.
  out.push(`<g class="grid" stroke="${COLORS.grid}" stroke-width="1" shape-rendering="crispEdges">`)
  for (const tick of yScale.ticks) out.push(line(plotLeft, crisp(py(tick)), plotRight, crisp(py(tick))))
  for (const tick of xScale.ticks) out.push(line(crisp(px(tick)), plotTop, crisp(px(tick)), plotBottom))
  out.push('</g>')
  out.push(`<g class="axes" stroke="${COLORS.axis}" stroke-width="1" shape-rendering="crispEdges">`)
  out.push(line(plotLeft, crisp(plotBottom), plotRight, crisp(plotBottom)))
  out.push(line(crisp(plotLeft), plotTop, crisp(plotLeft), plotBottom))
  for (const tick of xScale.ticks) out.push(line(crisp(px(tick)), plotBottom, crisp(px(tick)), plotBottom + 5))
  out.push('</g>')
  out.push(`<g class="tick-labels" font-size="12" fill="${COLORS.muted}" style="font-variant-numeric: tabular-nums">`)
  for (const tick of yScale.ticks) {
    out.push(`<text x="${n(plotLeft - 8)}" y="${n(py(tick) + 4)}" text-anchor="end">${escapeXml(yScale.format(tick))}</text>`)
  }
  for (const tick of xScale.ticks) {
    out.push(`<text x="${n(px(tick))}" y="${n(plotBottom + 20)}" text-anchor="middle">${escapeXml(xScale.format(tick))}</text>`)
  }
  out.push('</g>')
  out.push(text((plotLeft + plotRight) / 2, height - 14, 'step', { size: 12.5, fill: COLORS.text, anchor: 'middle' }))
  const yTitleX = left0 + 6
  const yTitleY = (plotTop + plotBottom) / 2
  out.push(
    `<text x="${n(yTitleX)}" y="${n(yTitleY)}" font-size="12.5" fill="${COLORS.text}" text-anchor="middle" transform="rotate(-90 ${n(yTitleX)} ${n(yTitleY)})">${logScale ? 'loss (log scale)' : 'loss'}</text>`,
  )

  // Series, clipped to the plot area.
  out.push('<g clip-path="url(#loss-plot-area)" fill="none" stroke-linejoin="round" stroke-linecap="round">')
  const project = (points: readonly Point[]): Point[] => points.map((p) => ({ x: px(p.x), y: py(p.y) }))
  if (training.length > 0) {
    const raw = thin(project(training))
    const color = smoothed.length > 0 ? COLORS.trainingRaw : COLORS.training
    const strokeWidth = smoothed.length > 0 ? 1.25 : 2
    out.push(series('training', raw, color, strokeWidth, raw.length === 1 ? 3.5 : 0))
  }
  if (smoothed.length > 0) out.push(series('training-smoothed', thin(project(smoothed)), COLORS.training, 2.25, 0))
  if (validation.length > 0) {
    const points = project(validation)
    const dot = points.length <= MAX_VALIDATION_DOTS ? 3.5 : 0
    out.push(series('validation', thin(points), COLORS.validation, 2, 0))
    if (dot > 0) {
      out.push(`<g class="validation-points" fill="${COLORS.background}" stroke="${COLORS.validation}" stroke-width="2">`)
      for (const p of points) out.push(`<circle cx="${n(p.x)}" cy="${n(p.y)}" r="${dot}"/>`)
      out.push('</g>')
    }
    if (points.length >= 2) {
      // The best validation loss, filled, as the summary line names it (pixel y grows downwards).
      const best = points.reduce((a, b) => (b.y > a.y ? b : a))
      out.push(`<circle class="validation-best" cx="${n(best.x)}" cy="${n(best.y)}" r="4.5" fill="${COLORS.validation}" stroke="${COLORS.background}" stroke-width="1.5"/>`)
    }
  }
  out.push('</g>')

  if (all.length === 0) {
    out.push(
      text((plotLeft + plotRight) / 2, (plotTop + plotBottom) / 2, 'No finite loss values to plot yet', {
        size: 14,
        fill: COLORS.muted,
        anchor: 'middle',
      }),
    )
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

// ---------------------------------------------------------------------------------------------
// Series

/** Default smoothing weight: none for under 10 points, else an average over about n/40 points each way. */
function autoSmoothing(count: number): number {
  if (count < 10) return 0
  const span = Math.max(2, count / 40)
  return 1 - 2 / (span + 1)
}

/**
 * Debiased exponential moving average run forwards, then backwards over the result:
 * s_k = w s_(k-1) + (1 - w) y_k, divided by 1 - w^k. One pass alone lags behind a falling loss
 * and draws the curve too high while it drops fast; the two passes cancel each other's lag.
 */
function smooth(points: readonly Point[], weight: number): Point[] {
  const forward = emaPass(
    points.map((p) => p.y),
    weight,
  )
  const backward = emaPass(forward.reverse(), weight).reverse()
  return points.map((p, i) => ({ x: p.x, y: backward[i]! }))
}

function emaPass(values: readonly number[], weight: number): number[] {
  const result: number[] = []
  let average = 0
  let correction = 1
  for (const value of values) {
    average = weight * average + (1 - weight) * value
    correction *= weight
    result.push(average / (1 - correction))
  }
  return result
}

/**
 * At most four points per pixel column (first, lowest, highest, last, in their order), which
 * draws the same picture as all of them. Points are in pixels, sorted by x.
 */
function thin(points: readonly Point[]): Point[] {
  if (points.length <= 2000) return [...points]
  const result: Point[] = []
  let i = 0
  while (i < points.length) {
    const column = Math.floor(points[i]!.x)
    let j = i
    let lowest = i
    let highest = i
    while (j < points.length && Math.floor(points[j]!.x) === column) {
      if (points[j]!.y > points[lowest]!.y) lowest = j // y grows downwards in pixels
      if (points[j]!.y < points[highest]!.y) highest = j
      j++
    }
    const keep = [...new Set([i, lowest, highest, j - 1])].sort((a, b) => a - b)
    for (const k of keep) result.push(points[k]!)
    i = j
  }
  return result
}

function series(name: string, points: readonly Point[], color: string, strokeWidth: number, dotRadius: number): string {
  if (points.length === 1 || dotRadius > 0) {
    return points.map((p) => `<circle class="${name}" cx="${n(p.x)}" cy="${n(p.y)}" r="${dotRadius || 3.5}" fill="${color}"/>`).join('\n')
  }
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join('')
  return `<path class="${name}" d="${d}" stroke="${color}" stroke-width="${strokeWidth}"/>`
}

function summaryLine(training: readonly Point[], smoothed: readonly Point[], validation: readonly Point[]): string {
  const parts: string[] = []
  const lastStep = Math.max(training.at(-1)?.x ?? Number.NEGATIVE_INFINITY, validation.at(-1)?.x ?? Number.NEGATIVE_INFINITY)
  if (Number.isFinite(lastStep)) parts.push(`step ${groupDigits(lastStep)}`)
  const final = smoothed.at(-1) ?? training.at(-1)
  if (final !== undefined) parts.push(`training ${final.y.toFixed(3)}${smoothed.length > 0 ? ' (smoothed)' : ''}`)
  if (validation.length > 0) {
    const best = validation.reduce((a, b) => (b.y < a.y ? b : a))
    parts.push(`best validation ${best.y.toFixed(3)} at step ${groupDigits(best.x)}`)
  }
  return parts.join(' · ')
}

interface LegendItem {
  readonly label: string
  readonly swatch: (x: number, y: number) => string[]
}

function legendItems(hasTraining: boolean, hasSmoothed: boolean, hasValidation: boolean): LegendItem[] {
  const items: LegendItem[] = []
  if (hasTraining) {
    items.push({
      label: 'training',
      swatch: (x, y) => [
        `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 20)}" y2="${n(y)}" stroke="${hasSmoothed ? COLORS.trainingRaw : COLORS.training}" stroke-width="${hasSmoothed ? 2 : 2.5}" stroke-linecap="round"/>`,
      ],
    })
  }
  if (hasSmoothed) {
    items.push({
      label: 'smoothed',
      swatch: (x, y) => [`<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 20)}" y2="${n(y)}" stroke="${COLORS.training}" stroke-width="2.5" stroke-linecap="round"/>`],
    })
  }
  if (hasValidation) {
    items.push({
      label: 'validation',
      swatch: (x, y) => [
        `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 20)}" y2="${n(y)}" stroke="${COLORS.validation}" stroke-width="2" stroke-linecap="round"/>`,
        `<circle cx="${n(x + 10)}" cy="${n(y)}" r="3.5" fill="${COLORS.background}" stroke="${COLORS.validation}" stroke-width="2"/>`,
      ],
    })
  }
  return items
}

// ---------------------------------------------------------------------------------------------
// Axes

/** A step of 1, 2 or 5 x 10^k that cuts `span` into about `count` pieces. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const residual = raw / magnitude
  const factor = residual >= 7.5 ? 10 : residual >= 3.5 ? 5 : residual >= 1.5 ? 2 : 1
  return factor * magnitude
}

/** Removes float noise from tick values: 0.30000000000000004 -> 0.3. */
function clean(value: number): number {
  return Number(value.toPrecision(12))
}

/**
 * A linear axis with round ticks. The loss axis (`exact` false) widens its domain to the ticks
 * around the data; the step axis (`exact` true) keeps the data's extent and uses whole steps.
 */
function linearAxis(values: readonly number[], count: number, exact: boolean): Scale {
  let lo = values.length > 0 ? Math.min(...values) : 0
  let hi = values.length > 0 ? Math.max(...values) : 1
  if (lo === hi) {
    const pad = exact ? Math.max(1, Math.abs(lo) * 0.1) : Math.abs(lo) * 0.1 || 1
    lo -= pad
    hi += pad
  }
  let step = niceStep(hi - lo, count)
  if (exact) step = Math.max(1, step)
  if (!exact) {
    lo = clean(Math.floor(lo / step) * step)
    hi = clean(Math.ceil(hi / step) * step)
  }
  const ticks: number[] = []
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(clean(k * step))
  const decimals = decimalsFor(step)
  return {
    ticks,
    format: (value) => formatTick(value, decimals),
    unit: (value) => (value - lo) / (hi - lo),
  }
}

/** Tick mantissas for a log axis, densest first; the densest whose ticks stay apart is used. */
const LOG_TICK_TIERS: readonly (readonly number[])[] = [
  [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8],
  [1, 1.5, 2, 3, 5, 7],
  [1, 2, 3, 5],
  [1, 2, 5],
  [1, 3],
  [1],
]

/**
 * A log axis with 5% room above and below the data. Its ticks are round numbers from the
 * densest tier above whose neighbours are at least `minGap` of the axis apart (1, 1.5, 2, 3, 5
 * over one decade; 1, 10, 100 over many); a range too narrow for two such ticks gets linear ones.
 */
function logAxis(values: readonly number[], minGap: number): Scale {
  const positive = values.filter((v) => v > 0)
  let lo = positive.length > 0 ? Math.min(...positive) : 0.1
  let hi = positive.length > 0 ? Math.max(...positive) : 10
  if (lo === hi) {
    lo /= 1.5
    hi *= 1.5
  }
  const margin = (Math.log10(hi) - Math.log10(lo)) * 0.05
  const logLo = Math.log10(lo) - margin
  const logHi = Math.log10(hi) + margin
  const unit = (value: number): number => (Math.log10(value) - logLo) / (logHi - logLo)
  let ticks: number[] = []
  for (const tier of LOG_TICK_TIERS) {
    const candidates: number[] = []
    for (let e = Math.floor(logLo); e <= Math.ceil(logHi); e++) {
      for (const m of tier) {
        const v = clean(m * 10 ** e)
        if (unit(v) >= -1e-9 && unit(v) <= 1 + 1e-9) candidates.push(v)
      }
    }
    const apart = candidates.every((v, i) => i === 0 || unit(v) - unit(candidates[i - 1]!) >= minGap)
    if (apart && candidates.length >= 2) {
      ticks = candidates
      break
    }
  }
  if (ticks.length === 0) {
    // Whole decades too dense (many decades): keep every k-th power of ten.
    const decades = logHi - logLo
    const stride = Math.ceil(minGap * decades)
    for (let e = Math.ceil(logLo); e <= logHi; e++) if (e % stride === 0) ticks.push(clean(10 ** e))
  }
  if (ticks.length < 2) {
    const step = niceStep(10 ** logHi - 10 ** logLo, 4)
    ticks = []
    for (let k = Math.ceil(10 ** logLo / step); k * step <= 10 ** logHi; k++) if (k > 0) ticks.push(clean(k * step))
  }
  // Each tick with its own decimals, as log axes are usually labelled: 0.01, 0.1, 1, 10.
  return {
    ticks,
    format: (value) => formatTick(value, decimalsFor(value)),
    unit,
  }
}

/** Decimals needed to print multiples of `step` exactly (0.25 -> 2, 5 -> 0). */
function decimalsFor(step: number): number {
  for (let d = 0; d <= 8; d++) {
    const scaled = step * 10 ** d
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d
  }
  return 8
}

/** Tick text: 0.25, 1.5, 900, 2k, 12.5k, 1.2M. */
function formatTick(value: number, decimals: number): string {
  const magnitude = Math.abs(value)
  if (magnitude >= 1e6 && decimals === 0) return `${trimZeros((value / 1e6).toFixed(3))}M`
  if (magnitude >= 1e3 && decimals === 0) return `${trimZeros((value / 1e3).toFixed(3))}k`
  return value.toFixed(decimals)
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text
}

function groupDigits(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

// ---------------------------------------------------------------------------------------------
// SVG text

/** Rounds a coordinate to 0.1 px, which is all a screen can show, and keeps the file small. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10)
}

/** Centres a 1 px line on a pixel so it renders sharp. */
function crisp(value: number): number {
  return Math.round(value) + 0.5
}

function line(x1: number, y1: number, x2: number, y2: number): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}"/>`
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size: number; fill: string; weight?: number; anchor?: 'start' | 'middle' | 'end' },
): string {
  const weight = style.weight === undefined ? '' : ` font-weight="${style.weight}"`
  const anchor = style.anchor === undefined ? '' : ` text-anchor="${style.anchor}"`
  return `<text x="${n(x)}" y="${n(y)}" font-size="${style.size}" fill="${style.fill}"${weight}${anchor}>${escapeXml(content)}</text>`
}

/** `content`, cut with an ellipsis when its estimated width exceeds `width` pixels. */
function fitText(content: string, size: number, width: number, bold = false): string {
  if (textWidth(content, size, bold) <= width) return content
  const keep = Math.max(1, Math.floor(width / (size * (bold ? BOLD_CHAR_WIDTH : CHAR_WIDTH))) - 1)
  return `${[...content].slice(0, keep).join('').trimEnd()}…`
}

function textWidth(content: string, size: number, bold = false): number {
  return [...content].length * size * (bold ? BOLD_CHAR_WIDTH : CHAR_WIDTH)
}

function escapeXml(content: string): string {
  return content
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}
