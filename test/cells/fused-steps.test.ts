/**
 * The cells' time steps: every cell runs each step through the backend's fused step kernels
 * (`rnnStep`, `lstmStep`, `gruStep` and their backward twins) once, and the time loop around the
 * backward, which leaves each step's da<t-1> = dz<t> W_hh pending for the next step's kernel.
 *
 * The loop adds a pending product itself (one GEMM) wherever it needs da<t-1> whole: before a
 * padded step and after the last one. With a mask of all ones it does so before every step, so every
 * backward step receives a whole da_next and no pending product: the two-kernel order (pointwise
 * backward, then the product as a GEMM of its own). Without a mask every step but the first takes
 * the product in. Both must give the same outputs, final state and gradients (input, initial state,
 * parameters), for every cell and both directions.
 *
 * Tolerance 1e-12 on |a - b| / max(|a|, |b|, 1), float64: the two orders add the same terms, only
 * grouped differently (da_out + (da_next + dz W_hh) against da_out + da_whole).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, type CellOptions } from '../../src/cells/index.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { ParamBuilder } from '../../src/params.js'
import { countCalls } from '../helpers/count-calls.js'
import { maxRelativeError, randomBuffer, Random } from '../helpers/setup.js'

const TOLERANCE = 1e-12

const CELLS: [string, Pick<CellOptions, 'kind' | 'reset' | 'peephole'>][] = [
  ['rnn', { kind: 'rnn' }],
  ['gru reset-after', { kind: 'gru', reset: 'after' }],
  ['gru reset-before', { kind: 'gru', reset: 'before' }],
  ['lstm', { kind: 'lstm' }],
  ['lstm peephole', { kind: 'lstm', peephole: true }],
]

/** Where each backward step kernel takes its pending product, dzNext (rnn) / dhwNext (gru). */
const PENDING_ARGUMENT = { rnn: 5, lstm: 8, gru: 9 } as const

interface Run {
  ys: Float64Array
  final: Float64Array[]
  dxs: Float64Array
  dInit: Float64Array[]
  grads: Float64Array
  calls: Map<string, number>
  /** Backward steps that received a pending product. */
  pendingSteps: number
}

const read = async (k: Kernels, buf: BufferHandle): Promise<Float64Array> => Float64Array.from(await k.read(buf))

/** Counts the backward step calls of `kind` on `k` that are given a pending product. */
function countPending(k: Kernels, kind: CellOptions['kind']): () => number {
  const name = `${kind}BackwardStep`
  const methods = k as unknown as Record<string, (...args: unknown[]) => unknown>
  const original = methods[name]
  let count = 0
  methods[name] = (...args: unknown[]) => {
    if (args[PENDING_ARGUMENT[kind]] !== null) count++
    return original.apply(k, args)
  }
  return () => count
}

/** One forward and backward of a cell over T steps, everything drawn from seed 23; `ones`: a mask of all ones. */
async function run(options: Pick<CellOptions, 'kind' | 'reset' | 'peephole'>, reverse: boolean, ones: boolean): Promise<Run> {
  const k = new ReferenceKernels('f64')
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
  if (ones) {
    mask = k.alloc(T * B)
    k.fill(T * B, mask, 1)
  }
  const kind = options.kind
  const calls = countCalls(k, [`${kind}Step`, `${kind}BackwardStep`, `${kind}Forward`, `${kind}Backward`])
  const pendingSteps = countPending(k, kind)
  const ws = cell.workspace(k, T, B)
  store.zeroGrads()
  const forward = cell.forward(k, ws, xs, init, mask)
  const ys = await read(k, forward.ys)
  const final = [await read(k, forward.final.h), ...(forward.final.c === null ? [] : [await read(k, forward.final.c)])]
  const back = cell.backward(k, ws, dys, dFinal)
  const dInit = [await read(k, back.dInit.h), ...(back.dInit.c === null ? [] : [await read(k, back.dInit.c)])]
  return { ys, final, dxs: await read(k, back.dxs!), dInit, grads: await read(k, store.grads), calls, pendingSteps: pendingSteps() }
}

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`)
  const err = maxRelativeError(got, want, 1)
  assert.ok(err <= TOLERANCE, `${what}: error ${err} > ${TOLERANCE}`)
}

for (const [label, options] of CELLS) {
  for (const reverse of [false, true]) {
    test(`${label}${reverse ? ' (reverse)' : ''}: one fused step kernel per step; a pending product gives what a whole da gives`, async () => {
      const T = 5
      const kind = options.kind
      const pending = await run(options, reverse, false)
      const whole = await run(options, reverse, true)
      for (const r of [pending, whole]) {
        // The step kernels once per step; the pointwise kernels only inside them (once per step too).
        assert.equal(r.calls.get(`${kind}Step`), T)
        assert.equal(r.calls.get(`${kind}BackwardStep`), T)
        assert.equal(r.calls.get(`${kind}Forward`), T)
        assert.equal(r.calls.get(`${kind}Backward`), T)
      }
      // Without a mask every step but the first takes the product of the step after it; with one,
      // the loop has added each product before the step.
      assert.equal(pending.pendingSteps, T - 1)
      assert.equal(whole.pendingSteps, 0)
      close('outputs', pending.ys, whole.ys)
      pending.final.forEach((s, i) => close(`final state ${i}`, s, whole.final[i]))
      close('input gradients', pending.dxs, whole.dxs)
      pending.dInit.forEach((s, i) => close(`initial-state gradient ${i}`, s, whole.dInit[i]))
      close('parameter gradients', pending.grads, whole.grads)
      assert.ok(whole.grads.some((g) => Math.abs(g) > 1e-3), 'the comparison is not vacuous')
    })
  }
}
