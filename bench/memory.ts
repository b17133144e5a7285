/**
 * The memory estimate of `recur train --dry-run` against the real thing: for a few configurations,
 * one fresh process prints the dry-run's total (the estimate plus the process's size when it
 * checks), another trains a few steps (validating, sampling and saving a checkpoint on the way)
 * and reports its peak resident set (maxRSS). The error is (estimate - peak) / peak.
 *
 * Run: node --import tsx bench/memory.ts [--backend native|reference]
 * Writes the corpora it needs into the OS temp folder and removes them afterwards.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { main } from '../src/cli/main.js'
import { formatBytes, formatTable } from '../src/cli/format.js'

interface Configuration {
  name: string
  args: string[]
}

/** Deterministic English-like text of about `bytes` bytes (a linear congruential generator over a word list). */
function syntheticText(bytes: number, words: number): string {
  const list = Array.from({ length: words }, (_, i) => `w${i.toString(36)}`)
  let state = 12345
  const parts: string[] = []
  let size = 0
  while (size < bytes) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    // A skewed draw: small ranks are far more frequent, as in real text.
    const rank = Math.floor(words * Math.pow((state >>> 8) / 16777216, 3))
    const word = list[rank]! + (state % 11 === 0 ? '.\n' : ' ')
    parts.push(word)
    size += word.length
  }
  return parts.join('')
}

/** Runs `recur ...args` in this process and prints what the parent parses: maxRSS and the JSON output. */
async function child(args: string[]): Promise<void> {
  const out: string[] = []
  const sink = { isTTY: false, write: (chunk: string) => (out.push(String(chunk)), true) }
  const quiet = { isTTY: false, write: () => true }
  const code = await main(args, { out: sink as never, err: quiet as never, env: process.env })
  process.stdout.write(`${JSON.stringify({ code, maxRss: process.resourceUsage().maxRSS * 1024, output: out.join('') })}\n`)
}

function runChild(args: string[]): { code: number; maxRss: number; output: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { code: number; maxRss: number; output: string }
}

async function parent(): Promise<void> {
  const backendAt = process.argv.indexOf('--backend')
  const backend = backendAt >= 0 ? process.argv[backendAt + 1]! : 'native'
  const dir = mkdtempSync(join(tmpdir(), 'recur-memory-'))
  try {
    const chars = join(dir, 'chars.txt')
    const words = join(dir, 'words.txt')
    writeFileSync(chars, syntheticText(4_000_000, 300))
    writeFileSync(words, syntheticText(8_000_000, 60_000))
    const every = ['--val-every', '2', '--sample-every', '2', '--checkpoint-every', '2', '--steps', '3', '--backend', backend, '--max-memory', '0']
    const configurations: Configuration[] = [
      { name: 'char LSTM 2 x 256, 32 x 64', args: ['--corpus', chars, '--layers', '2', '--hidden', '256', '--batch', '32', '--seq-length', '64'] },
      { name: 'word GRU 1 x 512, emb 256, V 20,000, 16 x 32', args: ['--corpus', words, '--level', 'word', '--cell', 'gru', '--layers', '1', '--hidden', '512', '--embedding', '256', '--vocab-size', '20000', '--batch', '16', '--seq-length', '32'] },
      { name: 'char LSTM 1 x 128, 64 x 1000', args: ['--corpus', chars, '--layers', '1', '--hidden', '128', '--batch', '64', '--seq-length', '1000'] },
    ]
    const rows: string[][] = []
    for (const c of configurations) {
      const out = join(dir, 'model.recur')
      const dry = runChild(['train', ...c.args, ...every, '--out', out, '--dry-run', '--json'])
      const estimate = (JSON.parse(dry.output) as { total: number }).total
      const real = runChild(['train', ...c.args, ...every, '--out', out])
      if (real.code !== 0) throw new Error(`${c.name}: recur train exited ${real.code}`)
      const error = (estimate - real.maxRss) / real.maxRss
      rows.push([c.name, formatBytes(estimate), formatBytes(real.maxRss), `${error >= 0 ? '+' : ''}${(error * 100).toFixed(1)}%`])
    }
    console.log(`recur train --dry-run total against the peak resident set of the run (${backend} backend)`)
    console.log(formatTable(rows, { header: ['configuration', 'estimate', 'measured peak', 'error'], align: ['left', 'right', 'right', 'right'] }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3))
else await parent()
