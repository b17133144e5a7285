/**
 * One fuzzing session of one target, run in a worker thread by `fuzz.ts` (which watches it for
 * hangs and crashes). The loop is libFuzzer's: load the corpus, then until the time is up pick an
 * input, mutate it (format-aware half the time when the target can, else byte-level), run it, and
 * keep it when it reaches code it had not reached before.
 *
 * Coverage comes from V8's precise block coverage through the inspector (no instrumentation step):
 * after each run the counts of every block of the files under src/ are read and reset; a feature is
 * a (block, count bucket) pair, as in libFuzzer. Before each run the input is copied into a shared
 * buffer, so the parent can save it if this thread hangs or dies.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'

import { Random, mutateBytes } from './mutate.js'
import { FuzzBug } from './target.js'
import { TARGETS } from './targets/index.js'

/** What the parent passes in `workerData`. */
export interface WorkerOptions {
  target: string
  seconds: number
  seed: number
  /** Folders whose files join the starting corpus (the committed corpus and regressions). */
  corpusDirs: string[]
  /** Inputs slower than this are reported (a hang is caught by the parent). */
  slowMs: number
  /** The longest input a mutation may produce (libFuzzer's -max_len). */
  maxLength: number
  /** Shared buffer: Int32 [0] heartbeat, [1] input length, then the input's bytes from byte 8. */
  shared: SharedArrayBuffer
}

/** Messages to the parent. */
export type WorkerMessage =
  | { type: 'bug'; kind: 'crash' | 'slow'; message: string; stack: string; input: Uint8Array }
  | { type: 'new'; input: Uint8Array }
  | { type: 'done'; runs: number; corpus: number; features: number; seconds: number }

/** Inputs run between two reads of the coverage. */
const BATCH = 16

/** V8 block coverage of the files under src/, as libFuzzer-style features. */
class Coverage {
  private readonly session = new Session()
  private readonly seen = new Map<string, Set<number>>()

  constructor() {
    this.session.connect()
    this.post('Profiler.enable')
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true })
  }

  private post(method: string, params?: object): unknown {
    let result: unknown
    let failure: Error | null = null
    this.session.post(method, params ?? {}, (error, value) => {
      failure = error
      result = value
    })
    if (failure !== null) throw failure
    return result
  }

  /**
   * The features the runs since the last call reached for the first time (not yet marked seen);
   * resets the counts. Reading coverage costs more than a run, so the loop reads it once per batch
   * of runs and only attributes it run by run when a batch found something.
   */
  takeNew(): Array<[Set<number>, number]> {
    type Coverage = { result: Array<{ url: string; functions: Array<{ ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }> }
    const { result } = this.post('Profiler.takePreciseCoverage') as Coverage
    const fresh: Array<[Set<number>, number]> = []
    for (const script of result) {
      if (!script.url.includes('/src/')) continue
      let seen = this.seen.get(script.url)
      if (seen === undefined) this.seen.set(script.url, (seen = new Set()))
      for (const fn of script.functions) {
        for (const range of fn.ranges) {
          if (range.count === 0) continue
          const key = (range.startOffset * 2 ** 22 + range.endOffset) * 16 + bucket(range.count)
          if (!seen.has(key)) fresh.push([seen, key])
        }
      }
    }
    return fresh
  }

  /** Marks features as seen. */
  commit(features: ReadonlyArray<[Set<number>, number]>): void {
    for (const [seen, key] of features) seen.add(key)
  }

  get features(): number {
    let total = 0
    for (const seen of this.seen.values()) total += seen.size
    return total
  }
}

/** libFuzzer's count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(count: number): number {
  if (count <= 3) return count
  if (count < 8) return 4
  if (count < 16) return 5
  if (count < 32) return 6
  if (count < 128) return 7
  return 8
}

function readCorpus(dirs: readonly string[]): Uint8Array[] {
  const inputs: Uint8Array[] = []
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      continue
    }
    for (const name of names) if (!name.startsWith('.') && !name.endsWith('.md')) inputs.push(new Uint8Array(readFileSync(join(dir, name))))
  }
  return inputs
}

async function main(options: WorkerOptions): Promise<void> {
  const target = TARGETS.get(options.target)
  if (target === undefined) throw new Error(`no fuzz target '${options.target}'`)
  const heartbeat = new Int32Array(options.shared, 0, 2)
  const inputBytes = new Uint8Array(options.shared, 8)
  const random = new Random(options.seed)
  const coverage = new Coverage()
  const corpus: Uint8Array[] = []
  const started = performance.now()
  let runs = 0

  /** Runs one input; returns false when it found a bug (reported). */
  const run = async (input: Uint8Array): Promise<boolean> => {
    inputBytes.set(input.subarray(0, inputBytes.length))
    Atomics.store(heartbeat, 1, input.length)
    Atomics.add(heartbeat, 0, 1)
    const t0 = performance.now()
    try {
      await target.fuzz(input)
    } catch (error) {
      const message = error instanceof FuzzBug ? error.message : `the target itself threw: ${String(error)}`
      const cause = error instanceof FuzzBug && error.cause instanceof Error ? error.cause : error
      const stack = cause instanceof Error ? cause.stack ?? '' : ''
      parentPort!.postMessage({ type: 'bug', kind: 'crash', message, stack, input } satisfies WorkerMessage)
      return false
    }
    runs++
    const ms = performance.now() - t0
    if (ms > options.slowMs) {
      parentPort!.postMessage({ type: 'bug', kind: 'slow', message: `one input took ${Math.round(ms)} ms (limit ${options.slowMs} ms)`, stack: '', input } satisfies WorkerMessage)
      return false
    }
    return true
  }

  /** Runs `input` alone and keeps it when it reaches new code; false when it found a bug. */
  const runAlone = async (input: Uint8Array, report: boolean): Promise<boolean> => {
    if (!(await run(input))) return false
    const fresh = coverage.takeNew()
    if (fresh.length > 0 || corpus.length === 0) {
      coverage.commit(fresh)
      corpus.push(input)
      if (report) parentPort!.postMessage({ type: 'new', input } satisfies WorkerMessage)
    }
    return true
  }

  for (const input of [...(await target.seeds()), ...readCorpus(options.corpusDirs)]) {
    if (!(await runAlone(input, false))) return
  }
  const deadline = started + options.seconds * 1000
  while (performance.now() < deadline) {
    const batch: Uint8Array[] = []
    while (batch.length < BATCH) {
      const parent = corpus[random.int(corpus.length)]!
      let child: Uint8Array | null = null
      if (target.mutate !== undefined && random.int(2) === 0) child = target.mutate(parent, random)
      child ??= mutateBytes(parent, random, corpus, target.dictionary)
      if (child.length <= options.maxLength) batch.push(child)
    }
    for (const child of batch) if (!(await run(child))) return
    if (coverage.takeNew().length === 0) continue
    for (const child of batch) if (!(await runAlone(child, true))) return
  }
  const seconds = (performance.now() - started) / 1000
  parentPort!.postMessage({ type: 'done', runs, corpus: corpus.length, features: coverage.features, seconds } satisfies WorkerMessage)
}

await main(workerData as WorkerOptions)
