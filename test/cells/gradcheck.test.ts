/**
 * Numerical gradient checks of every cell (both GRU forms, LSTM with and without peepholes),
 * forward and reverse direction, in float64: loss = Σ ys * R + Σ final states * R'
 * (a random projection of every output), checked against central differences for all parameters,
 * the input sequence and the initial state.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, type State } from '../../src/cells/index.js'
import { ParamBuilder } from '../../src/params.js'
import { gradientCheck, type GradientCheckTarget } from '../../src/train/gradcheck.js'
import { f64, randomBuffer, Random } from '../helpers/setup.js'
import { CELL_VARIANTS, randomizeParams } from '../helpers/cell-variants.js'

for (const [label, options] of CELL_VARIANTS) {
  for (const reverse of [false, true]) {
    test(`gradient check: ${label}${reverse ? ' (reverse)' : ''}`, async () => {
      const k = f64()
      const random = new Random(11)
      const T = 4, B = 3, X = 5, H = 4
      const params = new ParamBuilder()
      const cell = createCell(params, 'cell', { ...options, inputSize: X, hiddenSize: H, reverse })
      const store = params.build(k, random)
      randomizeParams(k, store, random)
      const xs = randomBuffer(k, T * B * X, random)
      const init: State = { h: randomBuffer(k, B * H, random), c: cell.hasCellState ? randomBuffer(k, B * H, random) : null }
      const R = randomBuffer(k, T * B * H, random)
      const Rh = randomBuffer(k, B * H, random)
      const Rc = randomBuffer(k, B * H, random)
      const ws = cell.workspace(k, T, B)
      const dot = async (a: any, b: any) => {
        const [x, y] = [await k.read(a), await k.read(b)]
        let sum = 0
        for (let i = 0; i < x.length; i++) sum += x[i] * y[i]
        return sum
      }
      const loss = async () => {
        const { ys, final } = cell.forward(k, ws, xs, init)
        return (await dot(ys, R)) + (await dot(final.h, Rh)) + (final.c === null ? 0 : await dot(final.c, Rc))
      }
      let dInit: State | null = null
      let dxs: any = null
      const gradient = async () => {
        store.zeroGrads()
        cell.forward(k, ws, xs, init)
        const r = cell.backward(k, ws, R, { h: Rh, c: cell.hasCellState ? Rc : null })
        dInit = r.dInit
        dxs = r.dxs
      }
      const targets: GradientCheckTarget[] = [
        ...store.params.map((p) => ({ name: p.name, value: p.value, grad: () => p.grad })),
        { name: 'xs', value: xs, grad: () => dxs },
        { name: 'h0', value: init.h, grad: () => dInit!.h },
      ]
      if (init.c !== null) targets.push({ name: 'c0', value: init.c, grad: () => dInit!.c! })
      const results = await gradientCheck(k, targets, loss, gradient)
      for (const r of results) {
        assert.ok(r.maxRelativeError < 1e-4, `${r.name}: relative error ${r.maxRelativeError} at ${r.worstIndex} (analytic ${r.analytic}, numeric ${r.numeric})`)
      }
    })
  }
}
