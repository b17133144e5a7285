/**
 * recur's coverage-guided fuzzer: `npm run fuzz [-- options]`.
 *
 * Runs each fuzz target (test/fuzz/targets/) for its share of the time in a worker thread
 * (`worker.ts`: libFuzzer's loop, guided by V8's block coverage), starting from the target's seed
 * files, its corpus (test/fuzz/corpus/<target>/) and its regressions
 * (test/fuzz/regressions/<target>/). This thread watches the worker: an input that throws anything
 * but a RecurError, allocates more than its limit, takes longer than --slow-ms, hangs (no progress
 * for --hang-seconds) or kills the worker (out of memory) is a finding. Findings are written to
 * .tmp/fuzz-findings/<target>/ and printed (base64 when small), and the run exits 1.
 *
 * Why not Jazzer.js: see test/fuzz/README.md (its native part does not load on this Debian's glibc).
 *
 * Options:
 *   --time S            total seconds, shared equally by the targets (default 90)
 *   --target NAME       fuzz only this target (repeatable); --list prints the names
 *   --seed N            the mutation seed (default: drawn, and printed so a run can be repeated)
 *   --slow-ms MS        an input slower than this is a finding (default 5000)
 *   --hang-seconds S    no progress for this long is a hang (default 20)
 *   --max-len BYTES     the longest input a mutation may make (default 131072)
 *   --save-corpus       add the inputs that reached new code to test/fuzz/corpus/<target>/
 *   --write-seeds       write each target's seed files (seeds.ts) to test/fuzz/corpus/<target>/seed-N, then stop
 */
import { createHash, randomInt } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

import { MAX_INPUT_BYTES } from './mutate.js'
import { TARGETS } from './targets/index.js'
import type { WorkerMessage, WorkerOptions } from './worker.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..')
const FINDINGS = join(ROOT, '.tmp', 'fuzz-findings')
/** Worker threads do not inherit tsx's loader: register it in the worker, then load worker.ts. */
const WORKER_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}) })`

interface Options {
  seconds: number
  targets: string[]
  seed: number
  slowMs: number
  hangSeconds: number
  maxLength: number
  saveCorpus: boolean
  writeSeeds: boolean
}

function usage(problem: string): never {
  process.stderr.write(`fuzz: ${problem}\nusage: npm run fuzz -- [--time S] [--target NAME]... [--seed N] [--slow-ms MS] [--hang-seconds S] [--max-len BYTES] [--save-corpus] [--write-seeds] [--list]\n`)
  process.exit(2)
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seconds: 90, targets: [], seed: randomInt(1, 2 ** 31), slowMs: 5000, hangSeconds: 20, maxLength: 128 * 1024, saveCorpus: false, writeSeeds: false }
  const number = (flag: string, text: string | undefined): number => {
    const value = Number(text)
    if (text === undefined || !Number.isFinite(value) || value <= 0) usage(`${flag} needs a positive number, got ${text}`)
    return value
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--time') options.seconds = number(arg, argv[++i])
    else if (arg === '--seed') options.seed = Math.floor(number(arg, argv[++i]))
    else if (arg === '--slow-ms') options.slowMs = number(arg, argv[++i])
    else if (arg === '--hang-seconds') options.hangSeconds = number(arg, argv[++i])
    else if (arg === '--max-len') options.maxLength = Math.min(MAX_INPUT_BYTES, Math.floor(number(arg, argv[++i])))
    else if (arg === '--save-corpus') options.saveCorpus = true
    else if (arg === '--write-seeds') options.writeSeeds = true
    else if (arg === '--target') {
      const name = argv[++i]
      if (name === undefined || !TARGETS.has(name)) usage(`unknown target ${name}; the targets are ${[...TARGETS.keys()].join(', ')}`)
      options.targets.push(name)
    } else if (arg === '--list') {
      for (const target of TARGETS.values()) process.stdout.write(`${target.name.padEnd(16)} ${target.description}\n`)
      process.exit(0)
    } else usage(`unknown argument ${arg}`)
  }
  if (options.targets.length === 0) options.targets = [...TARGETS.keys()]
  return options
}

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex')
}

/** Cuts a line of a report to `most` characters. */
function clip(line: string, most = 300): string {
  return line.length > most ? `${line.slice(0, most)}... (${line.length} characters)` : line
}

/** Writes a finding and prints where it is (and the bytes, when small, so a CI log is enough to reproduce it). */
function reportFinding(target: string, kind: string, message: string, stack: string, input: Uint8Array): void {
  const dir = join(FINDINGS, target)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${kind}-${sha1(input).slice(0, 12)}`)
  writeFileSync(path, input)
  process.stdout.write(`\n${target}: FOUND (${kind}): ${clip(message)}\n  input: ${relative(ROOT, path)} (${input.length} bytes)\n`)
  if (input.length <= 1024) process.stdout.write(`  base64: ${Buffer.from(input).toString('base64')}\n`)
  const frames = stack.split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 10)
  if (frames.length > 0) process.stdout.write(`${frames.map((line) => `  ${clip(line.trim())}`).join('\n')}\n`)
  process.stdout.write(`  Fix the parser, then keep the input as a regression: test/fuzz/regressions/${target}/\n`)
}

/** Fuzzes one target in a worker; resolves to true when it found nothing. */
function fuzzTarget(name: string, seconds: number, options: Options): Promise<boolean> {
  const shared = new SharedArrayBuffer(8 + MAX_INPUT_BYTES)
  const heartbeat = new Int32Array(shared, 0, 2)
  const lastInput = (): Uint8Array => new Uint8Array(shared, 8, Atomics.load(heartbeat, 1)).slice()
  const workerOptions: WorkerOptions = {
    target: name, seconds, seed: options.seed, slowMs: options.slowMs, maxLength: options.maxLength, shared,
    corpusDirs: [join(HERE, 'corpus', name), join(HERE, 'regressions', name)],
  }
  const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: workerOptions, resourceLimits: { maxOldGenerationSizeMb: 2048 } })
  return new Promise((done) => {
    let finished = false
    let beat = -1
    let still = 0
    const finish = (ok: boolean): void => {
      if (finished) return
      finished = true
      clearInterval(watch)
      void worker.terminate()
      done(ok)
    }
    const watch = setInterval(() => {
      const now = Atomics.load(heartbeat, 0)
      still = now === beat ? still + 1 : 0
      beat = now
      if (still * 0.25 >= options.hangSeconds) {
        reportFinding(name, 'hang', `no progress for ${options.hangSeconds} s on one input`, '', lastInput())
        finish(false)
      }
    }, 250)
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'new' && options.saveCorpus) {
        const dir = join(HERE, 'corpus', name)
        mkdirSync(dir, { recursive: true })
        writeFileSync(join(dir, sha1(message.input).slice(0, 16)), message.input)
      } else if (message.type === 'bug') {
        reportFinding(name, message.kind, message.message, message.stack, message.input)
        finish(false)
      } else if (message.type === 'done') {
        const rate = Math.round(message.runs / message.seconds)
        process.stdout.write(`${name.padEnd(16)} ok: ${message.runs} runs (${rate}/s), corpus ${message.corpus}, ${message.features} coverage features\n`)
        finish(true)
      }
    })
    worker.on('error', (error: Error) => {
      if (Atomics.load(heartbeat, 0) === 0) {
        process.stdout.write(`${name}: the fuzzer could not start: ${error.stack ?? error.message}\n`)
      } else {
        reportFinding(name, 'crash', `the worker died: ${error.message}`, error.stack ?? '', lastInput())
      }
      finish(false)
    })
    worker.on('exit', (code) => {
      if (!finished) {
        reportFinding(name, 'crash', `the worker exited with code ${code}`, '', lastInput())
        finish(false)
      }
    })
  })
}

/** Writes every target's seeds to its corpus folder as seed-0, seed-1, ... */
async function writeSeeds(options: Options): Promise<void> {
  for (const name of options.targets) {
    const dir = join(HERE, 'corpus', name)
    mkdirSync(dir, { recursive: true })
    const seeds = await TARGETS.get(name)!.seeds()
    seeds.forEach((seed, i) => writeFileSync(join(dir, `seed-${i}`), seed))
    process.stdout.write(`${name}: ${seeds.length} seeds in ${relative(ROOT, dir)}/\n`)
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  if (options.writeSeeds) return writeSeeds(options)
  const each = options.seconds / options.targets.length
  process.stdout.write(`fuzz: ${options.targets.length} targets, ${Math.round(each * 10) / 10} s each, seed ${options.seed}\n`)
  let failed = 0
  for (const name of options.targets) if (!(await fuzzTarget(name, each, options))) failed++
  if (failed > 0) {
    process.stdout.write(`fuzz: findings in ${relative(ROOT, FINDINGS)}/ (repeat with --seed ${options.seed})\n`)
    process.exitCode = 1
  }
  process.stdout.write(`fuzz: ${options.targets.length - failed} passed, ${failed} failed\n`)
}

await main()
