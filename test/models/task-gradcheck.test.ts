/**
 * Gradient checks of the task heads in float64, on padded batches: the classifier with each
 * pooling (final / mean / max) and output (softmax / sigmoid), the tagger (softmax and the note's
 * per-step binary cross-entropy), and the encoder-decoder with teacher forcing (direct and bridged).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EncoderArchitecture } from '../../src/layers/token-encoder.js'
import { SequenceClassifier } from '../../src/models/classifier.js'
import type { PaddedBatch } from '../../src/models/heads.js'
import { Seq2Seq } from '../../src/models/seq2seq.js'
import { SequenceTagger } from '../../src/models/tagger.js'
import type { ParamStore } from '../../src/params.js'
import { gradientCheck } from '../../src/train/gradcheck.js'
import { f64, Random } from '../helpers/setup.js'

const V = 7
const encoder = (over: Partial<EncoderArchitecture> = {}): EncoderArchitecture => ({
  cell: 'lstm', layers: 2, hidden: 3, vocabularySize: V, embedding: 4, bidirectional: true, merge: 'concat', dropout: 0, reset: 'after', peephole: false, ...over,
})

/** A right-padded batch of random tokens with the given lengths. */
function batch(lengths: number[], random: Random, vocab = V): PaddedBatch {
  const T = Math.max(...lengths), B = lengths.length
  const ids = new Int32Array(T * B), mask = new Float32Array(T * B)
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    ids[t * B + b] = random.int(vocab)
    mask[t * B + b] = t < lengths[b] ? 1 : 0
  }
  return { T, B, ids, mask }
}

async function check(params: ParamStore, run: () => void, read: () => Promise<number>) {
  const k = params.kernels
  const random = new Random(3)
  k.write(params.values, Array.from({ length: params.size }, () => random.range(-0.5, 0.5)))
  const results = await gradientCheck(
    k,
    params.params.map((p) => ({ name: p.name, value: p.value, grad: () => p.grad })),
    async () => { run(); return read() },
    async () => { params.zeroGrads(); run() },
    // Losses here are about 1, so float64 central differences carry ~1e-10 of noise: below 1e-5 the
    // error is measured in absolute terms (floor), above it relative.
    { maxElements: 12, floor: 1e-5 },
  )
  for (const r of results) assert.ok(r.maxRelativeError < 1e-4, `${r.name}: relative error ${r.maxRelativeError} (analytic ${r.analytic}, numeric ${r.numeric})`)
}

for (const pooling of ['final', 'mean', 'max'] as const) {
  for (const output of ['softmax', 'sigmoid'] as const) {
    test(`gradient check: classifier, ${pooling} pooling, ${output}`, async () => {
      const k = f64(), random = new Random(1)
      const model = new SequenceClassifier(k, { ...encoder({ cell: pooling === 'mean' ? 'gru' : 'lstm' }), classes: 3, output, pooling, dense: [5], activation: 'tanh' })
      const b = batch([4, 2, 3], random)
      const targets = output === 'softmax' ? [0, 2, 1] : [1, 0, 1, 0, 0, 1, 1, 1, 0]
      await check(model.params, () => { model.forward(b); model.lossAndBackward(targets, true) }, async () => { model.forward(b); model.lossAndBackward(targets, false); return model.loss.mean(k) })
    })
  }
}

for (const output of ['softmax', 'sigmoid'] as const) {
  test(`gradient check: tagger, ${output}`, async () => {
    const k = f64(), random = new Random(2)
    const model = new SequenceTagger(k, { ...encoder({ cell: 'rnn', embedding: 0 }), tags: output === 'softmax' ? 3 : 1, output, dense: [], activation: 'tanh' })
    const b = batch([3, 1, 2], random)
    const targets = Array.from({ length: b.T * b.B }, () => (output === 'softmax' ? random.int(3) : random.int(2)))
    await check(model.params, () => { model.forward(b); model.lossAndBackward(targets, true) }, async () => { model.forward(b); model.lossAndBackward(targets, false); return model.loss.mean(k) })
  })
}

for (const [label, enc] of [['direct', encoder({ bidirectional: false, hidden: 4 })], ['bridged', encoder({ cell: 'gru', layers: 1 })], ['bridged lstm', encoder()]] as const) {
  test(`gradient check: encoder-decoder with teacher forcing, ${label}`, async () => {
    const k = f64(), random = new Random(4)
    const model = new Seq2Seq(k, { encoder: enc, decoder: { layers: 2, hidden: 4, vocabularySize: 6, embedding: 3, dropout: 0 } })
    const src = batch([3, 2], random), tgt = batch([2, 3], random, 6)
    const targets = Array.from({ length: tgt.T * tgt.B }, () => random.int(6))
    await check(model.params, () => { model.forward(src, tgt); model.lossAndBackward(targets, true) }, async () => { model.forward(src, tgt); model.lossAndBackward(targets, false); return model.loss.mean(k) })
  })
}
