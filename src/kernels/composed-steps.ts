/**
 * The fused recurrent step kernels (`rnnStep`, `lstmStep`, `gruStep` and their backward twins,
 * documented in ./types.ts) written as the compositions their documentation states: forward, the
 * recurrent GEMM and then the cell's pointwise kernel; backward, the pending product dz<t+1> W_hh
 * added to the incoming gradient first, then the pointwise backward.
 *
 * This is the reference backend's definition of those six kernels (the spec), and the native
 * backend's implementation of them (its own gemm and pointwise kernels, composed the same way). A
 * backend with truly fused kernels (WebGPU) is held to these compositions by the tests.
 *
 * Shapes: xw (B,G*H) the input projection of the step; W_hh (G*H, H) as stored; states (B,H).
 *
 * Temporaries: the pre-activations z (B,G*H) of a forward step, and the incoming gradient with the
 * pending product added (B,H) of a backward step, live in one scratch buffer of the backend. It is
 * allocated by the first step and again only when a larger step comes, so a time loop allocates
 * nothing (views included).
 */
import { RecurError } from '../errors.js'
import type { BufferHandle, GruReset, Kernels } from './types.js'

export class ComposedSteps {
  private readonly k: Kernels
  private buffer: BufferHandle | null = null
  private readonly views = new Map<number, BufferHandle>()
  private readonly candidateViews = new WeakMap<BufferHandle, BufferHandle>()

  /** The compositions on the kernels of `k` (the backend that owns this object). */
  constructor(k: Kernels) {
    this.k = k
  }

  /** Fused RNN forward step: z = xw + aPrev W_hh^T (B,H), then a = tanh(z) (rnnForward). */
  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
    const z = this.preActivations(B, H, 1, xw, aPrev, wHh)
    this.k.rnnForward(B, H, z, a)
  }

  /** Fused RNN backward step: da = daOut + (daNext + dzNext W_hh); dz = da * (1 - a²) (rnnBackward); daPrev = 0. */
  rnnBackwardStep(
    B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void {
    const daIn = this.withPendingProduct(B, H, H, H, daNext, dzNext, wHh)
    this.k.rnnBackward(B, H, a, daOut, daIn, dz)
    this.k.fill(B * H, daPrev, 0) // all of a<t-1>'s gradient is dz W_hh, left to the next step
  }

  /** Fused LSTM forward step: z = xw + aPrev W_hh^T (B,4H), then lstmForward on z. */
  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    const z = this.preActivations(B, H, 4, xw, aPrev, wHh)
    this.k.lstmForward(B, H, z, cPrev, peep, gates, c, a)
  }

  /** Fused LSTM backward step: lstmBackward with da_next = daNext + dzNext W_hh (dzNext (B,4H)); daPrev = 0. */
  lstmBackwardStep(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    const daIn = this.withPendingProduct(B, H, 4 * H, 4 * H, daNext, dzNext, wHh)
    this.k.lstmBackward(B, H, gates, cPrev, c, peep, daOut, daIn, dcNext, dz, dcPrev, dPeep)
    this.k.fill(B * H, daPrev, 0) // all of a<t-1>'s gradient through the gates is dz W_hh, left to the next step
  }

  /**
   * Fused GRU forward step. 'after': hw = cPrev W_hh^T (B,3H). 'before': hw[r u] = cPrev W_ru^T,
   * rc = Γr * cPrev (gruResetForward), hw[c~] = rc W_cc^T. Then gruForward.
   */
  gruStep(
    reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
    hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
  ): void {
    const k = this.k
    if (reset === 'after') {
      k.gemm({ transA: false, transB: true, m: B, n: 3 * H, k: H, alpha: 1, a: cPrev, lda: H, b: wHh, ldb: H, beta: 0, c: hw, ldc: 3 * H })
    } else {
      const resetState = this.resetStateOf(rc)
      k.gemm({ transA: false, transB: true, m: B, n: 2 * H, k: H, alpha: 1, a: cPrev, lda: H, b: wHh, ldb: H, beta: 0, c: hw, ldc: 3 * H })
      k.gruResetForward(B, H, xw, hw, bh, cPrev, resetState)
      k.gemm({
        transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: resetState, lda: H,
        b: this.candidate(wHh, 2 * H * H, H * H), ldb: H, beta: 0, c: this.candidate(hw, 2 * H, hw.length - 2 * H), ldc: 3 * H,
      })
    }
    k.gruForward(reset, B, H, xw, hw, bh, cPrev, gates, c)
  }

  /**
   * Fused GRU backward step: gruBackward with dc_next = dcNext + dhwNext W_hh over its three blocks
   * ('after') or its [r u] blocks ('before'); 'before' then finishes with drc = dhw[c~] W_cc and
   * gruResetBackward.
   */
  gruBackwardStep(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const k = this.k
    const columns = reset === 'after' ? 3 * H : 2 * H
    const dcIn = this.withPendingProduct(B, H, columns, 3 * H, dcNext, dhwNext, wHh)
    k.gruBackward(reset, B, H, gates, hw, bh, cPrev, dcOut, dcIn, dxw, dhw, dcPrev)
    if (reset === 'before') {
      // forward: hw[c~] = rc W_cc^T -> drc = dhw[c~] W_cc (dcIn is spent: drc takes the scratch over)
      const drc = this.scratch(B * H)
      k.gemm({
        transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: this.candidate(dhw, 2 * H, dhw.length - 2 * H), lda: 3 * H,
        b: this.candidate(wHh, 2 * H * H, H * H), ldb: H, beta: 0, c: drc, ldc: H,
      })
      k.gruResetBackward(B, H, gates, cPrev, drc, dxw, dhw, dcPrev)
    }
  }

  /** z (B,G*H) = xw + aPrev W_hh^T, in the scratch buffer; xw is left as it is. */
  private preActivations(B: number, H: number, G: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle): BufferHandle {
    const GH = G * H
    const z = this.scratch(B * GH)
    this.k.copy(1, B * GH, xw, B * GH, z, B * GH)
    this.k.gemm({ transA: false, transB: true, m: B, n: GH, k: H, alpha: 1, a: aPrev, lda: H, b: wHh, ldb: H, beta: 1, c: z, ldc: GH })
    return z
  }

  /**
   * The incoming gradient of a backward step (B,H): `carry` itself without a pending product, else
   * carry + dzNext W_hh over the first `columns` columns of dzNext (row stride ld), in the scratch buffer.
   */
  private withPendingProduct(
    B: number, H: number, columns: number, ld: number, carry: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle,
  ): BufferHandle {
    if (dzNext === null) return carry
    const out = this.scratch(B * H)
    this.k.copy(1, B * H, carry, B * H, out, B * H)
    this.k.gemm({ transA: false, transB: false, m: B, n: H, k: columns, alpha: 1, a: dzNext, lda: ld, b: wHh, ldb: H, beta: 1, c: out, ldc: H })
    return out
  }

  /**
   * The scratch buffer as `n` values; its contents are whatever the last composition left. Views
   * are made once per length, so a time loop makes no new objects either.
   */
  private scratch(n: number): BufferHandle {
    if (this.buffer === null || this.buffer.length < n) {
      if (this.buffer !== null) this.k.free(this.buffer)
      this.buffer = this.k.alloc(n)
      this.views.clear()
    }
    if (this.buffer.length === n) return this.buffer
    let view = this.views.get(n)
    if (view === undefined) {
      view = this.k.view(this.buffer, 0, n)
      this.views.set(n, view)
    }
    return view
  }

  /**
   * GRU reset-before's candidate part of `buf`, made once per buffer (the per-step buffers of a
   * workspace and W_hh are the same handles step after step): the c~ block of a (B,3H) matrix (from
   * column 2H, row stride 3H) or W_cc (H,H), the c~ rows of W_hh (3H,H).
   */
  private candidate(buf: BufferHandle, offset: number, length: number): BufferHandle {
    let view = this.candidateViews.get(buf)
    if (view === undefined) {
      view = this.k.view(buf, offset, length)
      this.candidateViews.set(buf, view)
    }
    return view
  }

  /** gruStep's rc for reset 'before', which needs it. */
  private resetStateOf(rc: BufferHandle | null): BufferHandle {
    if (rc === null) throw new RecurError('BACKEND', `${this.k.name}: gruStep with reset 'before' needs the rc buffer (B,H)`)
    return rc
  }
}
