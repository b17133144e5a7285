/** `recur plot`: render a training log as an SVG chart of the loss curves. */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { RecurError } from '../errors.js'
import { findUtf8Error } from '../text/corpus.js'
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
  await checkLogFile(path)
  const { records } = readLog(path)
  if (records.length === 0) throw new RecurError('DATA', `${path} holds no training records yet`, 'Plot it once recur train has logged a step (it adds a line per step)')
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

const LOG_LOCATION = 'recur train writes the log beside the model, e.g. runs/moby-dick/model.log.csv'

/** The records of a training log; a log that does not parse is reported with where logs are. */
function readLog(path: string): ReturnType<typeof readTrainingLog> {
  try {
    return readTrainingLog(path)
  } catch (error) {
    if (error instanceof RecurError && error.hint === undefined) throw new RecurError(error.code, `${error.message}: not a training log`, `Give a log written by recur train (${LOG_LOCATION})`)
    throw error
  }
}

/** Refuses a log path that is missing, not a file, or not UTF-8 text, before the log reader sees it. */
async function checkLogFile(path: string): Promise<void> {
  const where = LOG_LOCATION
  try {
    const stats = await stat(path)
    if (!stats.isFile()) throw new RecurError('FILE', `${path} is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}, not a training log`, `Give the .csv or .jsonl file: ${where}`)
    const bytes = await readFile(path)
    const text = bytes.indexOf(0) < 0 && findUtf8Error(bytes, 0) === null
    if (!text) throw new RecurError('FORMAT', `${path} is not UTF-8 text, so not a training log`, `Give the .csv or .jsonl file: ${where}`)
  } catch (error) {
    if (error instanceof RecurError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new RecurError('FILE', `no such file: ${path}`, `Check the path: ${where}`)
    throw new RecurError('FILE', `cannot read ${path}: ${(error as Error).message.split('\n')[0]}`, 'Check the path and its permissions')
  }
}
