/**
 * The progress bar against a fake stream and a fake clock: what it draws on a terminal, how
 * often, and the plain lines it prints elsewhere. No real time passes in these tests.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { RecurError } from '../../src/errors.js'
import { ProgressBar, renderBarLine, type ProgressStream } from '../../src/cli/progress.js'

class FakeStream implements ProgressStream {
  output = ''
  writes = 0
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number,
  ) {}
  write(text: string): boolean {
    this.output += text
    this.writes++
    return true
  }
  /** The bar lines drawn so far, escape codes removed. */
  frames(): string[] {
    return this.output
      .split('\r')
      .map((chunk) => chunk.replace(/\n$/, ''))
      .filter((chunk) => chunk.endsWith('\x1b[K'))
      .map((chunk) => chunk.slice(0, -'\x1b[K'.length))
  }
  lastFrame(): string {
    return this.frames().at(-1) ?? ''
  }
}

class FakeClock {
  ms = 0
  readonly now = (): number => this.ms
  advance(seconds: number): void {
    this.ms += seconds * 1000
  }
}

function makeBar(options: { total?: number; tty?: boolean; columns?: number | undefined } = {}) {
  const stream = new FakeStream(options.tty ?? true, options.columns)
  const clock = new FakeClock()
  const bar = new ProgressBar({ total: options.total ?? 1000, stream, now: clock.now })
  return { stream, clock, bar }
}

test('TTY: draws step/total, a bar, loss to 3 decimals, tok/s, elapsed and ETA on one line', () => {
  const { stream, clock, bar } = makeBar({ columns: 120 })
  clock.advance(10)
  bar.update({ step: 100, loss: 1.23456, tokensPerSecond: 12_345 })
  assert.equal(stream.writes, 1)
  assert.ok(stream.output.startsWith('\r') && stream.output.endsWith('\x1b[K'))
  assert.ok(!stream.output.includes('\n'))
  const frame = stream.lastFrame()
  assert.match(frame, /^ 100\/1000 \[█{4}/)
  assert.match(frame, /\]  10%  loss 1\.235 +12\.3k tok\/s  00:10  eta 01:30$/)
  assert.ok(frame.length <= 119)
})

test('TTY: the bar fills with the fraction done', () => {
  const { stream, bar } = makeBar({ total: 8, columns: 120 })
  bar.update({ step: 4, loss: 1, tokensPerSecond: 1 })
  const cells = /\[(.*)\]/.exec(stream.lastFrame())![1]!
  assert.equal(cells.length, 40)
  assert.equal(cells, '█'.repeat(20) + ' '.repeat(20))
  const partial = renderBarLine({ step: 1, loss: 1, valLoss: undefined, tokensPerSecond: 1 }, 80, 'tok', { elapsed: '00:01', eta: '01:00' }, 120)
  assert.match(partial, /\[▌ {39}\]/)
})

test('TTY: redraws at most every 100 ms, but always draws the last step', () => {
  const { stream, clock, bar } = makeBar({ total: 100, columns: 100 })
  for (let step = 1; step <= 50; step++) {
    clock.advance(0.01)
    bar.update({ step, loss: 2, tokensPerSecond: 100 })
  }
  // 50 updates over 0.5 s: the first draw, then one per 100 ms.
  assert.equal(stream.frames().length, 5)
  for (let step = 51; step <= 100; step++) bar.update({ step, loss: 2, tokensPerSecond: 100 })
  // No time passed, yet the final step is drawn.
  assert.equal(stream.frames().length, 6)
  assert.match(stream.lastFrame(), /^100\/100 /)
})

test('TTY: validation loss is shown once known and kept until replaced', () => {
  const { stream, clock, bar } = makeBar({ columns: 120 })
  bar.update({ step: 1, loss: 3, tokensPerSecond: 10 })
  assert.doesNotMatch(stream.lastFrame(), /val/)
  clock.advance(1)
  bar.update({ step: 2, loss: 2.5, valLoss: 2.75, tokensPerSecond: 10 })
  assert.match(stream.lastFrame(), /loss 2\.500  val 2\.750/)
  clock.advance(1)
  bar.update({ step: 3, loss: 2.4, tokensPerSecond: 10 })
  assert.match(stream.lastFrame(), /loss 2\.400  val 2\.750/)
})

test('TTY: log() prints above the bar and draws the bar again', () => {
  const { stream, clock, bar } = makeBar({ columns: 100 })
  clock.advance(1)
  bar.update({ step: 10, loss: 2, tokensPerSecond: 10 })
  const before = stream.output
  bar.log('checkpoint saved to run/model.recur')
  const added = stream.output.slice(before.length)
  assert.ok(added.startsWith('\r\x1b[Kcheckpoint saved to run/model.recur\n\r'))
  assert.ok(added.endsWith('\x1b[K'))
  assert.match(stream.lastFrame(), /^  10\/1000 /)
})

test('log() before any update, and after done(), writes just the line', () => {
  const { stream, bar } = makeBar()
  bar.log('loading corpus')
  assert.equal(stream.output, 'loading corpus\n')
  bar.done()
  bar.log('saved')
  assert.equal(stream.output, 'loading corpus\nsaved\n')
})

test('TTY: done() draws the final state once, ends the line, and is idempotent', () => {
  const { stream, clock, bar } = makeBar({ total: 100, columns: 100 })
  bar.update({ step: 1, loss: 2, tokensPerSecond: 10 })
  clock.advance(0.01)
  bar.update({ step: 60, loss: 1.5, tokensPerSecond: 10 }) // throttled, not drawn
  assert.match(stream.lastFrame(), /^  1\/100 /)
  bar.done()
  assert.match(stream.lastFrame(), /^ 60\/100 /)
  assert.ok(stream.output.endsWith('\n'))
  const length = stream.output.length
  bar.done()
  bar.update({ step: 70, loss: 1, tokensPerSecond: 10 })
  assert.equal(stream.output.length, length)
})

test('TTY: the finished line shows the elapsed time and no ETA', () => {
  const { stream, clock, bar } = makeBar({ total: 10, columns: 100 })
  clock.advance(75)
  bar.update({ step: 10, loss: 1, tokensPerSecond: 5 })
  bar.done()
  assert.match(stream.lastFrame(), /100%  loss 1\.000 +5 tok\/s  01:15$/)
})

test('ETA: constant speed gives the exact time left; h:mm:ss past an hour', () => {
  const { stream, clock, bar } = makeBar({ total: 100_000, columns: 120 })
  for (let step = 10; step <= 100; step += 10) {
    clock.advance(1)
    bar.update({ step, loss: 1, tokensPerSecond: 1 })
  }
  // 10 steps per second, 99,900 steps left: 9,990 s.
  assert.match(stream.lastFrame(), /00:10  eta 2:46:30$/)
})

test('ETA: follows a change of speed smoothly, between the old and the new rate', () => {
  const { stream, clock, bar } = makeBar({ total: 1000, columns: 120 })
  for (let step = 10; step <= 100; step += 10) {
    clock.advance(1) // 10 steps/s
    bar.update({ step, loss: 1, tokensPerSecond: 1 })
  }
  for (let step = 120; step <= 200; step += 20) {
    clock.advance(1) // 20 steps/s
    bar.update({ step, loss: 1, tokensPerSecond: 1 })
  }
  const eta = /eta (\d\d):(\d\d)$/.exec(stream.lastFrame())!
  const seconds = Number(eta[1]) * 60 + Number(eta[2])
  // 800 steps left: 40 s at the new speed, 80 s at the old one.
  assert.ok(seconds > 40 && seconds < 80, `eta ${seconds} s`)
})

test('ETA is unknown until a step was measured', () => {
  const { stream, bar } = makeBar({ columns: 120 })
  bar.update({ step: 0, loss: 4, tokensPerSecond: 0 })
  assert.match(stream.lastFrame(), /eta --:--$/)
})

test('TTY: every frame fits the terminal; narrow terminals drop the bar, then other fields', () => {
  for (const columns of [200, 100, 80, 60, 40, 30, 20, 10]) {
    const { stream, clock, bar } = makeBar({ columns })
    clock.advance(5)
    bar.update({ step: 450, loss: 1.234, valLoss: 1.456, tokensPerSecond: 12_345 })
    const frame = stream.lastFrame()
    assert.ok(frame.length <= columns - 1, `${columns} columns: ${frame}`)
    if (columns >= 80) assert.match(frame, /\[█+/, `${columns} columns has a bar`)
    if (columns >= 30) assert.match(frame, /450\/1000.*loss 1\.234/, `${columns} columns keeps the loss`)
  }
  const { stream, bar } = makeBar({ columns: 60 })
  bar.update({ step: 450, loss: 1.234, valLoss: 1.456, tokensPerSecond: 12_345 })
  assert.doesNotMatch(stream.lastFrame(), /\[/)
  assert.match(stream.lastFrame(), /val 1\.456/)
})

test('TTY: the bar keeps its width while the numbers change', () => {
  const { stream, clock, bar } = makeBar({ total: 10_000, columns: 100 })
  for (const [step, loss, rate] of [
    [1, 9.87654, 5],
    [50, 4.1, 950],
    [5000, 1.2, 12_345],
    [9999, 0.5, 123_456],
  ] as const) {
    clock.advance(1)
    bar.update({ step, loss, tokensPerSecond: rate })
  }
  const widths = new Set(stream.frames().map((frame) => /\[(.*)\]/.exec(frame)![1]!.length))
  assert.equal(widths.size, 1)
})

test('TTY: width defaults to 80 columns when the stream does not say', () => {
  const { stream, bar } = makeBar({ columns: undefined })
  bar.update({ step: 1, loss: 1, valLoss: 1, tokensPerSecond: 1 })
  const frame = stream.lastFrame()
  assert.ok(frame.length <= 79 && frame.length > 70, frame)
})

test('not a TTY: plain lines every 10%, no carriage returns or escape codes', () => {
  const { stream, clock, bar } = makeBar({ tty: false, total: 100 })
  for (let step = 1; step <= 100; step++) {
    clock.advance(0.1)
    bar.update({ step, loss: 3 - step / 100, tokensPerSecond: 2000, ...(step === 50 ? { valLoss: 2.6 } : {}) })
    if (step === 55) bar.log('checkpoint saved')
  }
  bar.done()
  assert.ok(!stream.output.includes('\r') && !stream.output.includes('\x1b'))
  const lines = stream.output.trimEnd().split('\n')
  const steps = lines.filter((l) => l.startsWith('step ')).map((l) => Number(/^step (\d+)/.exec(l)![1]))
  assert.deepEqual(steps, [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
  assert.equal(lines[0], 'step 1/100 (1%)  loss 2.990  2k tok/s  elapsed 00:00  eta 00:09')
  assert.ok(lines.includes('step 50/100 (50%)  loss 2.500  val 2.600  2k tok/s  elapsed 00:05  eta 00:05'))
  assert.equal(lines[lines.indexOf('step 50/100 (50%)  loss 2.500  val 2.600  2k tok/s  elapsed 00:05  eta 00:05') + 1], 'checkpoint saved')
  assert.equal(lines.at(-1), 'step 100/100 (100%)  loss 2.000  val 2.600  2k tok/s  elapsed 00:10')
})

test('not a TTY: also prints every 30 s when progress is slow, and done() prints the last state', () => {
  const { stream, clock, bar } = makeBar({ tty: false, total: 10_000 })
  for (let step = 1; step <= 50; step++) {
    clock.advance(2)
    bar.update({ step, loss: 1, tokensPerSecond: 1 })
  }
  // Step 1 at 2 s, then one line per 30 s: steps 16 (32 s), 31 (62 s), 46 (92 s).
  const steps = () =>
    stream.output
      .trimEnd()
      .split('\n')
      .map((l) => Number(/^step (\d+)/.exec(l)![1]))
  assert.deepEqual(steps(), [1, 16, 31, 46])
  bar.done()
  assert.deepEqual(steps(), [1, 16, 31, 46, 50])
  bar.done()
  assert.deepEqual(steps(), [1, 16, 31, 46, 50])
})

test('process.stderr is a ProgressStream', () => {
  const stream: ProgressStream = process.stderr
  assert.equal(typeof stream.write, 'function')
})

test('isTTY option overrides the stream, and a bad total is a RANGE error', () => {
  const stream = new FakeStream(true, 80)
  const bar = new ProgressBar({ total: 10, stream, isTTY: false, now: () => 0 })
  bar.update({ step: 1, loss: 1, tokensPerSecond: 1 })
  assert.ok(stream.output.startsWith('step 1/10'))
  for (const total of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new ProgressBar({ total, stream }),
      (error: unknown) => error instanceof RecurError && error.code === 'RANGE' && error.message.includes(`got ${total}`),
    )
  }
})
