/**
 * Sampling and scoring. Every check of a sampled token recomputes the model's distribution
 * independently: the whole context run in one call from a zero state, softmax on the host in f64
 * (the sampler instead carries the state token by token and takes the softmax on the backend).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { chooseToken, sampleTokens, scoreTokens, startToken, type SampleOptions } from '../../src/decode/sampling.js'
import type { LanguageModel } from '../../src/models/language-model.js'
import { Random } from '../../src/random.js'
import { tokenize } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { collect, expectRecurError, f32, nextTokenProbabilities, ranked, softmaxRow, tinyModel } from '../helpers/lm.js'

// <UNK> 0, <EOS> 1, '\n' 2 (the start token at character level), then letters.
const vocabulary = Vocabulary.fromTokens(['<UNK>', '<EOS>', '\n', 'a', 'b', 'c', 'd', 'e', 'f', 'g'])
const V = vocabulary.size
const UNK = vocabulary.unkId
const EOS = vocabulary.eosId

/** A random LSTM whose output weights are scaled up, so its distributions are neither flat nor one-hot. */
async function makeModel(seed = 1, bias: Record<number, number> = {}): Promise<LanguageModel> {
  const model = tinyModel(f32(), V, { cell: 'lstm', layers: 2, hidden: 8 }, seed)
  const values = await model.params.readValues()
  const weight = values.get('out.weight')!.map((w) => 3 * w)
  const outBias = new Float32Array(V)
  for (const [id, b] of Object.entries(bias)) outBias[Number(id)] = b
  model.params.writeValues(new Map([['out.weight', weight], ['out.bias', outBias]]))
  return model
}

/** Options that let every token be drawn and never stop early. */
const open: SampleOptions = { resampleUnknown: false, stopAtEos: false }

/**
 * For each sampled token, the distribution it was drawn from (context: the prime, or the start
 * token, then the tokens sampled before it).
 */
async function distributions(model: LanguageModel, sample: readonly number[], prime: readonly number[] = [startToken(vocabulary)]): Promise<Float64Array[]> {
  const out: Float64Array[] = []
  for (let n = 0; n < sample.length; n++) out.push(await nextTokenProbabilities(model, [...prime, ...sample.slice(0, n)]))
  return out
}

describe('sampleTokens', () => {
  test('the same seed gives the same sample; other seeds give other samples', async () => {
    const model = await makeModel()
    const a = await collect(sampleTokens(model, vocabulary, { ...open, length: 40, seed: 5 }))
    const b = await collect(sampleTokens(model, vocabulary, { ...open, length: 40, seed: 5 }))
    assert.equal(a.length, 40)
    assert.deepEqual(b, a)
    const others = await Promise.all([1, 2, 3, 4].map(async (seed) => (await collect(sampleTokens(model, vocabulary, { ...open, length: 40, seed }))).join(',')))
    assert.equal(new Set([...others, a.join(',')]).size, 5, 'five seeds, five different samples')
  })

  test('tokens stream one at a time: stopping early gives a prefix of the full sample', async () => {
    const model = await makeModel()
    const full = await collect(sampleTokens(model, vocabulary, { ...open, length: 20, seed: 3 }))
    const first: number[] = []
    for await (const token of sampleTokens(model, vocabulary, { ...open, length: 20, seed: 3 })) {
      first.push(token)
      if (first.length === 4) break
    }
    assert.deepEqual(first, full.slice(0, 4))
  })

  test('greedy takes the most probable token at every step', async () => {
    const model = await makeModel(2)
    const sample = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 25, seed: 1 }))
    assert.equal(sample.length, 25)
    const probs = await distributions(model, sample)
    sample.forEach((token, n) => {
      const best = ranked(probs[n]!)[0]!
      assert.ok(probs[n]![token]! >= probs[n]![best]! - 1e-6, `step ${n}: drew ${token} (p=${probs[n]![token]}), the most probable is ${best} (p=${probs[n]![best]})`)
    })
    // Greedy ignores the seed and the temperature.
    assert.deepEqual(await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 25, seed: 99, temperature: 3 })), sample)
  })

  test('greedy after a prime conditions on the prime (and not on the start token)', async () => {
    const model = await makeModel(4)
    const prime = [3, 4, 5, 3]
    const sample = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 8, prime }))
    const probs = await distributions(model, sample, prime)
    sample.forEach((token, n) => assert.ok(probs[n]![token]! >= probs[n]![ranked(probs[n]!)[0]!]! - 1e-6, `step ${n}`))
  })

  test('top-k = 1 equals greedy, whatever the seed and temperature', async () => {
    const model = await makeModel(3)
    const greedy = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 30 }))
    for (const seed of [1, 2, 3]) {
      assert.deepEqual(await collect(sampleTokens(model, vocabulary, { ...open, topK: 1, length: 30, seed, temperature: 2 })), greedy, `seed ${seed}`)
    }
  })

  test('top-k draws only among the k most probable tokens of each step', async () => {
    const model = await makeModel(5)
    const k = 3
    const ranksSeen = new Set<number>()
    for (const seed of [1, 2, 3, 4]) {
      const sample = await collect(sampleTokens(model, vocabulary, { ...open, topK: k, temperature: 2, length: 25, seed }))
      const probs = await distributions(model, sample)
      sample.forEach((token, n) => {
        const order = ranked(probs[n]!)
        const kth = probs[n]![order[k - 1]!]!
        assert.ok(probs[n]![token]! >= kth - 1e-6, `seed ${seed} step ${n}: drew ${token} (p=${probs[n]![token]}), outside the top ${k} (k-th p=${kth})`)
        ranksSeen.add(order.indexOf(token))
      })
    }
    assert.ok(ranksSeen.size >= 2, 'top-k with temperature 2 is not greedy: more than the best token is drawn')
  })

  test('top-p draws only from the smallest set of tokens that reaches p', async () => {
    const model = await makeModel(6)
    const p = 0.5
    const ranksSeen = new Set<number>()
    for (const seed of [1, 2, 3, 4]) {
      const sample = await collect(sampleTokens(model, vocabulary, { ...open, topP: p, length: 25, seed }))
      const probs = await distributions(model, sample)
      sample.forEach((token, n) => {
        const order = ranked(probs[n]!)
        let mass = 0
        let last = 0
        for (const id of order) {
          mass += probs[n]![id]!
          last = id
          if (mass >= p - 1e-6) break
        }
        assert.ok(probs[n]![token]! >= probs[n]![last]! - 1e-6, `seed ${seed} step ${n}: drew ${token} (p=${probs[n]![token]}), outside the top-p set`)
        ranksSeen.add(order.indexOf(token))
      })
    }
    assert.ok(ranksSeen.size >= 2, 'top-p 0.5 keeps more than one token at some steps')
  })

  test('a very small top-p is greedy', async () => {
    const model = await makeModel(7)
    const greedy = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 20 }))
    assert.deepEqual(await collect(sampleTokens(model, vocabulary, { ...open, topP: 0.001, length: 20, seed: 4 })), greedy)
  })

  test('<UNK> is never drawn while resampleUnknown is on (the default), even when it is by far the most probable', async () => {
    const model = await makeModel(1, { [UNK]: 30 })
    const probs = await nextTokenProbabilities(model, [startToken(vocabulary)])
    assert.ok(probs[UNK]! > 0.999, 'the bias makes <UNK> almost certain')
    for (const seed of [1, 2, 3]) {
      const sample = await collect(sampleTokens(model, vocabulary, { stopAtEos: false, length: 30, seed }))
      assert.equal(sample.length, 30)
      assert.ok(!sample.includes(UNK), `seed ${seed}: ${sample.join(' ')}`)
    }
    const greedy = await collect(sampleTokens(model, vocabulary, { stopAtEos: false, greedy: true, length: 10 }))
    assert.ok(!greedy.includes(UNK), 'greedy takes the best token other than <UNK>')
    const drawn = await collect(sampleTokens(model, vocabulary, { stopAtEos: false, resampleUnknown: false, length: 30, seed: 1 }))
    assert.ok(drawn.filter((t) => t === UNK).length >= 25, `with resampleUnknown off, <UNK> is drawn: ${drawn.join(' ')}`)
  })

  test('<EOS> ends the sample and is not yielded', async () => {
    const certain = await makeModel(1, { [EOS]: 30 })
    assert.deepEqual(await collect(sampleTokens(certain, vocabulary, { length: 20, seed: 1 })), [], 'an almost certain <EOS> ends the sample at once')
    assert.ok((await collect(sampleTokens(certain, vocabulary, { length: 20, seed: 1, stopAtEos: false }))).includes(EOS), 'with stopAtEos off it is yielded')

    // A likely <EOS>: the stopped sample is the unstopped one (same seed, same draws) cut before its first <EOS>.
    const likely = await makeModel(1, { [EOS]: 2 })
    let checked = 0
    for (let seed = 1; seed <= 30 && checked < 3; seed++) {
      const unstopped = await collect(sampleTokens(likely, vocabulary, { length: 40, seed, stopAtEos: false }))
      const at = unstopped.indexOf(EOS)
      if (at < 2) continue
      const stopped = await collect(sampleTokens(likely, vocabulary, { length: 40, seed }))
      assert.deepEqual(stopped, unstopped.slice(0, at), `seed ${seed}`)
      assert.ok(!stopped.includes(EOS))
      checked++
    }
    assert.equal(checked, 3, 'three seeds with an <EOS> after the second token')
  })

  test('length caps the sample', async () => {
    const model = await makeModel()
    for (const length of [1, 2, 7]) {
      assert.equal((await collect(sampleTokens(model, vocabulary, { ...open, length, seed: 2 }))).length, length)
    }
    assert.equal((await collect(sampleTokens(model, vocabulary, { ...open, length: 0 }))).length, 0)
  })

  test('a tiny temperature is (almost surely) greedy; a huge one is close to uniform', async () => {
    const model = await makeModel(8)
    const greedy = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 15 }))
    assert.deepEqual(await collect(sampleTokens(model, vocabulary, { ...open, temperature: 1e-3, length: 15, seed: 6 })), greedy)
    const wild = await collect(sampleTokens(model, vocabulary, { ...open, temperature: 1000, length: 200, seed: 6 }))
    assert.ok(new Set(wild).size === V, 'every token comes up at temperature 1000')
  })

  test('invalid options are refused (RANGE) before anything is drawn', async () => {
    const model = await makeModel()
    for (const options of [{ temperature: 0 }, { temperature: -1 }, { topP: 0 }, { topP: 1.5 }, { topK: -1 }, { topK: 1.5 }]) {
      await expectRecurError(() => collect(sampleTokens(model, vocabulary, options)), 'RANGE')
    }
  })

  test('prime tokens outside the vocabulary: encode refuses them (TOKEN) with unknown "error", maps them to <UNK> otherwise', async () => {
    const tokens = tokenize('abz', { level: 'char' })
    await expectRecurError(() => vocabulary.encode(tokens, { unknown: 'error' }), 'TOKEN', /"z" at position 2/)
    assert.deepEqual([...vocabulary.encode(tokens, { unknown: 'unk' })], [3, 4, UNK])
    assert.deepEqual([...vocabulary.encode(tokens)], [3, 4, UNK])
    // A prime with <UNK> in it is a valid input to the sampler.
    const model = await makeModel()
    assert.equal((await collect(sampleTokens(model, vocabulary, { length: 5, prime: vocabulary.encode(tokens) }))).length, 5)
  })
})

describe('chooseToken', () => {
  const draws = (probs: number[], options: Partial<Parameters<typeof chooseToken>[1]>, n: number, seed = 1): number[] => {
    const random = new Random(seed)
    const o = { greedy: false, topK: 0, topP: 1, exclude: -1, ...options }
    return Array.from({ length: n }, () => chooseToken(Float64Array.from(probs), o, random))
  }
  const frequencies = (tokens: number[], V: number): number[] => {
    const counts = new Array<number>(V).fill(0)
    for (const t of tokens) counts[t]!++
    return counts.map((c) => c / tokens.length)
  }
  const probs = [0.1, 0.5, 0.15, 0.25]

  test('greedy returns the most probable token; ties go to the lower id', () => {
    assert.deepEqual(new Set(draws(probs, { greedy: true }, 50)), new Set([1]))
    assert.deepEqual(new Set(draws([0.3, 0.1, 0.3, 0.3], { greedy: true }, 50)), new Set([0]))
  })

  test('without limits, tokens come up in proportion to their probability', () => {
    const f = frequencies(draws(probs, {}, 4000), 4)
    f.forEach((x, i) => assert.ok(Math.abs(x - probs[i]!) < 0.03, `token ${i}: frequency ${x}, probability ${probs[i]}`))
  })

  test('top-k keeps the k most probable, renormalised', () => {
    assert.deepEqual(new Set(draws(probs, { topK: 1 }, 200)), new Set([1]))
    const f = frequencies(draws(probs, { topK: 2 }, 4000), 4)
    assert.equal(f[0], 0)
    assert.equal(f[2], 0)
    assert.ok(Math.abs(f[1]! - 0.5 / 0.75) < 0.03 && Math.abs(f[3]! - 0.25 / 0.75) < 0.03, `frequencies ${f}`)
    assert.deepEqual(new Set(draws(probs, { topK: 10 }, 2000)), new Set([0, 1, 2, 3]), 'k above V keeps all')
  })

  test('top-p keeps the smallest most-probable set whose mass reaches p', () => {
    assert.deepEqual(new Set(draws(probs, { topP: 0.5 }, 300)), new Set([1]), '0.5 alone reaches 0.5')
    assert.deepEqual(new Set(draws(probs, { topP: 0.6 }, 1000)), new Set([1, 3]))
    assert.deepEqual(new Set(draws(probs, { topP: 0.8 }, 2000)), new Set([1, 3, 2]))
    assert.deepEqual(new Set(draws([2, 1, 1], { topP: 0.5 }, 300)), new Set([0]), 'unnormalised probabilities are normalised first')
    assert.deepEqual(new Set(draws(probs, { topP: 0.6, topK: 1 }, 300)), new Set([1]), 'top-k applies before top-p')
  })

  test('an excluded token is never drawn, and the rest are renormalised', () => {
    const tokens = draws(probs, { exclude: 1 }, 4000)
    assert.ok(!tokens.includes(1))
    const f = frequencies(tokens, 4)
    assert.ok(Math.abs(f[3]! - 0.25 / 0.5) < 0.03, `frequencies ${f}`)
    assert.deepEqual(new Set(draws(probs, { exclude: 1, greedy: true }, 10)), new Set([3]))
    assert.deepEqual(new Set(draws(probs, { exclude: 1, topK: 1 }, 100)), new Set([3]))
    assert.notEqual(draws([0, 1, 0], { exclude: 1 }, 1)[0], 1, 'everything else has probability 0: still not the excluded token')
  })

  test('the same random state gives the same draws', () => {
    assert.deepEqual(draws(probs, {}, 100, 9), draws(probs, {}, 100, 9))
    assert.notDeepEqual(draws(probs, {}, 100, 9), draws(probs, {}, 100, 10))
  })
})

describe('scoreTokens', () => {
  /** log P(y<t> | y<1..t-1>) for each t, with the model run one token at a time from `start`. */
  async function stepLogProbs(model: LanguageModel, start: number, ids: readonly number[]): Promise<number[]> {
    const states = model.zeroStates(1)
    const out: number[] = []
    let previous = start
    for (let t = 0; t < ids.length; t++) {
      const { logits, finals } = model.forward(1, 1, [previous], t === 0 ? null : states)
      model.copyStates(finals, states)
      out.push(Math.log(softmaxRow((await model.kernels.read(logits)).subarray(0, model.vocabularySize))[ids[t]!]!))
      previous = ids[t]!
    }
    return out
  }

  const sentence = [3, 4, 5, 2, 6, 7, 3, 9, 8, 1, 4]

  for (const cell of ['rnn', 'gru', 'lstm'] as const) {
    test(`${cell}: the sentence log-probability is the sum of the step log-probabilities (P is the product of the step probabilities)`, async () => {
      const model = tinyModel(f32(), V, { cell, layers: 2, hidden: 7 }, 12)
      const score = await scoreTokens(model, vocabulary, sentence)
      const expected = await stepLogProbs(model, startToken(vocabulary), sentence)
      assert.equal(score.tokenLogProbs.length, sentence.length)
      score.tokenLogProbs.forEach((lp, t) => assert.ok(Math.abs(lp - expected[t]!) < 1e-5, `token ${t}: ${lp} vs ${expected[t]}`))
      const total = expected.reduce((a, b) => a + b, 0)
      assert.ok(Math.abs(score.logProb - total) < 1e-5 * sentence.length, `total ${score.logProb} vs ${total}`)
      assert.equal(score.logProb, score.tokenLogProbs.reduce((a, b) => a + b, 0))
      assert.equal(score.meanLogProb, score.logProb / sentence.length)
      const product = expected.reduce((p, lp) => p * Math.exp(lp), 1)
      assert.ok(Math.abs(Math.exp(score.logProb) / product - 1) < 1e-4, `P = ${Math.exp(score.logProb)}, product of the steps ${product}`)
    })
  }

  test('the start token is the newline at character level and <EOS> where there is no newline', async () => {
    assert.equal(startToken(vocabulary), 2)
    const words = Vocabulary.fromTokens(['<UNK>', '<EOS>', 'the', 'cat', 'sat'])
    assert.equal(startToken(words), words.eosId)
    const model = tinyModel(f32(), words.size, { cell: 'gru', hidden: 5 }, 2)
    const ids = [2, 3, 4, 1]
    const score = await scoreTokens(model, words, ids)
    const expected = await stepLogProbs(model, words.eosId, ids)
    score.tokenLogProbs.forEach((lp, t) => assert.ok(Math.abs(lp - expected[t]!) < 1e-5, `token ${t}`))
  })

  test('the first token of a sample and of a score see the same distribution', async () => {
    const model = await makeModel(9)
    const [first] = await collect(sampleTokens(model, vocabulary, { ...open, greedy: true, length: 1 }))
    const probs = await nextTokenProbabilities(model, [startToken(vocabulary)])
    const score = await scoreTokens(model, vocabulary, [first!])
    assert.ok(Math.abs(score.logProb - Math.log(probs[first!]!)) < 1e-5)
  })

  test('empty text is refused (DATA); an id outside the vocabulary is refused (RANGE)', async () => {
    const model = tinyModel(f32(), V)
    await expectRecurError(() => scoreTokens(model, vocabulary, []), 'DATA')
    await expectRecurError(() => scoreTokens(model, vocabulary, [3, V]), 'RANGE')
  })
})
