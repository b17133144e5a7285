/**
 * What every recurrent cell shares: its parameters, its workspace, the time loop, and the
 * performance shape that the whole project relies on:
 *
 *   forward:  XW = xs W_ih^T + b          one GEMM over all T*B rows, before the loop
 *             for each step: one fused step kernel (`lstmStep`, ...: the recurrent GEMM on a<t-1>
 *             and the cell's pointwise math; see src/kernels/types.ts)
 *   backward: for each step (reversed): one fused backward step kernel
 *             dW_ih += DZ^T xs, dW_hh += DZ^T A<t-1>, dxs = DZ W_ih   one GEMM each, after the loop
 *
 * Backward, a fused step cannot also finish da<t-1> = dz<t> W_hh (every hidden unit of a<t-1>
 * needs dz<t> of all units), so it leaves that product pending and the next step's kernel adds it
 * to its incoming gradient; the loop adds it itself where it needs da<t-1> whole (before a padded
 * step, and after the last step: the gradient of the initial state).
 *
 * Shapes: xs (T,B,X); W_ih (G*H, X) [or (V, G*H) for a lookup input]; W_hh (G*H, H);
 * b_ih, b_hh (G*H); states and outputs (B,H) per step, (T,B,H) per sequence.
 * A reverse cell reads the sequence from t = T-1 down to 0; its outputs stay in time order.
 */
import { RecurError, expectInt, expectOneOf } from '../errors.js'
import type { BufferHandle, GruReset, Kernels } from '../kernels/types.js'
import { INIT_SCHEMES, type Init, type InitScheme, type Param, type ParamBuilder } from '../params.js'

export type CellKind = 'rnn' | 'gru' | 'lstm'

/** Options of one recurrent cell (one direction of one layer). */
export interface CellOptions {
  kind: CellKind
  /** X: input width (or vocabulary size V for a lookup input). */
  inputSize: number
  /** H: hidden width. */
  hiddenSize: number
  /** GRU only: where the reset gate applies. Default 'after' (PyTorch / cuDNN / Keras). */
  reset?: GruReset
  /** LSTM only: gates also see the cell state. Default false. */
  peephole?: boolean
  /** How the parameters start (see `InitScheme` in src/params.ts). Default 'glorot'. */
  init?: InitScheme
  /**
   * LSTM only: the forget-gate block of bias_ih starts at this value (plus the scheme's noise).
   * Default 1 under the 'glorot' scheme, 0 under 'pytorch'.
   */
  forgetBias?: number
  /** Read the sequence backwards (the second direction of a bidirectional layer). Default false. */
  reverse?: boolean
  /**
   * 'dense' (default): xs are float vectors (T,B,X). 'lookup': xs are token ids (T,B) and
   * W_ih is stored as a (V, G*H) table, so x W_ih^T for a one-hot x is a row lookup.
   */
  input?: 'dense' | 'lookup'
}

/**
 * The starting values of a cell's parameters under a scheme (see `InitScheme`). An LSTM's forget-gate
 * bias (block 1 of bias_ih, default 1 under 'glorot', 0 under 'pytorch') makes c<t> remember early
 * in training; peepholes start at zero under both schemes.
 */
export function cellInits(scheme: InitScheme, kind: CellKind, X: number, H: number, G: number, forgetBias?: number): { wIh: Init; wHh: Init; bIh: Init; bHh: Init } {
  const lstmForget = kind === 'lstm' ? forgetBias ?? (scheme === 'glorot' ? 1 : 0) : 0
  const forgetBlocks = [0, lstmForget, 0, 0]
  if (scheme === 'pytorch') {
    // nn.RNN / nn.GRU / nn.LSTM: every weight and bias U(-1/√H, 1/√H).
    const limit = 1 / Math.sqrt(H)
    const uniform: Init = { kind: 'uniform', limit }
    return { wIh: uniform, wHh: uniform, bIh: lstmForget === 0 ? uniform : { kind: 'blocks', values: forgetBlocks, spread: limit }, bHh: uniform }
  }
  return {
    wIh: { kind: 'glorot', fanIn: X, fanOut: G * H },
    wHh: { kind: 'orthogonal' },
    bIh: lstmForget === 0 ? { kind: 'zeros' } : { kind: 'blocks', values: forgetBlocks },
    bHh: { kind: 'zeros' },
  }
}

/** Recurrent state of a batch: a<t> (B,H) and, for an LSTM, c<t> (B,H). */
export interface State {
  h: BufferHandle
  c: BufferHandle | null
}

/** The buffers of one (T,B) shape, allocated once and reused; per-step views made up front. */
export class Workspace {
  readonly T: number
  readonly B: number
  /** XW (T,B,G*H): input projections (the step kernels read them and leave them as they are). */
  readonly xw: BufferHandle
  /** HW (T,B,G*H): GRU's recurrent projections (kept apart because Γr multiplies part of them). */
  readonly hw: BufferHandle | null
  /** Activated gates (T,B,G*H). */
  readonly gates: BufferHandle
  /** Hidden states (T+1,B,H) in slots: see `prevSlot` / `outSlot`. */
  readonly hs: BufferHandle
  /** LSTM cell states (T+1,B,H), same slots. */
  readonly cs: BufferHandle | null
  /** GRU reset-before: Γr * c<t-1> (T,B,H). */
  readonly rc: BufferHandle | null
  /** Gradients of XW (T,B,G*H) and, for GRU, of HW. */
  readonly dxw: BufferHandle
  readonly dhw: BufferHandle | null
  /** Gradient of the input sequence (T,B,X), written by backward when asked for. */
  readonly dxs: BufferHandle | null
  /**
   * Ping-pong carries for da and dc (B,H), each pair two views of one buffer (so that a fused
   * backward step binds one GPU buffer for both), and a (B,H) zero buffer.
   */
  readonly dh: [BufferHandle, BufferHandle]
  readonly dc: [BufferHandle, BufferHandle]
  readonly zeros: BufferHandle
  /** Padding: the output gradient with held rows removed, and the gradients that skip held steps. */
  readonly maskedOut: BufferHandle
  readonly dHeld: BufferHandle
  readonly dcHeld: BufferHandle
  /** Per-step views (index t for time-indexed buffers, slot for hs / cs). */
  readonly at: {
    xw: BufferHandle[]; hw: BufferHandle[]; gates: BufferHandle[]; hs: BufferHandle[]
    cs: BufferHandle[]; rc: BufferHandle[]; dxw: BufferHandle[]; dhw: BufferHandle[]
  }
  /** The input of the last forward (kept for dW_ih), and cached per-step views of output grads. */
  xs: BufferHandle | null = null
  /** The padding mask (T,B) of the last forward, or null, and its per-step (B) views. */
  mask: BufferHandle[] | null = null
  maskViews: { buf: BufferHandle; views: BufferHandle[] } | null = null
  dysViews: { buf: BufferHandle; views: BufferHandle[] } | null = null
  forwardDone = false

  constructor(k: Kernels, cell: RecurrentCell, T: number, B: number, inputGrad: boolean) {
    const { G, H, X } = cell
    this.T = T
    this.B = B
    const isGru = cell.kind === 'gru'
    this.xw = k.alloc(T * B * G * H)
    this.hw = isGru ? k.alloc(T * B * G * H) : null
    this.gates = k.alloc(T * B * G * H)
    this.hs = k.alloc((T + 1) * B * H)
    this.cs = cell.kind === 'lstm' ? k.alloc((T + 1) * B * H) : null
    this.rc = isGru && cell.reset === 'before' ? k.alloc(T * B * H) : null
    this.dxw = k.alloc(T * B * G * H)
    this.dhw = isGru ? k.alloc(T * B * G * H) : null
    this.dxs = inputGrad && cell.input === 'dense' ? k.alloc(T * B * X) : null
    this.dh = pair(k, B * H)
    this.dc = pair(k, B * H)
    this.zeros = k.alloc(B * H)
    this.maskedOut = k.alloc(B * H)
    this.dHeld = k.alloc(B * H)
    this.dcHeld = k.alloc(B * H)
    const steps = (buf: BufferHandle | null, count: number, size: number) =>
      buf === null ? [] : Array.from({ length: count }, (_, i) => k.view(buf, i * size, size))
    const GH = G * H
    this.at = {
      xw: steps(this.xw, T, B * GH),
      hw: steps(this.hw, T, B * GH),
      gates: steps(this.gates, T, B * GH),
      hs: steps(this.hs, T + 1, B * H),
      cs: steps(this.cs, T + 1, B * H),
      rc: steps(this.rc, T, B * H),
      dxw: steps(this.dxw, T, B * GH),
      dhw: steps(this.dhw, T, B * GH),
    }
  }
}

/** Two views of `size` values each of one new buffer. */
function pair(k: Kernels, size: number): [BufferHandle, BufferHandle] {
  const both = k.alloc(2 * size)
  return [k.view(both, 0, size), k.view(both, size, size)]
}

/** Per-step context handed to a cell's step functions. */
export interface StepContext {
  k: Kernels
  ws: Workspace
  /** Time index of this step. */
  t: number
  /** Slot of a<t-1> (the state this step reads) and of a<t> (the state it writes). */
  prev: number
  out: number
}

/** Per-step context of the backward pass. */
export interface BackStepContext extends StepContext {
  /** Gradient arriving from the output at time t (B,H), or zeros. */
  daOut: BufferHandle
  /** Gradient arriving from step t+1 (B,H) and the one to write for step t-1. */
  daNext: BufferHandle
  daPrev: BufferHandle
  dcNext: BufferHandle
  dcPrev: BufferHandle
  /**
   * The recurrent gradient that step t+1 left pending (see the top of this file), whose product
   * with W_hh belongs to daNext; null when daNext is whole (the first step, and after a padded one).
   */
  dzNext: BufferHandle | null
}

/**
 * A recurrent cell over one direction: parameters, state API, and the time loop. Subclasses (one
 * file per cell) supply the gate count and the two step functions.
 */
export abstract class RecurrentCell {
  readonly kind: CellKind
  /** G, H, X (X = V for a lookup input). */
  readonly G: number
  readonly H: number
  readonly X: number
  readonly reverse: boolean
  readonly input: 'dense' | 'lookup'
  readonly reset: GruReset
  readonly wIh: Param
  readonly wHh: Param
  readonly bIh: Param
  readonly bHh: Param
  readonly peep: Param | null
  private readonly workspaces = new Map<string, Workspace>()

  protected constructor(params: ParamBuilder, name: string, G: number, options: CellOptions) {
    expectInt(`${name}: inputSize`, options.inputSize, 1)
    expectInt(`${name}: hiddenSize`, options.hiddenSize, 1)
    expectOneOf(`${name}: reset`, options.reset ?? 'after', ['after', 'before'])
    expectOneOf(`${name}: input`, options.input ?? 'dense', ['dense', 'lookup'])
    expectOneOf(`${name}: init`, options.init ?? 'glorot', INIT_SCHEMES)
    this.kind = options.kind
    this.G = G
    this.H = options.hiddenSize
    this.X = options.inputSize
    this.reverse = options.reverse ?? false
    this.input = options.input ?? 'dense'
    this.reset = options.reset ?? 'after'
    const { X, H } = this
    const GH = G * H
    const inits = cellInits(options.init ?? 'glorot', this.kind, X, H, G, options.forgetBias)
    this.wIh = params.add(`${name}.weight_ih`, this.input === 'lookup' ? [X, GH] : [GH, X], inits.wIh)
    this.wHh = params.add(`${name}.weight_hh`, [GH, H], inits.wHh)
    this.bIh = params.add(`${name}.bias_ih`, [GH], inits.bIh)
    this.bHh = params.add(`${name}.bias_hh`, [GH], inits.bHh)
    this.peep = this.kind === 'lstm' && options.peephole === true ? params.add(`${name}.peephole`, [3 * H], { kind: 'zeros' }) : null
  }

  /** Whether this cell carries a memory cell c<t> besides a<t> (LSTM). */
  get hasCellState(): boolean {
    return this.kind === 'lstm'
  }

  /** Zero state for a batch of B. */
  zeroState(k: Kernels, B: number): State {
    return { h: k.alloc(B * this.H), c: this.hasCellState ? k.alloc(B * this.H) : null }
  }

  /** The workspace for (T,B), made once and reused. */
  workspace(k: Kernels, T: number, B: number, inputGrad = true): Workspace {
    expectInt(`${this.kind} workspace: T`, T, 1)
    expectInt(`${this.kind} workspace: B`, B, 1)
    const key = `${T}x${B}x${inputGrad}`
    let ws = this.workspaces.get(key)
    if (ws === undefined) {
      ws = new Workspace(k, this, T, B, inputGrad)
      this.workspaces.set(key, ws)
    }
    return ws
  }

  /** Slot of a<t-1> for time t: forward reads slot t, reverse reads slot t+1. */
  prevSlot(t: number): number {
    return this.reverse ? t + 1 : t
  }

  /** Slot of a<t> for time t. */
  outSlot(t: number): number {
    return this.reverse ? t : t + 1
  }

  /** Slot holding the initial state, and the final one. */
  initSlot(T: number): number {
    return this.reverse ? T : 0
  }

  finalSlot(T: number): number {
    return this.reverse ? 0 : T
  }

  /** The outputs a<0..T-1> (T,B,H) in time order: a view of the workspace. */
  outputs(k: Kernels, ws: Workspace): BufferHandle {
    const size = ws.T * ws.B * this.H
    return k.view(ws.hs, this.reverse ? 0 : ws.B * this.H, size)
  }

  /** The final state after the last forward on `ws` (views of the workspace). */
  finalState(ws: Workspace): State {
    const slot = this.finalSlot(ws.T)
    return { h: ws.at.hs[slot], c: ws.cs === null ? null : ws.at.cs[slot] }
  }

  /**
   * Runs the whole sequence. xs (T,B,X) floats, or (T,B) i32 ids for a lookup input; init (B,H)
   * states or null for zeros; mask (T,B) of 1s (real tokens) and 0s (padding) or null: a padded
   * step keeps the state it received, so padding changes neither outputs at real steps, final
   * states nor gradients. Returns the outputs (T,B,H) and the final state, as views of `ws`.
   */
  forward(k: Kernels, ws: Workspace, xs: BufferHandle, init: State | null, mask: BufferHandle | null = null): { ys: BufferHandle; final: State } {
    const { T, B } = ws
    const { G, H, X } = this
    const GH = G * H
    const N = T * B
    const xsSize = this.input === 'lookup' ? N : N * X
    if (xs.length !== xsSize) throw new RecurError('SHAPE', `${this.kind} forward: xs must hold T*B${this.input === 'lookup' ? '' : '*X'} = ${xsSize} values, got ${xs.length}`)
    if (mask !== null && mask.length !== N) throw new RecurError('SHAPE', `${this.kind} forward: the mask must hold T*B = ${N} values, got ${mask.length}`)
    if (init !== null && init.h.length !== B * H) throw new RecurError('SHAPE', `${this.kind} forward: the initial state must hold B*H = ${B * H} values, got ${init.h.length}`)
    const initSlot = this.initSlot(T)
    if (init === null) {
      k.fill(B * H, ws.at.hs[initSlot], 0)
      if (ws.cs !== null) k.fill(B * H, ws.at.cs[initSlot], 0)
    } else {
      k.copy(1, B * H, init.h, 0, ws.at.hs[initSlot], 0)
      if (ws.cs !== null) {
        if (init.c === null || init.c.length !== B * H) {
          throw new RecurError('SHAPE', `${this.kind}: an LSTM state needs c as well as h (B*H = ${B * H} values each), got ${init.c === null ? 'no c' : `c of ${init.c.length} values`}`)
        }
        k.copy(1, B * H, init.c, 0, ws.at.cs[initSlot], 0)
      }
    }
    // XW = xs W_ih^T + b_ih (+ b_hh for RNN and LSTM, whose two biases always add): one GEMM for all T.
    if (this.input === 'lookup') {
      k.gather(N, GH, this.wIh.value, xs, ws.xw)
    } else {
      k.gemm({ transA: false, transB: true, m: N, n: GH, k: X, alpha: 1, a: xs, lda: X, b: this.wIh.value, ldb: X, beta: 0, c: ws.xw, ldc: GH })
    }
    k.addBias(N, GH, ws.xw, this.bIh.value)
    if (this.kind !== 'gru') k.addBias(N, GH, ws.xw, this.bHh.value)
    ws.xs = xs
    ws.mask = mask === null ? null : this.stepViews(k, ws, mask, B, 'maskViews')
    for (let s = 0; s < T; s++) {
      const t = this.reverse ? T - 1 - s : s
      const prev = this.prevSlot(t), out = this.outSlot(t)
      this.forwardStep({ k, ws, t, prev, out })
      if (ws.mask !== null) {
        k.holdForward(B, H, ws.mask[t], ws.at.hs[prev], ws.at.hs[out])
        if (ws.cs !== null) k.holdForward(B, H, ws.mask[t], ws.at.cs[prev], ws.at.cs[out])
      }
    }
    ws.forwardDone = true
    return { ys: this.outputs(k, ws), final: this.finalState(ws) }
  }

  /**
   * Backpropagates through the last forward on `ws`. dys (T,B,H) or null (no output gradient);
   * dFinal: gradient of the final state, or null for zeros (truncated BPTT). Parameter gradients
   * accumulate (+=); returns dxs (T,B,X) (null for a lookup input or when not asked for) and the
   * gradient of the initial state (views of `ws`, valid until the next backward).
   */
  backward(k: Kernels, ws: Workspace, dys: BufferHandle | null, dFinal: State | null): { dxs: BufferHandle | null; dInit: State } {
    if (!ws.forwardDone) throw new RecurError('STATE', `${this.kind}: backward called before forward on this workspace`)
    const { T, B } = ws
    const { G, H, X } = this
    const GH = G * H
    const N = T * B
    let cur = 0
    if (dFinal === null) {
      k.fill(B * H, ws.dh[0], 0)
      k.fill(B * H, ws.dc[0], 0)
    } else {
      k.copy(1, B * H, dFinal.h, 0, ws.dh[0], 0)
      if (dFinal.c !== null) k.copy(1, B * H, dFinal.c, 0, ws.dc[0], 0)
      else k.fill(B * H, ws.dc[0], 0)
    }
    const dyAt = dys === null ? null : this.stepViews(k, ws, dys, B * H, 'dysViews')
    const BH = B * H
    let pending: BufferHandle | null = null
    for (let s = T - 1; s >= 0; s--) {
      const t = this.reverse ? T - 1 - s : s
      const daNext = ws.dh[cur], daPrev = ws.dh[1 - cur], dcNext = ws.dc[cur], dcPrev = ws.dc[1 - cur]
      let daOut = dyAt === null ? ws.zeros : dyAt[t]
      const m = ws.mask === null ? null : ws.mask[t]
      if (m !== null && pending !== null) {
        // The held rows need daNext whole.
        this.addRecurrentProduct(k, ws, pending, daNext)
        pending = null
      }
      if (m !== null) {
        // forward: out = m*out + (1-m)*prev -> held rows pass their gradient straight to the previous state
        k.fill(BH, ws.dHeld, 0)
        if (dyAt !== null) {
          k.copy(1, BH, daOut, 0, ws.maskedOut, 0)
          k.holdBackward(B, H, m, ws.maskedOut, ws.dHeld)
          daOut = ws.maskedOut
        }
        k.holdBackward(B, H, m, daNext, ws.dHeld)
        if (ws.cs !== null) {
          k.fill(BH, ws.dcHeld, 0)
          k.holdBackward(B, H, m, dcNext, ws.dcHeld)
        }
      }
      pending = this.backwardStep({ k, ws, t, prev: this.prevSlot(t), out: this.outSlot(t), daOut, daNext, daPrev, dcNext, dcPrev, dzNext: pending })
      if (m !== null) {
        k.axpy(BH, 1, ws.dHeld, daPrev)
        if (ws.cs !== null) k.axpy(BH, 1, ws.dcHeld, dcPrev)
      }
      cur = 1 - cur
    }
    if (pending !== null) this.addRecurrentProduct(k, ws, pending, ws.dh[cur])
    // Weight gradients: one GEMM each over all T*B rows.
    const dzHidden = ws.dhw ?? ws.dxw
    if (this.input === 'lookup') {
      k.scatterAdd(N, GH, ws.dxw, ws.xs!, this.wIh.grad)
    } else {
      k.gemm({ transA: true, transB: false, m: GH, n: X, k: N, alpha: 1, a: ws.dxw, lda: GH, b: ws.xs!, ldb: X, beta: 1, c: this.wIh.grad, ldc: X })
    }
    const prevStates = k.view(ws.hs, this.reverse ? B * H : 0, N * H)
    if (ws.rc !== null) {
      // GRU reset-before: the candidate rows of W_hh multiply Γr*c<t-1>, the others c<t-1>.
      const twoH = 2 * H
      k.gemm({ transA: true, transB: false, m: twoH, n: H, k: N, alpha: 1, a: dzHidden, lda: GH, b: prevStates, ldb: H, beta: 1, c: this.wHh.grad, ldc: H })
      k.gemm({
        transA: true, transB: false, m: H, n: H, k: N, alpha: 1, a: k.view(dzHidden, twoH, N * GH - twoH), lda: GH,
        b: ws.rc, ldb: H, beta: 1, c: k.view(this.wHh.grad, twoH * H, H * H), ldc: H,
      })
    } else {
      k.gemm({ transA: true, transB: false, m: GH, n: H, k: N, alpha: 1, a: dzHidden, lda: GH, b: prevStates, ldb: H, beta: 1, c: this.wHh.grad, ldc: H })
    }
    k.biasGrad(N, GH, ws.dxw, this.bIh.grad)
    k.biasGrad(N, GH, dzHidden, this.bHh.grad)
    let dxs: BufferHandle | null = null
    if (ws.dxs !== null) {
      k.gemm({ transA: false, transB: false, m: N, n: X, k: GH, alpha: 1, a: ws.dxw, lda: GH, b: this.wIh.value, ldb: X, beta: 0, c: ws.dxs, ldc: X })
      dxs = ws.dxs
    }
    return { dxs, dInit: { h: ws.dh[cur], c: this.hasCellState ? ws.dc[cur] : null } }
  }

  /** Per-step views (`size` values each) of a (T, ...) buffer, cached for the buffer last seen. */
  private stepViews(k: Kernels, ws: Workspace, buf: BufferHandle, size: number, cache: 'dysViews' | 'maskViews'): BufferHandle[] {
    const cached = ws[cache]
    if (cached !== null && cached.buf === buf) return cached.views
    const views = Array.from({ length: ws.T }, (_, t) => k.view(buf, t * size, size))
    ws[cache] = { buf, views }
    return views
  }

  /**
   * Columns of a step's recurrent gradient (dXW, or dHW for GRU) that reach a<t-1> through W_hh
   * alone: all G*H, but for a GRU with reset 'before' only the [r u] blocks (its c~ block goes through
   * Γr * c<t-1> within the step).
   */
  private get recurrentColumns(): number {
    return this.kind === 'gru' && this.reset === 'before' ? 2 * this.H : this.G * this.H
  }

  /** into (B,H) += dz W_hh over `recurrentColumns`: a product a fused backward step left pending. */
  private addRecurrentProduct(k: Kernels, ws: Workspace, dz: BufferHandle, into: BufferHandle): void {
    const { B } = ws, { G, H } = this
    k.gemm({ transA: false, transB: false, m: B, n: H, k: this.recurrentColumns, alpha: 1, a: dz, lda: G * H, b: this.wHh.value, ldb: H, beta: 1, c: into, ldc: H })
  }

  /** One forward step: reads slot `prev`, XW at t; writes slot `out` and the gates at t. */
  protected abstract forwardStep(s: StepContext): void

  /**
   * One backward step: writes dXW (and dHW) at t, daPrev, dcPrev. Returns the recurrent gradient
   * whose product with W_hh it left out of daPrev (the next step's dzNext).
   */
  protected abstract backwardStep(s: BackStepContext): BufferHandle
}
