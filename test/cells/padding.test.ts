/**
 * Padding does not change results: each sequence of a right-padded batch (with a mask) gives the
 * same outputs at its real steps, the same final states, and the same gradients as when it runs
 * alone. Checked for every cell, uni- and bidirectional, stacked, in float64.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CellOptions } from '../../src/cells/index.js'
import { StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { f64, maxRelativeError, Random } from '../helpers/setup.js'

const kinds: Omit<CellOptions, 'inputSize' | 'hiddenSize'>[] = [
  { kind: 'rnn' }, { kind: 'gru', reset: 'after' }, { kind: 'gru', reset: 'before' }, { kind: 'lstm' }, { kind: 'lstm', peephole: true },
]

for (const cell of kinds) {
  for (const bidirectional of [false, true]) {
    const label = `${cell.kind}${cell.reset ? ` ${cell.reset}` : ''}${cell.peephole ? ' peephole' : ''}${bidirectional ? ' bidirectional' : ''}`
    test(`padding invariance: ${label}, 2 layers`, async () => {
      const k = f64()
      const random = new Random(5)
      const X = 3, H = 4, lengths = [5, 3, 1], T = 5, B = lengths.length
      const params = new ParamBuilder()
      const stack = new StackedRecurrent(params, 'rnn', { ...cell, inputSize: X, hiddenSize: H, layers: 2, bidirectional })
      const store = params.build(k, random)
      k.write(store.values, Array.from({ length: store.size }, () => random.range(-0.5, 0.5)))
      const Y = stack.outputSize
      const xsHost = Array.from({ length: T * B * X }, () => random.range(-1, 1)) // padding holds garbage too
      const dysHost = Array.from({ length: T * B * Y }, () => random.range(-1, 1))
      const maskHost = Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < lengths[i % B] ? 1 : 0))
      // Output gradients at padded positions are zero, as a masked loss makes them.
      for (let i = 0; i < T * B; i++) if (maskHost[i] === 0) dysHost.fill(0, i * Y, (i + 1) * Y)

      // The padded batch.
      const buf = (data: number[]) => { const b = k.alloc(data.length); k.write(b, data); return b }
      const xs = buf(xsHost), mask = buf(maskHost), dys = buf(dysHost)
      store.zeroGrads()
      const run = stack.forward(k, T, B, xs, null, null, mask)
      const ys = await k.read(run.ys)
      const finals = await Promise.all(run.finals.map((s) => k.read(s.h)))
      const back = stack.backward(k, dys, null)
      const dxs = await k.read(back.dxs!)
      const grads = await k.read(store.grads)

      // Each sequence alone; parameter gradients summed over the three.
      const sumGrads = new Float64Array(store.size)
      for (let b = 0; b < B; b++) {
        const L = lengths[b]
        const pick = (host: number[], width: number) => Array.from({ length: L * width }, (_, i) => host[(Math.floor(i / width) * B + b) * width + (i % width)])
        store.zeroGrads()
        const alone = stack.forward(k, L, 1, buf(pick(xsHost, X)), null)
        const ysAlone = await k.read(alone.ys)
        assert.ok(maxRelativeError(ysAlone, pick(Array.from(ys), Y)) < 1e-12, `outputs of sequence ${b}`)
        for (const [i, s] of alone.finals.entries()) {
          const h = await k.read(s.h)
          assert.ok(maxRelativeError(h, Array.from(finals[i]).slice(b * H, (b + 1) * H)) < 1e-12, `final state ${i} of sequence ${b}`)
        }
        const r = stack.backward(k, buf(pick(dysHost, Y)), null)
        assert.ok(maxRelativeError(await k.read(r.dxs!), pick(Array.from(dxs), X)) < 1e-12, `input gradients of sequence ${b}`)
        const g = await k.read(store.grads)
        g.forEach((v, i) => (sumGrads[i] += v))
      }
      assert.ok(maxRelativeError(grads, sumGrads) < 1e-10, 'parameter gradients of the batch equal the sum over the sequences alone')
    })
  }
}
