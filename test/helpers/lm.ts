/**
 * Helpers for the language-model, sampling and CLI tests: a small synthetic corpus, tiny models on
 * the f32 reference backend, probabilities computed on the host in f64 (an oracle independent of
 * the sampler's own softmax), bit-exact comparisons, and an in-process `recur` runner whose output
 * streams only collect text (so no test prints anything).
 */
import assert from 'node:assert/strict'

import { main } from '../../src/cli/main.js'
import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { tokenize } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'

export const f32 = (): Kernels => new ReferenceKernels('f32')

/**
 * Deterministic English-like text with a learnable structure: a few short sentences drawn by a
 * linear congruential generator, so the same call always gives the same text.
 */
export function syntheticCorpus(sentences: number, seed = 1): string {
  const subjects = ['the cat', 'a dog', 'the bird', 'my friend', 'the old man']
  const verbs = ['sat on', 'looked at', 'ran to', 'found', 'liked']
  const objects = ['the mat', 'a tree', 'the sea', 'her hat', 'the ship']
  let state = seed >>> 0
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const lines: string[] = []
  for (let i = 0; i < sentences; i++) lines.push(`${subjects[next(5)]} ${verbs[next(5)]} ${objects[next(5)]}.`)
  return `${lines.join('\n')}\n`
}

/** A character-level vocabulary and token ids of `text` (default specials: `<UNK>` 0, `<EOS>` 1). */
export function charData(text: string): { vocabulary: Vocabulary; ids: Int32Array } {
  const tokens = tokenize(text, { level: 'char' })
  const vocabulary = Vocabulary.build(tokens)
  return { vocabulary, ids: vocabulary.encode(tokens) }
}

export function tinyModel(kernels: Kernels, vocabularySize: number, overrides: Partial<LanguageModelArchitecture> = {}, seed = 1): LanguageModel {
  const architecture: LanguageModelArchitecture = {
    cell: 'lstm', layers: 1, hidden: 8, vocabularySize, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...overrides,
  }
  return new LanguageModel(kernels, architecture, seed)
}

/** Softmax of one row of logits, in f64, with max subtraction. */
export function softmaxRow(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!)
  const out = new Float64Array(logits.length)
  let total = 0
  for (let i = 0; i < logits.length; i++) total += out[i] = Math.exp(logits[i]! - max)
  for (let i = 0; i < out.length; i++) out[i]! /= total
  return out
}

/**
 * P(next token | context): the model run over the whole context in one call from a zero state,
 * the last row's logits turned into probabilities on the host. Independent of how the sampler
 * carries state from step to step.
 */
export async function nextTokenProbabilities(model: LanguageModel, context: readonly number[]): Promise<Float64Array> {
  const V = model.vocabularySize
  const { logits } = model.forward(context.length, 1, context, null)
  const all = await model.kernels.read(logits)
  return softmaxRow(all.subarray((context.length - 1) * V, context.length * V))
}

/** Token ids ordered by probability, most probable first (ties by lower id). */
export function ranked(probs: ArrayLike<number>): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b)
}

export async function collect(tokens: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = []
  for await (const token of tokens) out.push(token)
  return out
}

/** The IEEE bit patterns of f32 values, so assert.deepEqual compares them bit for bit (NaN and -0 included). */
export function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength))
}

/** Asserts that two maps of named f32 tensors are equal bit for bit. */
export function assertSameTensors(actual: ReadonlyMap<string, Float32Array | Int32Array>, expected: ReadonlyMap<string, Float32Array | Int32Array>, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: tensor names`)
  for (const [name, data] of expected) {
    const other = actual.get(name)!
    assert.equal(other.constructor, data.constructor, `${what}: dtype of ${name}`)
    const a = other instanceof Float32Array ? bits(other) : other
    const b = data instanceof Float32Array ? bits(data) : data
    if (a.length !== b.length) assert.fail(`${what}: ${name} has ${a.length} values, expected ${b.length}`)
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) assert.fail(`${what}: ${name}[${i}] differs: ${other[i]} vs ${data[i]} (bit for bit)`)
    }
  }
}

/** Runs `fn` and checks that it throws (or rejects with) a RecurError of `code`; returns the error. */
export async function expectRecurError(fn: () => unknown, code: RecurErrorCode, pattern?: RegExp): Promise<RecurError> {
  let caught: unknown
  try {
    await fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RecurError, `expected a RecurError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  if (pattern !== undefined) assert.match(caught.message, pattern)
  return caught
}

/** A write-only stream double that keeps what it is given. */
export class CollectingStream {
  readonly isTTY = false
  text = ''
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    callback?.()
    return true
  }
}

export interface CliResult {
  code: number
  out: string
  err: string
}

/**
 * Runs `recur ...argv` in this process with collecting streams and an environment that holds only
 * RECUR_BACKEND=reference, so results compare exactly with the library on the reference backend.
 * Standard input holds `stdin`; a command that reads it when the test gave none fails.
 */
export async function runCli(
  argv: readonly string[],
  options: { interrupted?: { value: boolean }; env?: Record<string, string | undefined>; stdin?: string | undefined } = {},
): Promise<CliResult> {
  const out = new CollectingStream()
  const err = new CollectingStream()
  const code = await main(argv, {
    out: out as unknown as NodeJS.WritableStream,
    err: err as unknown as NodeJS.WritableStream,
    env: options.env ?? { RECUR_BACKEND: 'reference' },
    interrupted: options.interrupted ?? { value: false },
    readStdin: async () => {
      if (options.stdin === undefined) throw new Error('the test gave no standard input')
      return options.stdin
    },
  })
  return { code, out: out.text, err: err.text }
}

/** Lines of a stack trace ("    at f (file:1:2)", "    at file:1:2"), not help text that wraps to "at least 1". */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line) && /:\d+:\d+\)?$/.test(line))
}
