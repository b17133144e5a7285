/**
 * Shrinks an input that finds a bug to a small one that finds the same bug (libFuzzer's
 * -minimize_crash), so it can be kept as a regression file:
 *
 *   node --import tsx test/fuzz/minimize.ts TARGET INPUT [OUTPUT]
 *
 * "The same bug" is the same first 60 characters of the FuzzBug's message with digits blanked.
 * It removes ever smaller chunks of the bytes (and, for a recur model file or a safetensors file,
 * of the JSON header, rebuilding the container), keeping each removal that still finds the bug.
 */
import { readFileSync, writeFileSync } from 'node:fs'

import { buildModelFile, buildSafetensors, splitModelFile, splitSafetensors, type SplitContainer } from './mutate.js'
import { FuzzBug } from './target.js'
import { TARGETS } from './targets/index.js'

/** The bug an input finds, as a key, or null when it finds none. */
async function bugOf(fuzz: (data: Uint8Array) => Promise<void>, data: Uint8Array): Promise<string | null> {
  try {
    await fuzz(data)
    return null
  } catch (error) {
    const message = error instanceof FuzzBug ? error.message : String(error)
    return message.replace(/\d+/g, '#').slice(0, 60)
  }
}

/** Removes chunks of `bytes` (halving the chunk size down to 1) while `keeps` holds. */
async function shrink(bytes: Uint8Array, keeps: (candidate: Uint8Array) => Promise<boolean>): Promise<Uint8Array> {
  let best = bytes
  for (let size = Math.max(1, best.length >> 1); size >= 1; size = size >> 1) {
    if (size < 8 && best.length > 4096) break // byte by byte only once it is small
    let at = 0
    while (at < best.length) {
      const candidate = new Uint8Array(best.length - Math.min(size, best.length - at))
      candidate.set(best.subarray(0, at))
      candidate.set(best.subarray(at + size), at)
      if (await keeps(candidate)) best = candidate
      else at += size
    }
  }
  return best
}

async function main(): Promise<void> {
  const [name, inputPath, outputPath = `${inputPath}.min`] = process.argv.slice(2)
  const target = name === undefined ? undefined : TARGETS.get(name)
  if (target === undefined || inputPath === undefined) {
    process.stderr.write(`usage: node --import tsx test/fuzz/minimize.ts TARGET INPUT [OUTPUT]; targets: ${[...TARGETS.keys()].join(', ')}\n`)
    process.exit(2)
  }
  let best: Uint8Array = new Uint8Array(readFileSync(inputPath))
  const bug = await bugOf(target.fuzz, best)
  if (bug === null) {
    process.stderr.write(`${inputPath} finds no bug in ${name}\n`)
    process.exit(1)
  }
  const same = async (candidate: Uint8Array): Promise<boolean> => (await bugOf(target.fuzz, candidate)) === bug
  const containers: Array<[(b: Uint8Array) => SplitContainer | null, (h: Uint8Array, d: Uint8Array) => Uint8Array]> = [
    [splitModelFile, buildModelFile], [splitSafetensors, buildSafetensors],
  ]
  for (const [split, build] of containers) {
    const parts = split(best)
    if (parts === null || !(await same(build(parts.header, parts.data)))) continue
    const header = await shrink(parts.header, (h) => same(build(h, parts.data)))
    best = build(header, parts.data)
  }
  best = await shrink(best, same)
  writeFileSync(outputPath, best)
  process.stdout.write(`${name}: ${bug}\n  ${inputPath} (${readFileSync(inputPath).length} bytes) -> ${outputPath} (${best.length} bytes)\n`)
}

await main()
