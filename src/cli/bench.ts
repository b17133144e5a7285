/** `recur bench`: the standard workloads of WORKLOADS.md (W1-W5) on a chosen backend. */
import { RecurError } from '../errors.js'
import { WORKLOADS, runWorkload } from '../bench/workloads.js'
import { defineCommand } from './args.js'
import { backendFlag, backendFrom, jsonFlag, type Io } from './common.js'
import { formatFixed, formatRate } from './format.js'

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'Run the standard workloads (W1-W4 speed, W5 quality) and print tokens/s, ms per step, GFLOP/s and peak memory',
  usage: '[W1 ... W5] [flags]',
  positionals: [{ name: 'workloads', description: 'Workloads to run (default: W1 W2 W3 W4)', optional: true, variadic: true }],
  flags: [
    { name: 'threads', type: 'int', min: 1, max: 256, description: 'Threads of the native backend (default: the cores)' },
    { name: 'steps', type: 'int', min: 1, description: 'Shorten a workload to this many steps (or sampled tokens)' },
    backendFlag,
    jsonFlag,
  ],
  examples: ['recur bench W1 --threads 2', 'recur bench W5 --steps 100 --backend reference --json'],
})

export async function runBench(ids: readonly string[], v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const chosen = ids.length > 0 ? ids : ['W1', 'W2', 'W3', 'W4']
  for (const id of chosen) {
    if (WORKLOADS[id.toUpperCase()] === undefined) throw new RecurError('OPTION', `unknown workload '${id}'`, `Choose from ${Object.keys(WORKLOADS).join(', ')}`)
  }
  // The native backend reads its thread count when it starts.
  if (v['threads'] !== undefined) process.env['RECUR_THREADS'] = String(v['threads'])
  const kernels = await backendFrom(v['backend'] as string | undefined, io)
  const json = v['json'] === true
  for (const id of chosen) {
    const log = (line: string) => void io.err.write(`${line}\n`)
    const result = await runWorkload(WORKLOADS[id.toUpperCase()], kernels, { ...(v['steps'] === undefined ? {} : { steps: v['steps'] as number }), ...(json ? {} : { log }) })
    if (json) {
      io.out.write(`${JSON.stringify(result)}\n`)
      continue
    }
    const r = result as Record<string, any>
    const parts = [`${r['workload']} on ${r['backend']}:`, formatRate(r['tokensPerSecond'])]
    if (r['msPerStep'] !== undefined) parts.push(`${formatFixed(r['msPerStep'].median, 1)} ms/step (min ${formatFixed(r['msPerStep'].min, 1)}, max ${formatFixed(r['msPerStep'].max, 1)})`, `${formatFixed(r['gflops'], 1)} GFLOP/s`)
    if (r['validationBitsPerChar'] !== undefined) parts.push(`validation ${formatFixed(r['validationBitsPerChar'], 4)} bits/char`)
    parts.push(`peak RSS ${formatFixed(r['peakRssMiB'], 0)} MiB`)
    io.out.write(`${parts.join('  ')}\n`)
  }
  return 0
}
