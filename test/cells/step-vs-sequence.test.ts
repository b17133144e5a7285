/**
 * "T single steps equal one call over T steps", forward and backward, carried state included, in
 * float64, for every cell (both directions, dense and lookup input), a bidirectional layer (per
 * direction, through its two cells) and stacks of unidirectional layers. Single cells are also
 * run with a padding mask (held steps anywhere, the first and last included): the mask row of step
 * t goes with step t.
 *
 * Forward: T calls on workspaces of T = 1, each starting from the previous call's final state, give
 * the outputs and the final state of one call over T. A reverse cell's single steps run from
 * t = T-1 down to 0. Backward: the single steps' backwards run in the opposite order, each taking
 * the initial-state gradient of the step after it as its final-state gradient; they give the same
 * parameter gradients (accumulated over the steps), input gradients and initial-state gradients.
 *
 * Tolerance 1e-12 on |a - b| / max(|a|, |b|, 1): both sides do the same arithmetic except the order
 * of the sums over time (one GEMM over all T*B rows against T GEMMs of B rows), which moves O(1)
 * results by a few ulps of float64 (~1e-15). Absolute below 1, because a sum of O(1) terms that
 * cancels to nearly zero keeps the absolute rounding error of its terms.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, Workspace, type RecurrentCell, type State } from '../../src/cells/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { RecurrentLayer, StackedRecurrent, type Merge } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { f64, maxRelativeError, randomBuffer, randomIds, Random } from '../helpers/setup.js'
import { CELL_VARIANTS, randomizeParams } from '../helpers/cell-variants.js'

const TOLERANCE = 1e-12

const read = async (k: Kernels, buf: BufferHandle): Promise<Float64Array> => Float64Array.from(await k.read(buf))

/** A new buffer holding buf's values (so later calls cannot change them through a workspace view). */
function clone(k: Kernels, buf: BufferHandle): BufferHandle {
  const out = k.alloc(buf.length)
  k.copy(1, buf.length, buf, 0, out, 0)
  return out
}

const cloneState = (k: Kernels, s: State): State => ({ h: clone(k, s.h), c: s.c === null ? null : clone(k, s.c) })

function randomStates(k: Kernels, count: number, B: number, H: number, withC: boolean, random: Random): State[] {
  return Array.from({ length: count }, () => ({ h: randomBuffer(k, B * H, random), c: withC ? randomBuffer(k, B * H, random) : null }))
}

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  const err = maxRelativeError(got, want, 1)
  assert.ok(err <= TOLERANCE, `${what}: error ${err} > ${TOLERANCE}`)
}

async function closeStates(k: Kernels, what: string, got: readonly State[], want: readonly State[]): Promise<void> {
  assert.equal(got.length, want.length, `${what}: number of states`)
  for (const [i, s] of want.entries()) {
    close(`${what}[${i}].h`, await read(k, got[i].h), await read(k, s.h))
    assert.equal(got[i].c === null, s.c === null, `${what}[${i}].c presence`)
    if (s.c !== null) close(`${what}[${i}].c`, await read(k, got[i].c!), await read(k, s.c))
  }
}

/** Concatenates per-step (B,W) arrays, indexed by time, into (T,B,W). */
function byTime(steps: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(steps.reduce((n, s) => n + s.length, 0))
  let at = 0
  for (const s of steps) {
    out.set(s, at)
    at += s.length
  }
  return out
}

interface StepRun {
  /** Outputs (B,H) per time index t. */
  ys: Float64Array[]
  final: State
  /** Input gradients (B,X) per time index, or null (lookup input). */
  dxs: (Float64Array | null)[]
  dInit: State
}

/**
 * One cell, one step at a time, each step on its own workspace of T = 1. `xs` holds (T,B,X) floats
 * or (T,B) ids; `dys` (T,B,H). Parameter gradients accumulate into the cell's store.
 */
async function cellSteps(
  k: Kernels, cell: RecurrentCell, T: number, B: number, xs: BufferHandle, init: State, dys: BufferHandle, dFinal: State,
  mask: BufferHandle | null = null,
): Promise<StepRun> {
  const H = cell.H, width = cell.input === 'lookup' ? 1 : cell.X
  const order = Array.from({ length: T }, (_, s) => (cell.reverse ? T - 1 - s : s))
  const workspaces = new Map<number, Workspace>()
  const ys: Float64Array[] = []
  let state = init
  for (const t of order) {
    const ws = new Workspace(k, cell, 1, B, true)
    workspaces.set(t, ws)
    const step = cell.forward(k, ws, k.view(xs, t * B * width, B * width), state, mask === null ? null : k.view(mask, t * B, B))
    ys[t] = await read(k, step.ys)
    state = step.final // a view of this step's workspace, which no later step touches
  }
  const final = cloneState(k, state)
  const dxs: (Float64Array | null)[] = []
  let dState = dFinal
  for (const t of [...order].reverse()) {
    const r = cell.backward(k, workspaces.get(t)!, k.view(dys, t * B * H, B * H), dState)
    dxs[t] = r.dxs === null ? null : await read(k, r.dxs)
    dState = r.dInit
  }
  return { ys, final, dxs, dInit: dState }
}

// ---- single cells ------------------------------------------------------------------------------------------

for (const [label, options] of CELL_VARIANTS) {
  for (const reverse of [false, true]) {
    for (const [input, masked] of [['dense', false], ['lookup', false], ['dense', true]] as const) {
      const variant = `${input === 'lookup' ? ', token-id input' : ''}${masked ? ', with a padding mask' : ''}`
      test(`T single steps = one call over T: ${label}${reverse ? ' (reverse)' : ''}${variant}`, async () => {
        const k = f64()
        const random = new Random(17)
        const T = 5, B = 3, X = 4, H = 5
        const params = new ParamBuilder()
        const cell = createCell(params, 'cell', { ...options, inputSize: X, hiddenSize: H, reverse, input })
        const store = params.build(k, random)
        randomizeParams(k, store, random)
        const xs = input === 'lookup' ? randomIds(k, T * B, X, random) : randomBuffer(k, T * B * X, random)
        const [init] = randomStates(k, 1, B, H, cell.hasCellState, random)
        const dys = randomBuffer(k, T * B * H, random)
        const [dFinal] = randomStates(k, 1, B, H, cell.hasCellState, random)
        // (T,B): sequence 0 all real, 1 held at the first and last steps, 2 with random holes.
        const mask = masked ? k.alloc(T * B) : null
        if (mask !== null) {
          k.write(mask, Array.from({ length: T * B }, (_, i) => {
            const t = Math.floor(i / B), b = i % B
            return b === 0 ? 1 : b === 1 ? (t === 0 || t === T - 1 ? 0 : 1) : random.uniform() < 0.5 ? 0 : 1
          }))
        }

        // One call over T.
        const ws = cell.workspace(k, T, B)
        store.zeroGrads()
        const whole = cell.forward(k, ws, xs, init, mask)
        const ys = await read(k, whole.ys)
        const final = cloneState(k, whole.final)
        const back = cell.backward(k, ws, dys, dFinal)
        const grads = await read(k, store.grads)
        const dxs = back.dxs === null ? null : await read(k, back.dxs)
        const dInit = cloneState(k, back.dInit)

        // T single steps.
        store.zeroGrads()
        const steps = await cellSteps(k, cell, T, B, xs, init, dys, dFinal, mask)

        close('outputs', byTime(steps.ys), ys)
        await closeStates(k, 'final state', [steps.final], [final])
        close('parameter gradients', await read(k, store.grads), grads)
        if (input === 'lookup') {
          assert.equal(dxs, null)
          assert.ok(steps.dxs.every((d) => d === null))
        } else {
          close('input gradients', byTime(steps.dxs as Float64Array[]), dxs!)
        }
        await closeStates(k, 'initial-state gradient', [steps.dInit], [dInit])
        // The comparison must not be vacuous.
        assert.ok(grads.some((g) => Math.abs(g) > 1e-3) && ys.some((y) => Math.abs(y) > 1e-3))
      })
    }
  }
}

// ---- a bidirectional layer, per direction -----------------------------------------------------------------

for (const [label, options] of CELL_VARIANTS) {
  for (const merge of ['concat', 'sum'] as const satisfies readonly Merge[]) {
    test(`T single steps per direction = one bidirectional call: ${label}, merge ${merge}`, async () => {
      const k = f64()
      const random = new Random(19)
      const T = 4, B = 2, X = 3, H = 5
      const params = new ParamBuilder()
      const layer = new RecurrentLayer(params, 'bi', { ...options, inputSize: X, hiddenSize: H, bidirectional: true, merge })
      const store = params.build(k, random)
      randomizeParams(k, store, random)
      const withC = layer.cells[0].hasCellState
      const W = layer.outputSize
      const xs = randomBuffer(k, T * B * X, random)
      const init = randomStates(k, 2, B, H, withC, random)
      const dys = randomBuffer(k, T * B * W, random)
      const dFinals = randomStates(k, 2, B, H, withC, random)

      store.zeroGrads()
      const whole = layer.forward(k, T, B, xs, init)
      const ys = await read(k, whole.ys)
      const finals = whole.finals.map((s) => cloneState(k, s))
      const back = layer.backward(k, dys, dFinals)
      const grads = await read(k, store.grads)
      const dxs = await read(k, back.dxs!)
      const dInits = back.dInits.map((s) => cloneState(k, s))

      // Each direction's share of the output gradient: its column block (concat) or all of it (sum).
      const dysHost = await read(k, dys)
      const perDirection = [0, 1].map((d) => {
        if (merge === 'sum') return dys
        const buf = k.alloc(T * B * H)
        k.write(buf, Array.from({ length: T * B * H }, (_, i) => dysHost[Math.floor(i / H) * W + d * H + (i % H)]))
        return buf
      })
      store.zeroGrads()
      const runs: StepRun[] = []
      for (const [d, cell] of layer.cells.entries()) runs.push(await cellSteps(k, cell, T, B, xs, init[d], perDirection[d], dFinals[d]))

      const merged = new Float64Array(T * B * W)
      for (let row = 0; row < T * B; row++) {
        const t = Math.floor(row / B), b = row % B
        for (let j = 0; j < H; j++) {
          const [fwd, bwd] = [runs[0].ys[t][b * H + j], runs[1].ys[t][b * H + j]]
          if (merge === 'concat') {
            merged[row * W + j] = fwd
            merged[row * W + H + j] = bwd
          } else {
            merged[row * W + j] = fwd + bwd
          }
        }
      }
      close('merged outputs', merged, ys)
      await closeStates(k, 'final states', runs.map((r) => r.final), finals)
      close('parameter gradients (both directions)', await read(k, store.grads), grads)
      const dxsSum = byTime(runs[0].dxs as Float64Array[]).map((v, i) => v + byTime(runs[1].dxs as Float64Array[])[i])
      close('input gradients (sum of the directions)', dxsSum, dxs)
      await closeStates(k, 'initial-state gradients', runs.map((r) => r.dInit), dInits)
    })
  }
}

// ---- stacks of unidirectional layers ----------------------------------------------------------------------

for (const [label, options] of CELL_VARIANTS) {
  for (const layers of [2, 3]) {
    test(`T single steps = one call over T: stacked ${label}, ${layers} layers`, async () => {
      const k = f64()
      const random = new Random(23)
      const T = 4, B = 2, X = 3, H = 4
      const params = new ParamBuilder()
      const model = new StackedRecurrent(params, 'stack', { ...options, inputSize: X, hiddenSize: H, layers })
      const store = params.build(k, random)
      randomizeParams(k, store, random)
      const xs = randomBuffer(k, T * B * X, random)
      const init = randomStates(k, model.stateCount, B, H, model.hasCellState, random)
      const dys = randomBuffer(k, T * B * H, random)
      const dFinals = randomStates(k, model.stateCount, B, H, model.hasCellState, random)

      store.zeroGrads()
      const whole = model.forward(k, T, B, xs, init)
      const ys = await read(k, whole.ys)
      const finals = whole.finals.map((s) => cloneState(k, s))
      const back = model.backward(k, dys, dFinals)
      const grads = await read(k, store.grads)
      const dxs = await read(k, back.dxs!)
      const dInits = back.dInits.map((s) => cloneState(k, s))

      // Single steps through the public API. The stack keeps one workspace per (T,B), so each step's
      // backward re-runs that step's forward from the states saved on the way (same function, same
      // values) before backpropagating through it.
      store.zeroGrads()
      const x = (t: number) => k.view(xs, t * B * X, B * X)
      const entering: State[][] = []
      const stepYs: Float64Array[] = []
      let states = init.map((s) => cloneState(k, s))
      for (let t = 0; t < T; t++) {
        entering[t] = states
        const step = model.forward(k, 1, B, x(t), states)
        stepYs[t] = await read(k, step.ys)
        states = step.finals.map((s) => cloneState(k, s))
      }
      const stepDxs: Float64Array[] = []
      let dStates: State[] = dFinals
      for (let t = T - 1; t >= 0; t--) {
        model.forward(k, 1, B, x(t), entering[t])
        const r = model.backward(k, k.view(dys, t * B * H, B * H), dStates)
        stepDxs[t] = await read(k, r.dxs!)
        dStates = r.dInits.map((s) => cloneState(k, s))
      }

      close('outputs', byTime(stepYs), ys)
      await closeStates(k, 'final states', states, finals)
      close('parameter gradients', await read(k, store.grads), grads)
      close('input gradients', byTime(stepDxs), dxs)
      await closeStates(k, 'initial-state gradients', dStates, dInits)
    })
  }
}
