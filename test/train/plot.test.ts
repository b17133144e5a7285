/**
 * The loss plot: well-formed SVG, both series, round tick labels, and the edge cases (one point,
 * no validation, nothing finite, NaN/Infinity, log scale, very long runs).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import type { TrainingRecord } from '../../src/train/log.js'
import { renderLossPlotSvg, type LossPoint } from '../../src/train/plot.js'

/** Checks that every tag is closed in order; returns the element names seen. */
function checkBalanced(svg: string): string[] {
  const stack: string[] = []
  const seen: string[] = []
  for (const match of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match
    if (closing === '/') assert.equal(stack.pop(), name, `</${name}> closes the open element`)
    else {
      seen.push(name!)
      if (selfClosing !== '/') stack.push(name!)
    }
  }
  assert.deepEqual(stack, [], 'every element is closed')
  // No stray angle brackets or ampersands outside tags and entities.
  const textOnly = svg.replace(/<[^>]*>/g, '')
  assert.doesNotMatch(textOnly, /[<>]/)
  assert.doesNotMatch(textOnly, /&(?!amp;|lt;|gt;|quot;|apos;)/)
  return seen
}

function textsOf(svg: string, group: string): string[] {
  const body = new RegExp(`<g class="${group}"[^>]*>([\\s\\S]*?)</g>`).exec(svg)
  assert.ok(body !== null, `group ${group}`)
  return [...body[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!)
}

/** A run that looks like char-RNN training: fast drop, slow tail, noise; validation every 250 steps. */
function sampleRun(): LossPoint[] {
  const points: LossPoint[] = []
  for (let step = 0; step <= 5000; step += 10) {
    const base = 1.35 + 2.8 * Math.exp(-step / 300) + 0.45 * Math.exp(-step / 2000)
    const noise = 0.05 * Math.sin(step * 12.9898)
    points.push(step % 250 === 0 ? { step, loss: base + noise, valLoss: base + 0.05 } : { step, loss: base + noise })
  }
  return points
}

test('a typical run: well-formed standalone SVG with both series, legend, title and axes', () => {
  const svg = renderLossPlotSvg(sampleRun(), { title: 'tiny-shakespeare' })
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="450" viewBox="0 0 800 450"'))
  assert.ok(svg.endsWith('</svg>\n'))
  const elements = checkBalanced(svg)
  assert.ok(elements.includes('path') && elements.includes('circle') && elements.includes('clipPath'))
  assert.match(svg, /<path class="training" d="M/)
  assert.match(svg, /<path class="training-smoothed" d="M/)
  assert.match(svg, /<path class="validation" d="M/)
  const dots = /<g class="validation-points"[^>]*>([\s\S]*?)<\/g>/.exec(svg)![1]!
  assert.equal((dots.match(/<circle /g) ?? []).length, 21, 'a dot per validation point')
  assert.match(svg, /class="validation-best"/)
  assert.match(svg, /<title id="loss-plot-title">tiny-shakespeare<\/title>/)
  assert.match(svg, /font-family="system-ui, /)
  for (const label of ['training', 'smoothed', 'validation']) assert.match(svg, new RegExp(`>${label}</text>`))
  assert.match(svg, />step<\/text>/)
  assert.match(svg, />loss<\/text>/)
  assert.match(svg, /step 5,000 +· +training \d\.\d{3} \(smoothed\) +· +best validation \d\.\d{3} at step \d/)
  assert.doesNotMatch(svg, /NaN|Infinity/)
})

test('training log records can be plotted as they are', () => {
  const records: readonly TrainingRecord[] = [{ step: 1, time: 1, loss: 2, lr: 0.1, tokensPerSecond: 10, gradNorm: 1 }]
  assert.match(renderLossPlotSvg(records), /class="training"/)
})

test('tick labels are round numbers', () => {
  const svg = renderLossPlotSvg(sampleRun())
  const labels = textsOf(svg, 'tick-labels')
  for (const label of ['0', '1k', '2k', '3k', '4k', '5k']) assert.ok(labels.includes(label), `x tick ${label} in ${labels}`)
  for (const label of ['1.5', '2.0', '2.5', '3.0', '3.5', '4.0', '4.5']) assert.ok(labels.includes(label), `y tick ${label} in ${labels}`)
  // Every label is a short round number.
  for (const label of labels) assert.match(label, /^\d+(\.\d)?k?$/)
})

test('steps need not be sorted; the line is drawn in step order', () => {
  const shuffled = [...sampleRun()].reverse()
  const d = /<path class="training" d="([^"]+)"/.exec(renderLossPlotSvg(shuffled))![1]!
  const xs = [...d.matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]))
  assert.ok(xs.every((x, i) => i === 0 || x >= xs[i - 1]!))
})

test('a single point is drawn as a dot, with axes around it', () => {
  const svg = renderLossPlotSvg([{ step: 100, loss: 2.3 }])
  checkBalanced(svg)
  assert.match(svg, /<circle class="training" cx="[\d.]+" cy="[\d.]+" r="3\.5"/)
  assert.doesNotMatch(svg, /<path class=/)
  assert.ok(textsOf(svg, 'tick-labels').includes('100'))
  assert.ok(textsOf(svg, 'tick-labels').includes('2.3'))
  assert.doesNotMatch(svg, /NaN|Infinity/)
})

test('no validation values: no validation series or legend entry', () => {
  const svg = renderLossPlotSvg(sampleRun().map((p) => ({ step: p.step, ...(p.loss === undefined ? {} : { loss: p.loss }) })))
  checkBalanced(svg)
  assert.doesNotMatch(svg, /class="validation/)
  assert.doesNotMatch(svg, />validation<\/text>/)
  assert.doesNotMatch(svg, /best validation/)
})

test('validation values only', () => {
  const svg = renderLossPlotSvg([
    { step: 1000, valLoss: 2 },
    { step: 2000, valLoss: 1.8 },
  ])
  checkBalanced(svg)
  assert.match(svg, /<path class="validation"/)
  assert.doesNotMatch(svg, /class="training/)
})

test('NaN and Infinity are skipped, in values and in steps', () => {
  const points: LossPoint[] = [
    { step: 0, loss: 4 },
    { step: 10, loss: Number.NaN, valLoss: Number.POSITIVE_INFINITY },
    { step: 20, loss: Number.POSITIVE_INFINITY },
    { step: Number.NaN, loss: 1 },
    { step: 30, loss: 3, valLoss: 3.2 },
    { step: 40, loss: Number.NEGATIVE_INFINITY, valLoss: 3.1 },
  ]
  const svg = renderLossPlotSvg(points)
  checkBalanced(svg)
  assert.doesNotMatch(svg, /NaN|Infinity/)
  const d = /<path class="training" d="([^"]+)"/.exec(svg)![1]!
  assert.equal(d.split('L').length, 2, 'two finite training points')
  assert.equal(/<path class="validation" d="([^"]+)"/.exec(svg)![1]!.split('L').length, 2)
})

test('nothing finite: axes and a note, still well-formed', () => {
  for (const points of [[], [{ step: 0, loss: Number.NaN }]]) {
    const svg = renderLossPlotSvg(points)
    checkBalanced(svg)
    assert.match(svg, /No finite loss values to plot yet/)
    assert.doesNotMatch(svg, /NaN|Infinity/)
  }
})

test('log scale: powers of ten over many decades, values <= 0 skipped', () => {
  const points: LossPoint[] = [{ step: 0, loss: 0 }]
  for (let step = 1; step <= 1000; step++) points.push({ step, loss: 10 * Math.exp(-step / 100) })
  const svg = renderLossPlotSvg(points, { logScale: true })
  checkBalanced(svg)
  assert.match(svg, />loss \(log scale\)<\/text>/)
  const labels = textsOf(svg, 'tick-labels')
  for (const label of ['0.001', '0.01', '0.1', '1', '10']) assert.ok(labels.includes(label), `${label} in ${labels}`)
  assert.doesNotMatch(svg, /NaN|Infinity/)
})

test('log scale within one decade uses round ticks inside it', () => {
  const svg = renderLossPlotSvg(sampleRun(), { logScale: true })
  const labels = textsOf(svg, 'tick-labels')
  for (const label of ['1.5', '2', '3', '4']) assert.ok(labels.includes(label), `${label} in ${labels}`)
})

test('a very long run is thinned per pixel column and keeps its spikes', () => {
  const points: LossPoint[] = []
  for (let step = 0; step < 100_000; step++) points.push({ step, loss: 2 + Math.sin(step) * 0.1 + (step === 60_000 ? 5 : 0) })
  const svg = renderLossPlotSvg(points)
  assert.ok(svg.length < 150_000, `${svg.length} characters`)
  checkBalanced(svg)
  const labels = textsOf(svg, 'tick-labels')
  assert.ok(labels.includes('7.0') || labels.includes('7'), `the spike to 7 sets the y range: ${labels}`)
})

test('options: size (clamped), title escaped and shortened, smoothing off', () => {
  const small = renderLossPlotSvg(sampleRun(), { width: 100, height: 50 })
  assert.match(small, /^<svg [^>]*width="320" height="200"/)
  const long = 'A <very> long & "quoted" title '.repeat(5)
  const svg = renderLossPlotSvg(sampleRun(), { title: long, width: 640 })
  checkBalanced(svg)
  assert.match(svg, /<title id="loss-plot-title">A &lt;very&gt; long &amp; &quot;quoted&quot; title/)
  assert.match(svg, /font-weight="600">A &lt;very&gt;[^<]*…<\/text>/)
  const plain = renderLossPlotSvg(sampleRun(), { smoothing: 0 })
  assert.doesNotMatch(plain, /training-smoothed/)
  assert.doesNotMatch(plain, />smoothed<\/text>/)
})

test('plot.ts stays free of node: imports (it is used in the browser too)', () => {
  const source = readFileSync(new URL('../../src/train/plot.ts', import.meta.url), 'utf8')
  assert.doesNotMatch(source, /from ['"]node:|require\(/)
  assert.doesNotMatch(source, /^import /m)
})
