/**
 * The cells' choice between the two-kernel step and the optional fused step kernels, and the time
 * loop around the fused backward (which leaves each step's da<t-1> = dz<t> W_hh to the next step).
 *
 * A backend without the fused kernels (the reference one) runs the two-kernel path: the fused
 * methods are absent and the pointwise kernels run once per step. `FusedReference` (the reference
 * backend plus the fused kernels written as their compositions, test/helpers/fused-steps.ts) runs
 * the fused path: its fused methods run once per step and the pointwise kernels only inside them.
 * Both give the same outputs, final state and gradients (input, initial state, parameters), for
 * every cell, both directions, with a padding mask (the loop adds the pending product itself before
 * a held step) and without.
 *
 * Tolerance 1e-12 on |a - b| / max(|a|, |b|, 1), float64: the two paths add the same terms, only
 * in another order (da_out + (da_next + dz W_hh) against da_out + (dz W_hh + held part)).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, type CellOptions } from '../../src/cells/index.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { ParamBuilder } from '../../src/params.js'
import { countCalls, FusedReference } from '../helpers/fused-steps.js'
import { maxRelativeError, randomBuffer, Random } from '../helpers/setup.js'

const TOLERANCE = 1e-12

const CELLS: [string, Pick<CellOptions, 'kind' | 'reset' | 'peephole'>][] = [
  ['rnn', { kind: 'rnn' }],
  ['gru reset-after', { kind: 'gru', reset: 'after' }],
  ['gru reset-before', { kind: 'gru', reset: 'before' }],
  ['lstm', { kind: 'lstm' }],
  ['lstm peephole', { kind: 'lstm', peephole: true }],
]

interface Run {
  ys: Float64Array
  final: Float64Array[]
  dxs: Float64Array
  dInit: Float64Array[]
  grads: Float64Array
  calls: Map<string, number>
}

const read = async (k: Kernels, buf: BufferHandle): Promise<Float64Array> => Float64Array.from(await k.read(buf))

/** One forward and backward of a cell over T steps on `k`, everything drawn from seed 23. */
async function run(k: Kernels, options: Pick<CellOptions, 'kind' | 'reset' | 'peephole'>, reverse: boolean, masked: boolean): Promise<Run> {
  const random = new Random(23)
  const T = 5, B = 3, X = 4, H = 6
  const params = new ParamBuilder()
  const cell = createCell(params, 'cell', { ...options, inputSize: X, hiddenSize: H, reverse })
  const store = params.build(k, random)
  k.write(store.values, Array.from({ length: store.size }, () => random.range(-0.6, 0.6)))
  const xs = randomBuffer(k, T * B * X, random)
  const init = { h: randomBuffer(k, B * H, random), c: cell.hasCellState ? randomBuffer(k, B * H, random) : null }
  const dys = randomBuffer(k, T * B * H, random)
  const dFinal = { h: randomBuffer(k, B * H, random), c: cell.hasCellState ? randomBuffer(k, B * H, random) : null }
  let mask: BufferHandle | null = null
  if (masked) {
    // Sequence 1 held at the first and last steps, sequence 2 at step 2.
    mask = k.alloc(T * B)
    k.write(mask, Array.from({ length: T * B }, (_, i) => {
      const t = Math.floor(i / B), b = i % B
      return (b === 1 && (t === 0 || t === T - 1)) || (b === 2 && t === 2) ? 0 : 1
    }))
  }
  const kind = options.kind
  const calls = countCalls(k, [`${kind}Step`, `${kind}BackwardStep`, `${kind}Forward`, `${kind}Backward`])
  const ws = cell.workspace(k, T, B)
  store.zeroGrads()
  const forward = cell.forward(k, ws, xs, init, mask)
  const ys = await read(k, forward.ys)
  const final = [await read(k, forward.final.h), ...(forward.final.c === null ? [] : [await read(k, forward.final.c)])]
  const back = cell.backward(k, ws, dys, dFinal)
  const dInit = [await read(k, back.dInit.h), ...(back.dInit.c === null ? [] : [await read(k, back.dInit.c)])]
  return { ys, final, dxs: await read(k, back.dxs!), dInit, grads: await read(k, store.grads), calls }
}

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`)
  const err = maxRelativeError(got, want, 1)
  assert.ok(err <= TOLERANCE, `${what}: error ${err} > ${TOLERANCE}`)
}

test('the reference backend has no fused step kernels (it is the two-kernel spec)', () => {
  const k: Kernels = new ReferenceKernels('f64')
  for (const name of ['rnnStep', 'rnnBackwardStep', 'lstmStep', 'lstmBackwardStep', 'gruStep', 'gruBackwardStep'] as const) {
    assert.equal(k[name], undefined, name)
  }
})

for (const [label, options] of CELLS) {
  for (const reverse of [false, true]) {
    for (const masked of [false, true]) {
      test(`${label}${reverse ? ' (reverse)' : ''}${masked ? ', with a padding mask' : ''}: the fused path where the backend has it, the same results`, async () => {
        const T = 5
        const kind = options.kind
        const plain = await run(new ReferenceKernels('f64'), options, reverse, masked)
        const fused = await run(new FusedReference('f64'), options, reverse, masked)
        // The choice: the plain backend runs the pointwise kernels once per step; the fused one its
        // fused kernels once per step, and the pointwise kernels only inside them (once per step too).
        assert.equal(plain.calls.get(`${kind}Step`), 0)
        assert.equal(plain.calls.get(`${kind}Forward`), T)
        assert.equal(plain.calls.get(`${kind}Backward`), T)
        assert.equal(fused.calls.get(`${kind}Step`), T)
        assert.equal(fused.calls.get(`${kind}BackwardStep`), T)
        close('outputs', fused.ys, plain.ys)
        fused.final.forEach((s, i) => close(`final state ${i}`, s, plain.final[i]))
        close('input gradients', fused.dxs, plain.dxs)
        fused.dInit.forEach((s, i) => close(`initial-state gradient ${i}`, s, plain.dInit[i]))
        close('parameter gradients', fused.grads, plain.grads)
        assert.ok(plain.grads.some((g) => Math.abs(g) > 1e-3), 'the comparison is not vacuous')
      })
    }
  }
}
