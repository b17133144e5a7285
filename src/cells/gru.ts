/**
 * The GRU cell, in the course note's notation (gate order in z: Γr, Γu, c~; a<t> = c<t>).
 *
 *   reset 'before' (the course note):
 *             Γr  = σ(Wr[c<t-1>, x<t>] + br)
 *             Γu  = σ(Wu[c<t-1>, x<t>] + bu)
 *             c~  = tanh(Wc[Γr * c<t-1>, x<t>] + bc)
 *             c<t> = Γu * c~ + (1 - Γu) * c<t-1>
 *   reset 'after' (PyTorch, cuDNN, Keras reset_after=True):
 *             c~  = tanh(Wcx x<t> + bcx + Γr * (Wcc c<t-1> + bcc))
 *
 *   Update-gate direction: the note's Γu weighs the NEW candidate. PyTorch's z weighs the OLD
 *   state (h' = (1-z) n + z h), so Γu = 1 - z, i.e. recur's update-gate weights and biases are
 *   PyTorch's negated (σ(-v) = 1 - σ(v)); the import and export do that conversion. docs/conventions.md
 *   has the full mapping to PyTorch and ONNX.
 *
 *   backward, with dc = dc_out + dc_next:
 *             dc~ = dc * Γu,  dΓu = dc * (c~ - c<t-1>),  dc_prev = dc * (1 - Γu)
 *             dzc = dc~ (1 - c~²), dzu = dΓu Γu (1 - Γu)
 *   after:    dhc = dzc * Γr,  dΓr = dzc * hc  (hc = Wcc c<t-1> + bcc);  dc_prev += dhw W_hh
 *   before:   drc = dzc Wcc (GEMM),  dΓr = drc * c<t-1>,  dc_prev += drc * Γr + dz_ru W_ru
 *
 *   A backend with the fused kernels (gruStep, gruBackwardStep) runs a step as one kernel ('after')
 *   or two ('before': the c~ block's product needs Γr * c<t-1> of every unit first). Backward,
 *   dc_prev's product dhw W_hh ('before': dhw_ru W_ru) is left pending for the next step's kernel.
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import { RecurrentCell, type BackStepContext, type CellOptions, type StepContext } from './recurrent.js'

export class GruCell extends RecurrentCell {
  constructor(params: ParamBuilder, name: string, options: Omit<CellOptions, 'kind'>) {
    super(params, name, 3, { ...options, kind: 'gru' })
  }

  protected override forwardStep({ k, ws, t, prev, out }: StepContext): void {
    const { B } = ws, H = this.H
    const cPrev = ws.at.hs[prev], xw = ws.at.xw[t], hw = ws.at.hw[t]
    const bh = this.bHh.value, W = this.wHh.value
    if (k.gruStep !== undefined) {
      k.gruStep(this.reset, B, H, xw, cPrev, W, bh, hw, this.reset === 'before' ? ws.at.rc[t] : null, ws.at.gates[t], ws.at.hs[out])
      return
    }
    if (this.reset === 'after') {
      // hw = c<t-1> W_hh^T for all three blocks
      k.gemm({ transA: false, transB: true, m: B, n: 3 * H, k: H, alpha: 1, a: cPrev, lda: H, b: W, ldb: H, beta: 0, c: hw, ldc: 3 * H })
    } else {
      // hw[r,u] = c<t-1> W_ru^T; then Γr * c<t-1>; then hw[c] = (Γr * c<t-1>) W_cc^T
      k.gemm({ transA: false, transB: true, m: B, n: 2 * H, k: H, alpha: 1, a: cPrev, lda: H, b: W, ldb: H, beta: 0, c: hw, ldc: 3 * H })
      k.gruResetForward(B, H, xw, hw, bh, cPrev, ws.at.rc[t])
      k.gemm({
        transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: ws.at.rc[t], lda: H,
        b: k.view(W, 2 * H * H, H * H), ldb: H, beta: 0, c: ws.at.hwCand[t], ldc: 3 * H,
      })
    }
    k.gruForward(this.reset, B, H, xw, hw, bh, cPrev, ws.at.gates[t], ws.at.hs[out])
  }

  protected override backwardStep({ k, ws, t, prev, daOut, daNext, daPrev, dzNext }: BackStepContext): BufferHandle | null {
    const { B } = ws, H = this.H
    const cPrev = ws.at.hs[prev], dxw = ws.at.dxw[t], dhw = ws.at.dhw[t], gates = ws.at.gates[t]
    const W = this.wHh.value
    if (k.gruBackwardStep !== undefined) {
      k.gruBackwardStep(this.reset, B, H, gates, ws.at.hw[t], this.bHh.value, cPrev, daOut, daNext, dzNext, W, dxw, dhw, daPrev)
      return dhw // dc_prev += dhw W_hh ('before': dhw_ru W_ru): added by the next step's kernel
    }
    k.gruBackward(this.reset, B, H, gates, ws.at.hw[t], this.bHh.value, cPrev, daOut, daNext, dxw, dhw, daPrev)
    if (this.reset === 'after') {
      // forward: hw = c<t-1> W_hh^T -> dc_prev += dhw W_hh
      k.gemm({ transA: false, transB: false, m: B, n: H, k: 3 * H, alpha: 1, a: dhw, lda: 3 * H, b: W, ldb: H, beta: 1, c: daPrev, ldc: H })
    } else {
      // forward: hw[c] = rc W_cc^T -> drc = dhw[c] W_cc; then the Γr path; then dc_prev += dhw[r,u] W_ru
      k.gemm({
        transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: ws.at.dhwCand[t], lda: 3 * H,
        b: k.view(W, 2 * H * H, H * H), ldb: H, beta: 0, c: ws.scratch, ldc: H,
      })
      k.gruResetBackward(B, H, gates, cPrev, ws.scratch, dxw, dhw, daPrev)
      k.gemm({ transA: false, transB: false, m: B, n: H, k: 2 * H, alpha: 1, a: dhw, lda: 3 * H, b: W, ldb: H, beta: 1, c: daPrev, ldc: H })
    }
    return null
  }
}
