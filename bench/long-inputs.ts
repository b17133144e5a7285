/**
 * A 100 MB corpus through `recur train`: writes a synthetic corpus (English-like words, lines of
 * a few sentences) into the OS temp folder and runs `recur train --corpus FILE --dry-run` at
 * character and at word level in a fresh process each, which reads the whole corpus (two
 * streaming passes: count and build the vocabulary, then encode) and stops before training.
 * Prints the time and the peak resident set of each run.
 *
 * Run: node --import tsx bench/long-inputs.ts [--megabytes 100]
 */
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { main } from '../src/cli/main.js'
import { formatBytes, formatTable } from '../src/cli/format.js'

const WORDS = ['the', 'whale', 'ship', 'sea', 'captain', 'white', 'harpoon', 'boat', 'water', 'deep', 'call', 'me', 'ishmael', 'and', 'of', 'a']

/** Writes about `bytes` bytes of seeded text to `path`, a megabyte at a time. */
function writeCorpus(path: string, bytes: number): void {
  const file = openSync(path, 'w')
  let state = 1
  let written = 0
  try {
    while (written < bytes) {
      const parts: string[] = []
      let size = 0
      while (size < 1 << 20) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0
        const word = WORDS[state >>> 28]! + ((state >>> 8) % 9 === 0 ? '.\n' : ' ')
        parts.push(word)
        size += word.length
      }
      written += writeSync(file, parts.join(''))
    }
  } finally {
    closeSync(file)
  }
}

async function child(args: string[]): Promise<void> {
  const out: string[] = []
  const sink = { isTTY: false, write: (chunk: string) => (out.push(String(chunk)), true) }
  const start = performance.now()
  const code = await main(args, { out: sink as never, err: sink as never, env: process.env })
  const seconds = (performance.now() - start) / 1000
  process.stdout.write(`${JSON.stringify({ code, seconds, maxRss: process.resourceUsage().maxRSS * 1024, output: out.join('') })}\n`)
}

async function parent(): Promise<void> {
  const at = process.argv.indexOf('--megabytes')
  const megabytes = at >= 0 ? Number(process.argv[at + 1]) : 100
  const dir = mkdtempSync(join(tmpdir(), 'recur-long-'))
  try {
    const corpus = join(dir, 'corpus.txt')
    writeCorpus(corpus, megabytes * 1_000_000)
    const rows: string[][] = []
    for (const level of ['char', 'word']) {
      const args = ['train', '--corpus', corpus, '--level', level, '--dry-run', '--json', '--max-memory', '0', '--out', join(dir, 'model.recur')]
      const result = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
      if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`)
      const run = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { code: number; seconds: number; maxRss: number; output: string }
      if (run.code !== 0) throw new Error(`recur train --dry-run exited ${run.code}: ${run.output}`)
      const report = JSON.parse(run.output) as { rows: { name: string; detail: string }[] }
      const tokens = report.rows.find((row) => row.name === 'token ids')!.detail.split(' ')[0]!
      rows.push([level, tokens, `${run.seconds.toFixed(1)} s`, formatBytes(run.maxRss)])
    }
    console.log(`recur train --dry-run on a ${megabytes} MB corpus (read, vocabulary, token ids; no training)`)
    console.log(formatTable(rows, { header: ['level', 'tokens', 'time', 'peak RSS'], align: ['left', 'right', 'right', 'right'] }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3))
else await parent()
