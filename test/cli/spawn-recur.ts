/**
 * Runs `recur` as a child process (the TypeScript sources through tsx, as the tests run them), for
 * the tests that need a real process: signals, SIGKILL in the middle of a step or a save. The
 * child's output is collected, never printed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const MAIN = pathToFileURL(resolve('src/cli/main.ts')).href
const ENTRY = `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1))`

export interface Exit {
  /** The exit code, or null when a signal ended the process. */
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  err: string
}

export interface RecurChild {
  readonly process: ChildProcess
  /** Resolves when the process has exited (output complete). */
  readonly exited: Promise<Exit>
  /** True once the process has exited. */
  readonly done: () => boolean
}

/** Starts `recur ...argv` on the reference backend. */
export function spawnRecur(argv: readonly string[]): RecurChild {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...argv], {
    cwd: resolve('.'),
    env: { ...process.env, RECUR_BACKEND: 'reference', RECUR_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let finished = false
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exited = new Promise<Exit>((done, fail) => {
    child.on('error', fail)
    child.on('close', (code, signal) => {
      finished = true
      done({ code, signal, out, err })
    })
  })
  return { process: child, exited, done: () => finished }
}

/** A promise of `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Polls `condition` every few milliseconds until it holds (true) or the child exits (false).
 * A hang guard, not a timing check: it gives up (throws) only after `limitMs`.
 */
export async function until(child: RecurChild, condition: () => boolean, limitMs = 120_000): Promise<boolean> {
  const start = Date.now()
  for (;;) {
    if (condition()) return true
    if (child.done()) return false
    if (Date.now() - start > limitMs) throw new Error(`the child process showed no progress in ${limitMs} ms`)
    await sleep(3)
  }
}

/** Records in a CSV training log (complete lines after the header), 0 when it does not exist yet. */
export function logRecords(path: string): number {
  if (!existsSync(path)) return 0
  const lines = readFileSync(path, 'utf8').split('\n')
  return Math.max(0, lines.length - 2) // the header, and the text after the last newline
}

/** Lines of a stack trace ("    at f (file:1:2)"). */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line) && /:\d+:\d+\)?$/.test(line))
}
