/**
 * Numerical gradient checks of the layers above the cells, in float64 with central differences
 * (src/train/gradcheck.ts): bidirectional layers (both merges, every cell), stacks of 2-3 layers
 * (uni and bi, with dropout under a fixed mask), the lookup input, Embedding, Dense, and the two
 * losses with masks. Each model's loss is a random projection of all its outputs, so every output
 * element's gradient path is exercised.
 *
 * Tolerance: relative error < 1e-4. With ε = 1e-6 in float64 the central difference has a
 * truncation error ~ε²|f'''| ≈ 1e-12 and a rounding error ~1e-16·|L|/ε ≈ 1e-10·|L|; divided by the
 * checker's floor of 1e-6 for near-zero gradient elements, that is up to ~1e-4·|L|. A wrong
 * gradient (a missing term, a transposed block) is off by O(1), so 1e-4 still separates them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { State } from '../../src/cells/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { Dense } from '../../src/layers/dense.js'
import { Embedding } from '../../src/layers/embedding.js'
import { RecurrentLayer, StackedRecurrent, type Merge } from '../../src/layers/recurrent.js'
import { ParamBuilder, type ParamStore } from '../../src/params.js'
import { gradientCheck, type GradientCheckOptions, type GradientCheckTarget } from '../../src/train/gradcheck.js'
import { BinaryCrossEntropy, SoftmaxCrossEntropy } from '../../src/train/losses.js'
import { f64, randomBuffer, randomIds, Random } from '../helpers/setup.js'
import { CELL_VARIANTS, randomizeParams } from '../helpers/cell-variants.js'

const TOLERANCE = 1e-4

async function dot(k: Kernels, a: BufferHandle, b: BufferHandle): Promise<number> {
  const [x, y] = [await k.read(a), await k.read(b)]
  assert.equal(x.length, y.length)
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * y[i]
  return s
}

/** Σ final states · their projections. */
async function stateDot(k: Kernels, finals: readonly State[], R: readonly State[]): Promise<number> {
  let s = 0
  for (const [i, f] of finals.entries()) {
    s += await dot(k, f.h, R[i].h)
    if (f.c !== null) s += await dot(k, f.c, R[i].c!)
  }
  return s
}

function randomStates(k: Kernels, count: number, B: number, H: number, withC: boolean, random: Random): State[] {
  return Array.from({ length: count }, () => ({ h: randomBuffer(k, B * H, random), c: withC ? randomBuffer(k, B * H, random) : null }))
}

function paramTargets(store: ParamStore): GradientCheckTarget[] {
  return store.params.map((p) => ({ name: p.name, value: p.value, grad: () => p.grad }))
}

/** Targets for initial states, whose gradients come from the latest backward. */
function stateTargets(init: readonly State[], dInits: () => readonly State[]): GradientCheckTarget[] {
  return init.flatMap((s, i) => [
    { name: `h0[${i}]`, value: s.h, grad: () => dInits()[i].h },
    ...(s.c === null ? [] : [{ name: `c0[${i}]`, value: s.c, grad: () => dInits()[i].c! }]),
  ])
}

async function check(
  k: Kernels, targets: GradientCheckTarget[], loss: () => Promise<number>, gradient: () => Promise<void>,
  options: GradientCheckOptions = {},
): Promise<void> {
  const results = await gradientCheck(k, targets, loss, gradient, options)
  assert.equal(results.length, targets.length)
  for (const r of results) {
    assert.ok(r.checked > 0, `${r.name}: nothing checked`)
    assert.ok(r.maxRelativeError < TOLERANCE, `${r.name}: relative error ${r.maxRelativeError} at ${r.worstIndex} (analytic ${r.analytic}, numeric ${r.numeric})`)
  }
}

// ---- one bidirectional layer ------------------------------------------------------------------------------

for (const [label, cell] of CELL_VARIANTS) {
  for (const merge of ['concat', 'sum'] as const satisfies readonly Merge[]) {
    test(`gradient check: bidirectional ${label}, merge ${merge} (params, xs, both initial states)`, async () => {
      const k = f64()
      const random = new Random(21)
      const T = 4, B = 2, X = 3, H = 3
      const params = new ParamBuilder()
      const layer = new RecurrentLayer(params, 'bi', { ...cell, inputSize: X, hiddenSize: H, bidirectional: true, merge })
      const store = params.build(k, random)
      randomizeParams(k, store, random)
      assert.equal(layer.outputSize, merge === 'concat' ? 2 * H : H)
      const withC = layer.cells[0].hasCellState
      const xs = randomBuffer(k, T * B * X, random)
      const init = randomStates(k, 2, B, H, withC, random)
      const R = randomBuffer(k, T * B * layer.outputSize, random)
      const Rf = randomStates(k, 2, B, H, withC, random)
      const loss = async () => {
        const { ys, finals } = layer.forward(k, T, B, xs, init)
        return (await dot(k, ys, R)) + (await stateDot(k, finals, Rf))
      }
      let dxs: BufferHandle | null = null
      let dInits: State[] = []
      const gradient = async () => {
        store.zeroGrads()
        layer.forward(k, T, B, xs, init)
        ;({ dxs, dInits } = layer.backward(k, R, Rf))
      }
      await check(k, [...paramTargets(store), { name: 'xs', value: xs, grad: () => dxs! }, ...stateTargets(init, () => dInits)], loss, gradient)
    })
  }
}

// ---- stacks -----------------------------------------------------------------------------------------------

const STACKS: { layers: number; bidirectional: boolean; dropout: number; merge?: Merge }[] = [
  { layers: 2, bidirectional: false, dropout: 0.4 },
  { layers: 3, bidirectional: true, dropout: 0.3 },
  { layers: 2, bidirectional: true, dropout: 0, merge: 'sum' },
]

for (const [label, cell] of CELL_VARIANTS) {
  for (const stack of STACKS) {
    const name = `${stack.layers} layers ${stack.bidirectional ? `bidirectional (${stack.merge ?? 'concat'})` : 'unidirectional'}` +
      `${stack.dropout > 0 ? `, dropout ${stack.dropout} with a fixed mask` : ''}`
    test(`gradient check: stacked ${label}, ${name}`, async () => {
      const k = f64()
      const random = new Random(31)
      const T = 3, B = 2, X = 3, H = 3
      const params = new ParamBuilder()
      const { merge, ...rest } = stack
      const model = new StackedRecurrent(params, 'stack', { ...cell, ...rest, ...(merge === undefined ? {} : { merge }), inputSize: X, hiddenSize: H })
      const store = params.build(k, random)
      randomizeParams(k, store, random)
      const xs = randomBuffer(k, T * B * X, random)
      const init = randomStates(k, model.stateCount, B, H, model.hasCellState, random)
      const R = randomBuffer(k, T * B * model.outputSize, random)
      const Rf = randomStates(k, model.stateCount, B, H, model.hasCellState, random)
      // The same generator state on every call, so every forward draws the same dropout masks.
      const masks = () => (stack.dropout > 0 ? new Random(99) : null)
      const lossWith = async (random: Random | null) => {
        const { ys, finals } = model.forward(k, T, B, xs, init, random)
        return (await dot(k, ys, R)) + (await stateDot(k, finals, Rf))
      }
      const loss = () => lossWith(masks())
      if (stack.dropout > 0) {
        const first = await loss()
        assert.equal(await loss(), first, 'the same generator state must give the same masks')
        assert.notEqual(await lossWith(null), first, 'dropout must change the outputs')
      }
      let dxs: BufferHandle | null = null
      let dInits: State[] = []
      const gradient = async () => {
        store.zeroGrads()
        model.forward(k, T, B, xs, init, masks())
        ;({ dxs, dInits } = model.backward(k, R, Rf))
      }
      await check(k, [...paramTargets(store), { name: 'xs', value: xs, grad: () => dxs! }, ...stateTargets(init, () => dInits)], loss, gradient, { maxElements: 40 })
    })
  }
}

// ---- lookup input -------------------------------------------------------------------------------------------

for (const [label, cell] of CELL_VARIANTS) {
  test(`gradient check: lookup input (token ids), bidirectional ${label}: weight gradients`, async () => {
    const k = f64()
    const random = new Random(41)
    const T = 4, B = 2, V = 5, H = 3 // T*B = 8 ids over 5 tokens: repeated ids, whose gradients add
    const params = new ParamBuilder()
    const layer = new RecurrentLayer(params, 'emb', { ...cell, input: 'lookup', inputSize: V, hiddenSize: H, bidirectional: true })
    const store = params.build(k, random)
    randomizeParams(k, store, random)
    const ids = randomIds(k, T * B, V, random)
    const R = randomBuffer(k, T * B * layer.outputSize, random)
    const loss = async () => dot(k, layer.forward(k, T, B, ids, null).ys, R)
    const gradient = async () => {
      store.zeroGrads()
      layer.forward(k, T, B, ids, null)
      const { dxs } = layer.backward(k, R, null)
      assert.equal(dxs, null, 'token ids have no gradient')
    }
    await check(k, paramTargets(store), loss, gradient)
  })
}

test('gradient check: lookup input, stacked 2-layer gru (reset-before) with dropout: weight gradients', async () => {
  const k = f64()
  const random = new Random(43)
  const T = 3, B = 3, V = 6, H = 3
  const params = new ParamBuilder()
  const model = new StackedRecurrent(params, 'lm', { kind: 'gru', reset: 'before', input: 'lookup', inputSize: V, hiddenSize: H, layers: 2, dropout: 0.3 })
  const store = params.build(k, random)
  randomizeParams(k, store, random)
  const ids = randomIds(k, T * B, V, random)
  const R = randomBuffer(k, T * B * model.outputSize, random)
  const loss = async () => dot(k, model.forward(k, T, B, ids, null, new Random(5)).ys, R)
  const gradient = async () => {
    store.zeroGrads()
    model.forward(k, T, B, ids, null, new Random(5))
    assert.equal(model.backward(k, R, null).dxs, null)
  }
  await check(k, paramTargets(store), loss, gradient)
})

// ---- Embedding and Dense ---------------------------------------------------------------------------------------

for (const oneHot of [false, true]) {
  test(`gradient check: Embedding, ${oneHot ? 'one-hot rows' : 'token ids'} (weight)`, async () => {
    const k = f64()
    const random = new Random(51)
    const N = 9, V = 5, D = 4
    const params = new ParamBuilder()
    const embedding = new Embedding(params, 'embedding', V, D)
    const store = params.build(k, random)
    const ids = Array.from({ length: N }, () => random.int(V))
    const input = k.alloc(oneHot ? N * V : N, oneHot ? 'f32' : 'i32')
    k.write(input, oneHot ? ids.flatMap((id) => Array.from({ length: V }, (_, v) => (v === id ? 1 : 0))) : ids)
    const R = randomBuffer(k, N * D, random)
    const loss = async () => dot(k, embedding.forward(k, N, input, oneHot), R)
    const gradient = async () => {
      store.zeroGrads()
      embedding.forward(k, N, input, oneHot)
      embedding.backward(k, R)
    }
    await check(k, paramTargets(store), loss, gradient)
    // Both modes are the same function: the rows of W at the ids.
    const rows = await k.read(embedding.forward(k, N, input, oneHot))
    const W = await k.read(embedding.weight.value)
    ids.forEach((id, r) => assert.deepEqual([...rows.subarray(r * D, r * D + D)], [...W.subarray(id * D, id * D + D)]))
  })
}

for (const activation of ['identity', 'tanh', 'sigmoid', 'relu'] as const) {
  test(`gradient check: Dense with ${activation} (weight, bias, input)`, async () => {
    const k = f64()
    const random = new Random(61)
    const N = 6, X = 4, Y = 3
    const params = new ParamBuilder()
    const dense = new Dense(params, 'dense', X, Y, activation)
    const store = params.build(k, random)
    randomizeParams(k, store, random)
    const x = randomBuffer(k, N * X, random, 2)
    const R = randomBuffer(k, N * Y, random)
    const loss = async () => dot(k, dense.forward(k, N, x), R)
    let dx: BufferHandle | null = null
    const gradient = async () => {
      store.zeroGrads()
      dense.forward(k, N, x)
      dx = dense.backward(k, R)
    }
    if (activation === 'relu') {
      // Central differences straddling the kink would be meaningless: every z = x W^T + b must be
      // farther than ε from 0, and both sides of the kink must occur.
      const [W, bias, xv] = [await k.read(dense.weight.value), await k.read(dense.bias.value), await k.read(x)]
      const z = Array.from({ length: N * Y }, (_, idx) => {
        const r = Math.floor(idx / Y), y = idx % Y
        return bias[y] + Array.from({ length: X }, (_, i) => xv[r * X + i] * W[y * X + i]).reduce((a, b) => a + b, 0)
      })
      assert.ok(Math.min(...z.map(Math.abs)) > 1e-3 && z.some((v) => v < 0) && z.some((v) => v > 0), `pre-activations ${z}`)
    }
    await check(k, [...paramTargets(store), { name: 'x', value: x, grad: () => dx! }], loss, gradient)
  })
}

// ---- losses ----------------------------------------------------------------------------------------------------

const MASKS: [string, number[] | null][] = [
  ['no mask', null],
  ['a 0/1 mask', [1, 0, 1, 1, 0, 1, 1]],
  ['a weighted mask', [0.5, 0, 1, 2, 0, 1, 0.25]],
]

for (const [maskLabel, maskValues] of MASKS) {
  test(`gradient check: SoftmaxCrossEntropy with ${maskLabel} (mean loss w.r.t. logits)`, async () => {
    const k = f64()
    const random = new Random(71)
    const N = 7, V = 5
    const logits = randomBuffer(k, N * V, random, 3)
    const targets = randomIds(k, N, V, random)
    const mask = maskValues === null ? null : k.alloc(N)
    if (mask !== null) k.write(mask, maskValues!)
    const count = maskValues === null ? N : maskValues.reduce((a, b) => a + b, 0)
    const loss = new SoftmaxCrossEntropy()
    const value = async () => {
      loss.compute(k, N, V, logits, targets, mask, count, false)
      return loss.mean(k)
    }
    const gradient = async () => loss.compute(k, N, V, logits, targets, mask, count, true)
    await check(k, [{ name: 'logits', value: logits, grad: () => loss.dLogits }], value, gradient)
    if (maskValues !== null) {
      // Masked rows have no gradient at all, exactly.
      const d = await k.read(loss.dLogits)
      maskValues.forEach((m, r) => {
        if (m === 0) assert.deepEqual([...d.subarray(r * V, r * V + V)], new Array(V).fill(0))
      })
    }
  })

  test(`gradient check: BinaryCrossEntropy with ${maskLabel} (mean loss w.r.t. logits)`, async () => {
    const k = f64()
    const random = new Random(73)
    const n = 7
    const logits = randomBuffer(k, n, random, 4)
    const targets = k.alloc(n)
    k.write(targets, [0, 1, 1, 0.25, 0, 0.5, 1])
    const mask = maskValues === null ? null : k.alloc(n)
    if (mask !== null) k.write(mask, maskValues!)
    const count = maskValues === null ? n : maskValues.reduce((a, b) => a + b, 0)
    const loss = new BinaryCrossEntropy()
    const value = async () => {
      loss.compute(k, n, logits, targets, mask, count, false)
      return loss.mean(k)
    }
    const gradient = async () => loss.compute(k, n, logits, targets, mask, count, true)
    await check(k, [{ name: 'logits', value: logits, grad: () => loss.dLogits }], value, gradient)
  })
}
