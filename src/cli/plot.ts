/** `recur plot`: render a training log as an SVG chart of the loss curves. */
import { writeFile } from 'node:fs/promises'
import { RecurError } from '../errors.js'
import { readTrainingLog } from '../train/log.js'
import { renderLossPlotSvg } from '../train/plot.js'
import { defineCommand } from './args.js'
import type { Io } from './common.js'

export const plotCommand = defineCommand({
  name: 'plot',
  summary: 'Draw the loss curves of a training log as an SVG image',
  usage: '<log> [flags]',
  positionals: [{ name: 'log', description: 'Training log (.csv or .jsonl) written by recur train' }],
  flags: [
    { name: 'out', type: 'string', placeholder: 'file', description: 'SVG file to write (default: the log name with .svg)' },
    { name: 'log-scale', type: 'boolean', description: 'Logarithmic loss axis' },
    { name: 'title', type: 'string', placeholder: 'text', description: 'Chart title' },
  ],
  examples: ['recur plot runs/moby-dick/model.log.csv'],
})

export async function runPlot(path: string, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const { records } = readTrainingLog(path)
  if (records.length === 0) throw new RecurError('DATA', `${path} holds no training records yet`)
  const out = (v['out'] as string | undefined) ?? path.replace(/\.(csv|jsonl)$/i, '') + '.svg'
  const svg = renderLossPlotSvg(records, { logScale: v['logScale'] === true, ...(v['title'] === undefined ? {} : { title: v['title'] as string }) })
  try {
    await writeFile(out, svg)
  } catch (error) {
    throw new RecurError('FILE', `cannot write ${out}: ${(error as Error).message}`, 'Choose a writable --out path')
  }
  io.err.write(`Wrote ${out} (${records.length} steps)\n`)
  return 0
}
