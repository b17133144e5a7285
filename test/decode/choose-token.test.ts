/**
 * `chooseToken` finds its token by selection (O(V) expected) instead of sorting the vocabulary.
 * These tests hold it to the sort it replaced, kept here verbatim as the oracle: the same token
 * from the same probabilities and the same draws, the same draws consumed, the same probabilities
 * left behind. Property tests (fast-check, fixed seeds) cover ties, zeros, exclude, greedy, top-k,
 * top-p, all-zero, softmax outputs, and draws that land exactly on the edge between two tokens
 * (where the two could round differently); a last test draws from a vocabulary of 1,000,000.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import fc from 'fast-check'

import { chooseToken, type ChooseOptions } from '../../src/decode/sampling.js'
import { Random } from '../../src/random.js'

/** The implementation before the selection, unchanged: the oracle. */
function chooseTokenBySorting(probs: Float64Array, o: { greedy: boolean; topK: number; topP: number; exclude: number }, random: Random): number {
  if (o.exclude >= 0 && o.exclude < probs.length) probs[o.exclude] = 0
  const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a] || a - b)
  if (o.greedy) return order[0]
  let keep = o.topK > 0 ? Math.min(o.topK, order.length) : order.length
  if (o.topP < 1) {
    let total = 0
    for (const p of probs) total += p
    let mass = 0
    for (let i = 0; i < keep; i++) {
      mass += probs[order[i]] / total
      if (mass >= o.topP) {
        keep = i + 1
        break
      }
    }
  }
  let total = 0
  for (let i = 0; i < keep; i++) total += probs[order[i]]
  if (!(total > 0)) return order[0] // everything left was excluded or zero: the best remaining
  let r = random.uniform() * total
  for (let i = 0; i < keep; i++) {
    r -= probs[order[i]]
    if (r < 0) return order[i]
  }
  return order[keep - 1]
}

/** A stand-in for the generator whose draws are given: each call to uniform() returns the next. */
class ScriptedDraws {
  calls = 0
  constructor(private readonly values: readonly number[]) {}
  uniform(): number {
    return this.values[this.calls++ % this.values.length]!
  }
}

interface Case {
  probs: number[]
  options: ChooseOptions
  /** The uniform draw; null: a Random seeded with `seed`. */
  draw: number | null
  seed: number
}

/** Runs both on copies of the probabilities with identical draws; asserts the same token, draws consumed and probabilities after. */
function agree(c: Case): void {
  const mine = Float64Array.from(c.probs)
  const theirs = Float64Array.from(c.probs)
  let got: number
  let expected: number
  if (c.draw === null) {
    const a = new Random(c.seed)
    const b = new Random(c.seed)
    got = chooseToken(mine, c.options, a)
    expected = chooseTokenBySorting(theirs, c.options, b)
    assert.equal(a.nextUint32(), b.nextUint32(), 'the same number of draws taken')
  } else {
    const a = new ScriptedDraws([c.draw])
    const b = new ScriptedDraws([c.draw])
    got = chooseToken(mine, c.options, a as unknown as Random)
    expected = chooseTokenBySorting(theirs, c.options, b as unknown as Random)
    assert.equal(a.calls, b.calls, 'the same number of draws taken')
  }
  assert.equal(got, expected, `probs ${JSON.stringify(c.probs)}, options ${JSON.stringify(c.options)}, draw ${c.draw ?? `seed ${c.seed}`}`)
  assert.deepEqual(mine, theirs, 'the same probabilities left behind')
}

/**
 * The draws that put r exactly on an edge of the sort's walk: u = (mass of the first j tokens in
 * order) / (mass of all), for every j, as the oracle sums them.
 */
function edgeDraws(probs: readonly number[]): number[] {
  const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]! || a - b)
  let total = 0
  for (const i of order) total += probs[i]!
  if (!(total > 0)) return [0]
  const draws: number[] = [0]
  let running = 0
  for (const i of order) {
    running += probs[i]!
    const u = running / total
    if (u < 1) draws.push(u, nextDown(u), nextUp(u))
  }
  return draws.filter((u) => u >= 0 && u < 1)
}

function nextUp(x: number): number {
  const bits = new Float64Array([x])
  const words = new BigInt64Array(bits.buffer)
  words[0] = words[0]! + 1n
  return bits[0]!
}

function nextDown(x: number): number {
  if (x === 0) return 0
  const bits = new Float64Array([x])
  const words = new BigInt64Array(bits.buffer)
  words[0] = words[0]! - 1n
  return bits[0]!
}

// Probabilities with many ties and zeros: values from a short list, and any double in [0, 1].
const tied = fc.constantFrom(0, 0, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 1, 1e-300, 5e-324, 0.7)
const anyProbability = fc.double({ min: 0, max: 1, noNaN: true })
const value = fc.oneof(tied, anyProbability, fc.integer({ min: 0, max: 4 }).map((n) => n / 8))

/** A softmax of random logits, rounded to f32 as the backend's are. */
const softmaxProbs = (maxLength: number) => fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength }).map((logits) => {
  const top = Math.max(...logits)
  const e = logits.map((z) => Math.exp(z - top))
  const sum = e.reduce((a, b) => a + b, 0)
  return Array.from(Float32Array.from(e.map((x) => x / sum)))
})

const probsArb = (maxLength: number) => fc.oneof(fc.array(value, { minLength: 1, maxLength }), softmaxProbs(maxLength), fc.array(tied, { minLength: 1, maxLength }))

function optionsArb(length: number): fc.Arbitrary<ChooseOptions> {
  return fc.record({
    greedy: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: length + 2 })),
    topP: fc.oneof(fc.constant(1), fc.double({ min: 0.001, max: 1, noNaN: true }), fc.constantFrom(0.1, 0.5, 0.9, 0.999999)),
    exclude: fc.integer({ min: -1, max: length }),
  })
}

/** A case: probabilities, options for their length, and a seeded or an edge draw. */
function caseArb(maxLength: number): fc.Arbitrary<Case> {
  return probsArb(maxLength).chain((probs) =>
    fc.record({
      probs: fc.constant(probs),
      options: optionsArb(probs.length),
      draw: fc.oneof(fc.constant(null), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(...edgeDraws(probs))),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    }),
  )
}

const plain: ChooseOptions = { greedy: false, topK: 0, topP: 1, exclude: -1 }

describe('chooseToken by selection equals the sort it replaced', () => {
  test('short vocabularies: ties, zeros, exclude, greedy, top-k, top-p, edge draws', () => {
    fc.assert(fc.property(caseArb(40), (c) => agree(c)), { seed: 4201, numRuns: 3000 })
  })

  test('longer vocabularies (several partitions deep)', () => {
    fc.assert(fc.property(caseArb(3000), (c) => agree(c)), { seed: 4202, numRuns: 150 })
  })

  test('every edge of a walk, on both sides, for equal and unequal probabilities', () => {
    const cases = [
      Array.from({ length: 300 }, () => 1 / 300),
      Array.from({ length: 257 }, (_, i) => (i % 7) / 10),
      [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4],
      Array.from({ length: 64 }, (_, i) => 2 ** -i),
    ]
    for (const probs of cases) {
      for (const draw of edgeDraws(probs)) {
        for (const options of [plain, { ...plain, topK: 5 }, { ...plain, topP: 0.5 }, { ...plain, exclude: 3 }]) agree({ probs, options, draw, seed: 1 })
      }
    }
  })

  test('all zero, one token, and everything excluded: the sort\'s first token, no draw', () => {
    for (const probs of [[0, 0, 0], [0], [0.4], [0, 0.7, 0]]) {
      for (const options of [plain, { ...plain, exclude: 1 }, { ...plain, greedy: true }, { ...plain, topK: 2, topP: 0.3 }]) agree({ probs, options, draw: null, seed: 3 })
    }
  })

  test('probabilities that are not a distribution (NaN, negative, infinite, huge) go to the sort unchanged', () => {
    const odd = [[NaN, 0.5, 0.2], [0.3, -0.1, 0.5], [Infinity, 1, 2], [1e308, 1e308, 1], [-0, 0.5, 0.5], [NaN, NaN]]
    for (const probs of odd) {
      for (const options of [plain, { ...plain, greedy: true }, { ...plain, topK: 2 }, { ...plain, topP: 0.6 }]) agree({ probs, options, draw: null, seed: 7 })
    }
  })

  test('successive draws from one generator stay in step with the sort', () => {
    const probs = Array.from({ length: 500 }, (_, i) => 1 / (i + 1))
    const a = new Random(11)
    const b = new Random(11)
    for (let n = 0; n < 200; n++) {
      const options = { ...plain, topK: n % 3 === 0 ? 20 : 0, topP: n % 5 === 0 ? 0.8 : 1, exclude: n % 50 }
      assert.equal(chooseToken(Float64Array.from(probs), options, a), chooseTokenBySorting(Float64Array.from(probs), options, b), `draw ${n}`)
    }
  })
})

describe('chooseToken at a vocabulary of 1,000,000', () => {
  test('draws a token (plain, top-k, top-p, greedy); the plain draw is the sort\'s', () => {
    const V = 1_000_000
    const random = new Random(5)
    const logits = Float64Array.from({ length: V }, () => 4 * random.normal())
    let sum = 0
    for (const z of logits) sum += Math.exp(z)
    const probs = Float64Array.from(logits, (z) => Math.exp(z) / sum)
    for (const options of [plain, { ...plain, topK: 50 }, { ...plain, topP: 0.9 }, { ...plain, greedy: true }, { ...plain, exclude: 0 }]) {
      const token = chooseToken(Float64Array.from(probs), options, new Random(9))
      assert.ok(Number.isInteger(token) && token >= 0 && token < V, `${JSON.stringify(options)}: token ${token}`)
      assert.ok(probs[token]! > 0)
    }
    agree({ probs: Array.from(probs), options: plain, draw: null, seed: 9 })
  })
})
