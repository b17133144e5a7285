/**
 * Golden values from real PyTorch 1.13 (float64; fixtures and the script that made them are in
 * this folder, README.md describes them): recur loads PyTorch's weights (test/helpers/pytorch.ts
 * holds the name and gate-layout mapping), runs forward from the same initial states, backpropagates
 * the same output gradients, and must reproduce every output, final state and gradient.
 *
 *   recurrent fixtures: loss = Σ out * R_out + Σ h_n * R_h (+ Σ c_n * R_c), so dys = R_out and
 *                       dFinals = (R_h, R_c); gradients of x, h0, c0 and every weight.
 *   lm-lstm.json:       Embedding -> 2-layer LSTM -> Dense -> mean softmax cross-entropy.
 *
 * Error measure: max over elements of |recur - torch| / max(1, |torch|), i.e. the absolute error
 * for values up to 1 in size and the relative error above (the fixtures' values are O(1) to O(10)).
 * Tolerances: f32 1e-5 (float32 storage and arithmetic over T = 5 steps lose ~1e-6; 1e-5 leaves a
 * 10x margin while any convention error, such as a gate order or sign, shows up at 1e-2 or more),
 * f64 1e-12 (the oracle backend agrees with PyTorch's float64 to ~4e-15).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { State } from '../../src/cells/recurrent.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { Dense } from '../../src/layers/dense.js'
import { Embedding } from '../../src/layers/embedding.js'
import { StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder, type ParamStore } from '../../src/params.js'
import { Random } from '../../src/random.js'
import { SoftmaxCrossEntropy } from '../../src/train/losses.js'
import {
  fromPyTorch, goldenStateDict, readGolden, tensorData, toPyTorch, type GoldenFixture, type RecurrentModule,
} from '../helpers/pytorch.js'
import { maxRelativeError } from '../helpers/setup.js'

const precisions = [
  { precision: 'f32', tolerance: 1e-5, label: '1e-5' },
  { precision: 'f64', tolerance: 1e-12, label: '1e-12' },
] as const

/** Collects the comparisons of one case, so that a failure lists every tensor that is off. */
class Comparison {
  private readonly failures: string[] = []
  constructor(private readonly tolerance: number) {}

  check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
    if (actual.length !== expected.length) {
      this.failures.push(`${name}: ${actual.length} values, PyTorch has ${expected.length}`)
      return
    }
    const error = maxRelativeError(actual, expected, 1)
    if (!(error <= this.tolerance)) this.failures.push(`${name}: error ${error.toExponential(2)} > ${this.tolerance}`)
  }

  assertAll(): void {
    assert.deepEqual(this.failures, [], this.failures.join('; '))
  }
}

function upload(k: Kernels, data: ArrayLike<number>): BufferHandle {
  const buf = k.alloc(data.length)
  k.write(buf, data)
  return buf
}

/** (L*D, B, H) -> one (B,H) state buffer per layer and direction. */
function states(k: Kernels, data: readonly number[], count: number): BufferHandle[] {
  const size = data.length / count
  return Array.from({ length: count }, (_, i) => upload(k, data.slice(i * size, (i + 1) * size)))
}

/** Concatenates read-backs of several buffers (states back to (L*D, B, H)). */
async function readAll(k: Kernels, bufs: readonly BufferHandle[]): Promise<number[]> {
  const parts = await Promise.all(bufs.map((b) => k.read(b)))
  return parts.flatMap((p) => [...p])
}

/** Loads the fixture's weights (converted), checking that they cover every recur parameter. */
function loadWeights(store: ParamStore, fixture: GoldenFixture, modules: readonly RecurrentModule[]): void {
  const values = fromPyTorch(goldenStateDict(fixture), modules)
  assert.deepEqual([...values.keys()].sort(), store.params.map((p) => p.name).sort(), 'PyTorch and recur parameter names')
  store.writeValues(values)
}

/** Compares every parameter gradient, converted back to PyTorch's names and layout. */
async function checkParameterGradients(
  k: Kernels, store: ParamStore, fixture: GoldenFixture, modules: readonly RecurrentModule[], comparison: Comparison,
): Promise<void> {
  const grads = new Map(await Promise.all(store.params.map(async (p) => [p.name, await k.read(p.grad)] as const)))
  for (const [torchName, grad] of toPyTorch(grads, modules)) {
    comparison.check(`grad.${torchName}`, grad, tensorData(fixture, `grad.${torchName}`))
  }
}

for (const cell of ['rnn', 'gru', 'lstm'] as const) {
  for (const layers of [1, 2]) {
    for (const bidirectional of [false, true]) {
      const file = `${cell}-l${layers}-${bidirectional ? 'bi' : 'uni'}.json`
      for (const { precision, tolerance, label } of precisions) {
        test(`golden ${file} (${precision}): out, h_n, c_n and all gradients match PyTorch within ${label}`, async () => {
          const fixture = readGolden(file)
          const { T, B, H } = fixture
          assert.equal(fixture.cell, cell)
          assert.equal(fixture.layers, layers)
          assert.equal(fixture.bidirectional, bidirectional)
          const k = new ReferenceKernels(precision)
          const modules: RecurrentModule[] = [{ kind: cell, torchPrefix: '', recurName: 'rnn' }]
          const params = new ParamBuilder()
          const stack = new StackedRecurrent(params, 'rnn', {
            kind: cell, inputSize: fixture.X!, hiddenSize: H, layers, bidirectional, reset: 'after',
          })
          const store = params.build(k, new Random(1))
          loadWeights(store, fixture, modules)

          const S = stack.stateCount
          const lstm = cell === 'lstm'
          const h0 = states(k, tensorData(fixture, 'h0'), S)
          const c0 = lstm ? states(k, tensorData(fixture, 'c0'), S) : null
          const init: State[] = h0.map((h, i) => ({ h, c: c0 === null ? null : c0[i] }))
          const xs = upload(k, tensorData(fixture, 'x'))
          const comparison = new Comparison(tolerance)

          const { ys, finals } = stack.forward(k, T, B, xs, init)
          comparison.check('out', await k.read(ys), tensorData(fixture, 'out'))
          comparison.check('h_n', await readAll(k, finals.map((f) => f.h)), tensorData(fixture, 'h_n'))
          if (lstm) comparison.check('c_n', await readAll(k, finals.map((f) => f.c!)), tensorData(fixture, 'c_n'))

          const Rh = states(k, tensorData(fixture, 'R_h'), S)
          const Rc = lstm ? states(k, tensorData(fixture, 'R_c'), S) : null
          const dFinals: State[] = Rh.map((h, i) => ({ h, c: Rc === null ? null : Rc[i] }))
          store.zeroGrads()
          const { dxs, dInits } = stack.backward(k, upload(k, tensorData(fixture, 'R_out')), dFinals)
          assert.ok(dxs !== null, 'a dense input has an input gradient')
          comparison.check('grad.x', await k.read(dxs), tensorData(fixture, 'grad.x'))
          comparison.check('grad.h0', await readAll(k, dInits.map((d) => d.h)), tensorData(fixture, 'grad.h0'))
          if (lstm) comparison.check('grad.c0', await readAll(k, dInits.map((d) => d.c!)), tensorData(fixture, 'grad.c0'))
          await checkParameterGradients(k, store, fixture, modules, comparison)
          comparison.assertAll()
        })
      }
    }
  }
}

for (const { precision, tolerance, label } of precisions) {
  test(`golden lm-lstm.json (${precision}): Embedding -> LSTM x2 -> Dense -> cross-entropy: logits, loss and all gradients within ${label}`, async () => {
    const fixture = readGolden('lm-lstm.json')
    const { T, B, H } = fixture
    const V = fixture.V!, E = fixture.E!, N = T * B
    const k = new ReferenceKernels(precision)
    const modules: RecurrentModule[] = [{ kind: 'lstm', torchPrefix: 'lstm.', recurName: 'lstm' }]
    const params = new ParamBuilder()
    const embedding = new Embedding(params, 'embedding', V, E)
    // forgetBias 1 is recur's default init; the loaded biases must replace it.
    const stack = new StackedRecurrent(params, 'lstm', { kind: 'lstm', inputSize: E, hiddenSize: H, layers: fixture.layers })
    const linear = new Dense(params, 'linear', H, V)
    const store = params.build(k, new Random(1))
    loadWeights(store, fixture, modules)

    const ids = k.alloc(N, 'i32')
    k.write(ids, tensorData(fixture, 'inputs'))
    const targets = k.alloc(N, 'i32')
    k.write(targets, tensorData(fixture, 'targets'))
    const loss = new SoftmaxCrossEntropy()
    const comparison = new Comparison(tolerance)

    store.zeroGrads()
    const embedded = embedding.forward(k, N, ids)
    const { ys, finals } = stack.forward(k, T, B, embedded, null)
    const logits = linear.forward(k, N, ys)
    loss.compute(k, N, V, logits, targets)
    comparison.check('lstm_out', await k.read(ys), tensorData(fixture, 'lstm_out'))
    comparison.check('h_n', await readAll(k, finals.map((f) => f.h)), tensorData(fixture, 'h_n'))
    comparison.check('c_n', await readAll(k, finals.map((f) => f.c!)), tensorData(fixture, 'c_n'))
    comparison.check('logits', await k.read(logits), tensorData(fixture, 'logits'))
    comparison.check('loss', [await loss.mean(k)], [fixture.loss])

    const dys = linear.backward(k, loss.dLogits)
    const { dxs } = stack.backward(k, dys, null)
    assert.ok(dxs !== null, 'the embedded input has a gradient')
    embedding.backward(k, dxs)
    await checkParameterGradients(k, store, fixture, modules, comparison)
    comparison.assertAll()
  })
}
