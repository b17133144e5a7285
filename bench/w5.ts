/**
 * W5 (validation bits per character after 2000 steps) with a chosen seed and initialisation, to
 * measure how far the figure moves with them. `recur bench W5` is this with the defaults.
 *
 * usage: node --import tsx bench/w5.ts [--seed N] [--init pytorch|glorot] [--from-pytorch FILE]
 *          [--steps N] [--threads N] [--backend NAME] [--out FILE]
 * --from-pytorch starts from the PyTorch peer's own initial weights (a safetensors file written by
 * bench/peers/w5_init.py), so that the two runs differ only in their arithmetic.
 * Prints one JSON line (and writes it to FILE with --out). Progress goes to stderr.
 * Example: node --import tsx bench/w5.ts --seed 2 --threads 1 --out bench/results/w5-native-seed2-DATE.json
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { WORKLOADS, mobyDick, runWorkload } from '../src/bench/workloads.js'
import { LANGUAGE_MODEL_NAMES, fromPyTorchStateDict, type StateTensor } from '../src/io/pytorch.js'
import { decodeSafetensors, tensorToFloat32 } from '../src/io/safetensors.js'
import { resolveBackend } from '../src/kernels/registry.js'
import { INIT_SCHEMES, type InitScheme } from '../src/params.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    init: { type: 'string' },
    steps: { type: 'string' },
    threads: { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string' },
    'from-pytorch': { type: 'string' },
  },
})

/** Parameter values (recur names and layouts) from a safetensors file of the peer's state dict. */
function pytorchValues(path: string, V: number): Map<string, Float32Array> {
  const file = decodeSafetensors(readFileSync(path), path)
  const stateDict = new Map<string, StateTensor>()
  for (const [name, t] of file.tensors) stateDict.set(name, { shape: t.shape, data: tensorToFloat32(t, name) })
  const w = WORKLOADS['W5']
  const net = { cell: w.cell, layers: w.L, hidden: w.H, bidirectional: false, vocabularySize: V, embedding: 0, outputs: V }
  return fromPyTorchStateDict(net, stateDict, LANGUAGE_MODEL_NAMES, undefined, path)
}

const init = values.init as InitScheme | undefined
if (init !== undefined && !INIT_SCHEMES.includes(init)) throw new Error(`--init must be one of ${INIT_SCHEMES.join(', ')}`)
// The native backend reads its thread count when it starts.
if (values.threads !== undefined) process.env['RECUR_THREADS'] = values.threads
const kernels = await resolveBackend(values.backend)
const fromPyTorch = values['from-pytorch']
const result = await runWorkload(WORKLOADS['W5'], kernels, {
  seed: Number(values.seed),
  ...(init === undefined ? {} : { init }),
  ...(fromPyTorch === undefined ? {} : { initialValues: pytorchValues(fromPyTorch, mobyDick().characters.length) }),
  ...(values.steps === undefined ? {} : { steps: Number(values.steps) }),
  log: (line) => void process.stderr.write(`${line}\n`),
})
const line = JSON.stringify({ ...result, ...(fromPyTorch === undefined ? {} : { initialValuesFrom: fromPyTorch }), threads: values.threads ?? 'default', date: new Date().toISOString() })
if (values.out !== undefined) writeFileSync(values.out, `${line}\n`)
process.stdout.write(`${line}\n`)
