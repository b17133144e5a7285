/**
 * A training progress bar that behaves on a terminal and in a log file.
 *
 * On a TTY it redraws one line in place (`\r`, then clear to end of line), at most every
 * `redrawIntervalMs`, fitted to `stream.columns`:
 *
 *      450/1000 [███████████▌             ]   45%  loss 1.234  val 1.456  12.3k tok/s  01:23  eta 01:41
 *
 * Anywhere else (CI, `| tee`, a file) it prints a plain line every `plainEveryPercent` percent or
 * every `plainEverySeconds` seconds, whichever comes first, so the log stays readable:
 *
 *     step 450/1000 (45%)  loss 1.234  val 1.456  12.3k tok/s  elapsed 01:23  eta 01:41
 *
 * The ETA divides the steps left by a smoothed step rate: steps and seconds are summed with
 * weights that halve about every 14 s (time constant 20 s), so it follows the recent speed without
 * jumping at every step. The clock is injectable (`now`, in milliseconds) so tests need no timers.
 * The bar never reads the environment; the caller passes the stream (and `isTTY` to override).
 */

import { RecurError } from '../errors.js'
import { displayWidth, formatDuration, formatFixed, formatRate, truncate } from './format.js'

/** What the bar writes to: `process.stderr` fits, and so does a test double. */
export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean | undefined
  /** Terminal width in columns; 80 when unknown. */
  readonly columns?: number | undefined
}

export interface ProgressBarOptions {
  /** The step count at which training ends (>= 1). */
  readonly total: number
  readonly stream: ProgressStream
  /** Redraw in place (true) or print plain lines (false). Default: `stream.isTTY === true`. */
  readonly isTTY?: boolean
  /** Clock in milliseconds. Default `performance.now()`. */
  readonly now?: () => number
  /** The step training starts from (a resumed run). Default 0. */
  readonly startStep?: number
  /** The unit of `tokensPerSecond` in the output. Default 'tok'. */
  readonly unit?: string
  /** TTY: the shortest time between redraws. Default 100 ms (10 redraws a second). */
  readonly redrawIntervalMs?: number
  /** Not a TTY: print a line each time progress passes a multiple of this percentage. Default 10. */
  readonly plainEveryPercent?: number
  /** Not a TTY: also print a line when this many seconds passed since the last one. Default 30. */
  readonly plainEverySeconds?: number
}

export interface ProgressUpdate {
  readonly step: number
  readonly loss: number
  /** The latest validation loss; kept and shown until a newer one arrives. */
  readonly valLoss?: number
  readonly tokensPerSecond: number
}

/** Time constant of the step-rate average behind the ETA, in seconds. */
const RATE_TIME_CONSTANT_S = 20
const MIN_BAR_WIDTH = 10
const MAX_BAR_WIDTH = 40
const BAR_EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const
const CLEAR_TO_END = '\x1b[K'

/** The state a bar line shows. */
export interface ProgressSnapshot {
  readonly step: number
  readonly loss: number
  readonly valLoss: number | undefined
  readonly tokensPerSecond: number
}

export class ProgressBar {
  private readonly total: number
  private readonly stream: ProgressStream
  private readonly tty: boolean
  private readonly now: () => number
  private readonly unit: string
  private readonly redrawIntervalMs: number
  private readonly plainEveryPercent: number
  private readonly plainEveryMs: number
  private readonly startTime: number

  private latest: ProgressSnapshot | undefined
  private valLoss: number | undefined
  private lastDrawTime = Number.NEGATIVE_INFINITY
  private barOnScreen = false
  private drawnSnapshot: ProgressSnapshot | undefined
  private lastPrintedStep: number | undefined
  private lastPrintTime: number
  private lastPrintBucket = -1
  private finished = false

  // Exponentially weighted sums of steps and milliseconds, for the smoothed rate.
  private rateSteps = 0
  private rateMs = 0
  private rateLastStep: number
  private rateLastTime: number

  constructor(options: ProgressBarOptions) {
    if (!Number.isInteger(options.total) || options.total < 1) {
      throw new RecurError('RANGE', `ProgressBar: total must be an integer >= 1, got ${options.total}`)
    }
    this.total = options.total
    this.stream = options.stream
    this.tty = options.isTTY ?? options.stream.isTTY === true
    this.now = options.now ?? (() => performance.now())
    this.unit = options.unit ?? 'tok'
    this.redrawIntervalMs = options.redrawIntervalMs ?? 100
    this.plainEveryPercent = options.plainEveryPercent ?? 10
    this.plainEveryMs = (options.plainEverySeconds ?? 30) * 1000
    this.startTime = this.now()
    this.lastPrintTime = this.startTime
    this.rateLastStep = options.startStep ?? 0
    this.rateLastTime = this.startTime
  }

  /** Records progress; draws (TTY) or prints (otherwise) only when it is time to. */
  update(progress: ProgressUpdate): void {
    if (this.finished) return
    const time = this.now()
    if (progress.valLoss !== undefined) this.valLoss = progress.valLoss
    this.latest = { step: progress.step, loss: progress.loss, valLoss: this.valLoss, tokensPerSecond: progress.tokensPerSecond }
    this.observeRate(progress.step, time)
    const last = progress.step >= this.total
    if (this.tty) {
      if (last || time - this.lastDrawTime >= this.redrawIntervalMs) this.draw(time)
    } else {
      const bucket = Math.floor((Math.min(progress.step, this.total) / this.total) * 100 / this.plainEveryPercent)
      const due = this.lastPrintedStep === undefined || last || bucket > this.lastPrintBucket || time - this.lastPrintTime >= this.plainEveryMs
      if (due) this.printPlain(time, bucket)
    }
  }

  /** Prints `line` (a message, an evaluation result) above the bar, then draws the bar again. */
  log(line: string): void {
    if (this.tty && this.barOnScreen) {
      this.stream.write(`\r${CLEAR_TO_END}${line}\n`)
      this.barOnScreen = false
      if (!this.finished) this.draw(this.now())
    } else {
      this.stream.write(`${line}\n`)
    }
  }

  /** Draws the final state and moves past the bar. Safe to call twice. */
  done(): void {
    if (this.finished) return
    const time = this.now()
    if (this.latest !== undefined) {
      if (this.tty) {
        if (this.drawnSnapshot !== this.latest) this.draw(time)
      } else if (this.lastPrintedStep !== this.latest.step) {
        this.printPlain(time, this.lastPrintBucket)
      }
    }
    if (this.barOnScreen) this.stream.write('\n')
    this.barOnScreen = false
    this.finished = true
  }

  /** Steps per millisecond, smoothed; undefined until there is a measurement. */
  private stepRate(): number | undefined {
    return this.rateMs > 0 && this.rateSteps > 0 ? this.rateSteps / this.rateMs : undefined
  }

  private observeRate(step: number, time: number): void {
    const steps = step - this.rateLastStep
    const ms = time - this.rateLastTime
    if (steps < 0) {
      // The step went backwards (a new run reusing the bar): start the average over.
      this.rateSteps = 0
      this.rateMs = 0
    } else if (ms > 0) {
      const decay = Math.exp(-ms / (RATE_TIME_CONSTANT_S * 1000))
      this.rateSteps = this.rateSteps * decay + steps
      this.rateMs = this.rateMs * decay + ms
    }
    this.rateLastStep = step
    this.rateLastTime = time
  }

  private timing(time: number, snapshot: ProgressSnapshot): { elapsed: string; eta: string | undefined } {
    const elapsed = formatDuration((time - this.startTime) / 1000)
    if (snapshot.step >= this.total) return { elapsed, eta: undefined }
    const rate = this.stepRate()
    const eta = rate === undefined ? '--:--' : formatDuration((this.total - snapshot.step) / rate / 1000)
    return { elapsed, eta }
  }

  private draw(time: number): void {
    if (this.latest === undefined) return
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80
    const line = renderBarLine(this.latest, this.total, this.unit, this.timing(time, this.latest), columns)
    this.stream.write(`\r${line}${CLEAR_TO_END}`)
    this.barOnScreen = true
    this.drawnSnapshot = this.latest
    this.lastDrawTime = time
  }

  private printPlain(time: number, bucket: number): void {
    if (this.latest === undefined) return
    const snapshot = this.latest
    const { elapsed, eta } = this.timing(time, snapshot)
    const percent = Math.floor((Math.min(snapshot.step, this.total) / this.total) * 100)
    const parts = [`step ${snapshot.step}/${this.total} (${percent}%)`, `loss ${formatFixed(snapshot.loss, 3)}`]
    if (snapshot.valLoss !== undefined) parts.push(`val ${formatFixed(snapshot.valLoss, 3)}`)
    parts.push(formatRate(snapshot.tokensPerSecond, this.unit), `elapsed ${elapsed}`)
    if (eta !== undefined) parts.push(`eta ${eta}`)
    this.stream.write(`${parts.join('  ')}\n`)
    this.lastPrintedStep = snapshot.step
    this.lastPrintTime = time
    this.lastPrintBucket = Math.max(this.lastPrintBucket, bucket)
  }
}

/**
 * One bar line, at most `columns - 1` wide (writing the last column makes some terminals wrap).
 * The bar's width depends only on the terminal width and the fields shown, not on their values,
 * so it does not jitter while training. Narrow terminals lose the percentage first, then the
 * bar; without a bar the line sheds the elapsed time, the rate, the percentage, the validation
 * loss and the ETA, in that order, and whatever still does not fit is cut.
 */
export function renderBarLine(
  snapshot: ProgressSnapshot,
  total: number,
  unit: string,
  timing: { readonly elapsed: string; readonly eta: string | undefined },
  columns: number,
): string {
  const limit = Math.max(1, columns - 1)
  const fraction = Math.min(1, Math.max(0, snapshot.step / total))
  // Each field with the width it is laid out for: the widest text it usually has.
  const fields: { key: string; text: string; width: number }[] = []
  const add = (key: string, text: string, template: string): void => {
    fields.push({ key, text, width: Math.max(displayWidth(text), displayWidth(template)) })
  }
  add('counter', `${String(snapshot.step).padStart(String(total).length)}/${total}`, `${total}/${total}`)
  add('percent', `${String(Math.floor(fraction * 100)).padStart(3)}%`, '100%')
  add('loss', `loss ${formatFixed(snapshot.loss, 3)}`, 'loss 0.000')
  if (snapshot.valLoss !== undefined) add('val', `val ${formatFixed(snapshot.valLoss, 3)}`, 'val 0.000')
  const rateTemplate = `000.0k ${unit}/s`
  add('rate', formatRate(snapshot.tokensPerSecond, unit).padStart(rateTemplate.length), rateTemplate)
  add('elapsed', timing.elapsed, '00:00')
  // When training is complete the ETA goes, but its room is kept so the bar keeps its width.
  add('eta', timing.eta === undefined ? '' : `eta ${timing.eta}`, 'eta 0:00:00')

  const GAP = 2
  const widthOf = (list: readonly { width: number }[]): number => list.reduce((sum, f) => sum + f.width, 0) + GAP * (list.length - 1)
  const join = (list: readonly { text: string }[]): string =>
    list
      .map((f) => f.text)
      .filter((text) => text !== '')
      .join(' '.repeat(GAP))

  for (const shown of [fields, fields.filter((f) => f.key !== 'percent')]) {
    // The bar sits after the counter as " [" + cells + "] ", taking one column less than a gap.
    const spare = limit - widthOf(shown) - 3 + 1
    if (spare >= MIN_BAR_WIDTH) {
      const bar = `[${renderBar(fraction, Math.min(MAX_BAR_WIDTH, spare))}]`
      return truncate(`${shown[0]!.text} ${bar} ${join(shown.slice(1))}`, limit)
    }
  }
  const shown = [...fields]
  for (const drop of ['elapsed', 'rate', 'percent', 'val', 'eta']) {
    if (widthOf(shown) <= limit) break
    const index = shown.findIndex((f) => f.key === drop)
    if (index >= 0) shown.splice(index, 1)
  }
  return truncate(join(shown), limit)
}

/** `fraction` of `width` cells filled with full blocks and one partial block, padded with spaces. */
function renderBar(fraction: number, width: number): string {
  const eighths = Math.round(fraction * width * 8)
  const full = Math.floor(eighths / 8)
  const partial = full < width ? BAR_EIGHTHS[eighths % 8] : ''
  const filled = '█'.repeat(full) + partial
  return filled + ' '.repeat(width - displayWidth(filled))
}
