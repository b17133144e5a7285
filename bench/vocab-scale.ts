/**
 * Vocabulary at scale: writes a ~100 MB synthetic corpus with more than 1,000,000 distinct words
 * (Zipf-like: the word of rank r has probability about 1 / (r ln N)) into the OS temp folder,
 * builds a 1,000,000-entry vocabulary from it with `buildVocabularyFromFile`, and prints the time
 * and the peak resident memory. Then it repeats the build as `countTokensInFile` +
 * `TokenCounter.toVocabulary` to show where the time goes and how many tokens there were.
 *
 * Run: node --import tsx bench/vocab-scale.ts [--megabytes 100] [--keep]
 * (--keep leaves the corpus file in place and reuses it on the next run.)
 */

import { closeSync, existsSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { buildVocabularyFromFile, countTokensInFile } from '../src/text/corpus.js'

const VOCABULARY_SIZE = 1_000_000
/** Distinct words the generator draws from; about 2/3 of them occur in 100 MB. */
const WORD_RANKS = 3_000_000
const SEED = 20240601

function parseArguments(): { megabytes: number; keep: boolean } {
  const args = process.argv.slice(2)
  const at = args.indexOf('--megabytes')
  const megabytes = at >= 0 ? Number(args[at + 1]) : 100
  if (!(megabytes > 0)) throw new Error('--megabytes needs a positive number')
  return { megabytes, keep: args.includes('--keep') }
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const CONSONANTS = 'bcdfghjklmnprstvz'
const VOWELS = 'aeiouéü' // two non-ASCII vowels so the UTF-8 decoding is exercised
const SYLLABLES: string[] = []
for (const consonant of CONSONANTS) for (const vowel of VOWELS) SYLLABLES.push(consonant + vowel)

/** The word of a rank: rank in bijective base-|SYLLABLES|, one syllable per digit, so words are distinct. */
function wordOfRank(rank: number): string {
  let word = ''
  let rest = rank + 1
  while (rest > 0) {
    rest -= 1
    word = SYLLABLES[rest % SYLLABLES.length]! + word
    rest = Math.floor(rest / SYLLABLES.length)
  }
  return word
}

function writeCorpus(path: string, megabytes: number): void {
  const random = seededRandom(SEED)
  const logRanks = Math.log(WORD_RANKS)
  const wordCache = new Map<number, string>()
  const word = (): string => {
    const rank = Math.floor(Math.exp(random() * logRanks)) - 1 // P(rank r) ~ 1 / ((r+1) ln N)
    let text = wordCache.get(rank)
    if (text === undefined) {
      text = wordOfRank(rank)
      if (rank < 100_000) wordCache.set(rank, text)
    }
    return text
  }
  const targetBytes = megabytes * 1_000_000
  const file = openSync(path, 'w')
  let written = 0
  try {
    while (written < targetBytes) {
      const parts: string[] = []
      for (let sentence = 0; sentence < 2000; sentence++) {
        const length = 5 + Math.floor(random() * 16)
        const first = word()
        parts.push(first[0]!.toUpperCase() + first.slice(1))
        for (let i = 1; i < length; i++) {
          parts.push(random() < 0.06 ? ', ' : ' ')
          parts.push(word())
        }
        parts.push(random() < 0.1 ? '?' : '.')
        parts.push(random() < 0.3 ? '\n' : ' ')
      }
      written += writeSync(file, parts.join(''))
    }
  } finally {
    closeSync(file)
  }
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1e6
}

function megabytesOf(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(0)} MiB`
}

async function main(): Promise<void> {
  const { megabytes, keep } = parseArguments()
  const path = join(tmpdir(), `recur-vocab-scale-${megabytes}mb-${SEED}.txt`)
  if (!(keep && existsSync(path))) {
    const started = performance.now()
    writeCorpus(path, megabytes)
    console.log(`corpus: ${path}, ${megabytesOf(statSync(path).size)}, written in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  } else {
    console.log(`corpus: ${path}, ${megabytesOf(statSync(path).size)} (reused)`)
  }
  const rssBefore = process.memoryUsage().rss
  try {
    const tokenizer = { level: 'word' } as const
    let started = performance.now()
    let cpuStart = process.cpuUsage()
    const vocabulary = await buildVocabularyFromFile(path, tokenizer, { maxSize: VOCABULARY_SIZE })
    const buildSeconds = (performance.now() - started) / 1000
    const buildCpu = cpuSeconds(cpuStart)
    const peakRss = process.resourceUsage().maxRSS * 1024
    console.log(`buildVocabularyFromFile: ${vocabulary.size} entries in ${buildSeconds.toFixed(2)} s wall, ${buildCpu.toFixed(2)} s CPU (all threads, GC included)`)
    console.log(`memory: RSS before ${megabytesOf(rssBefore)}, peak RSS ${megabytesOf(peakRss)}, heap used after ${megabytesOf(process.memoryUsage().heapUsed)}`)

    started = performance.now()
    cpuStart = process.cpuUsage()
    const counter = await countTokensInFile(path, tokenizer, { maxDistinct: Math.max(2_097_152, 2 * VOCABULARY_SIZE) })
    const countSeconds = (performance.now() - started) / 1000
    const countCpu = cpuSeconds(cpuStart)
    started = performance.now()
    cpuStart = process.cpuUsage()
    const again = counter.toVocabulary({ maxSize: VOCABULARY_SIZE })
    const sortSeconds = (performance.now() - started) / 1000
    const sortCpu = cpuSeconds(cpuStart)
    const same = again.size === vocabulary.size && again.tokens.every((token, id) => vocabulary.tokens[id] === token)
    console.log(
      `breakdown: read + tokenize + count ${countSeconds.toFixed(2)} s wall / ${countCpu.toFixed(2)} s CPU (${counter.totalTokens.toLocaleString('en')} tokens, ` +
        `${(counter.totalTokens / countSeconds / 1e6).toFixed(1)} M tokens/s wall), sort + build ${sortSeconds.toFixed(2)} s wall / ${sortCpu.toFixed(2)} s CPU`,
    )
    console.log(
      `counter: ${counter.distinctTokens.toLocaleString('en')} distinct tokens held, exact ${counter.exact}, ` +
        `count error bound ${counter.countErrorBound}; same vocabulary: ${same}`,
    )
    console.log(`first ids: ${vocabulary.tokens.slice(0, 8).join(' ')}; last: ${vocabulary.token(vocabulary.size - 1)} (count ${counter.count(vocabulary.token(vocabulary.size - 1))})`)
    console.log(`peak RSS overall ${megabytesOf(process.resourceUsage().maxRSS * 1024)}`)
  } finally {
    if (!keep) unlinkSync(path)
  }
}

await main()
