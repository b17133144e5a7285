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
 *   Each time step is one call of the backend's fused step kernels (gruStep, gruBackwardStep); a GPU
 *   runs it as one kernel ('after') or two ('before': the c~ block's product needs Γr * c<t-1> of
 *   every unit first). Backward, dc_prev's product dhw W_hh ('before': dhw_ru W_ru) is left pending
 *   for the next step's kernel.
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import { RecurrentCell, type BackStepContext, type CellOptions, type StepContext } from './recurrent.js'

export class GruCell extends RecurrentCell {
  constructor(params: ParamBuilder, name: string, options: Omit<CellOptions, 'kind'>) {
    super(params, name, 3, { ...options, kind: 'gru' })
  }

  protected override forwardStep({ k, ws, t, prev, out }: StepContext): void {
    // hw = c<t-1> W_hh^T ('before': its c~ block from Γr * c<t-1>, kept in rc), then the gates and c<t>
    const rc = this.reset === 'before' ? ws.at.rc[t] : null
    k.gruStep(this.reset, ws.B, this.H, ws.at.xw[t], ws.at.hs[prev], this.wHh.value, this.bHh.value, ws.at.hw[t], rc, ws.at.gates[t], ws.at.hs[out])
  }

  protected override backwardStep({ k, ws, t, prev, daOut, daNext, daPrev, dzNext }: BackStepContext): BufferHandle {
    const dhw = ws.at.dhw[t]
    k.gruBackwardStep(
      this.reset, ws.B, this.H, ws.at.gates[t], ws.at.hw[t], this.bHh.value, ws.at.hs[prev],
      daOut, daNext, dzNext, this.wHh.value, ws.at.dxw[t], dhw, daPrev,
    )
    return dhw // forward: hw = c<t-1> W_hh^T -> dc_prev += dhw W_hh ('before': dhw_ru W_ru), added by the next step's kernel
  }
}
