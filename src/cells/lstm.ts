/**
 * The LSTM cell, in the course note's notation (gate order in z: Γu, Γf, c~, Γo = PyTorch's i, f, g, o).
 *
 *   forward:  c~<t> = tanh(Wc[a<t-1>, x<t>] + bc)
 *             Γu = σ(Wu[a<t-1>, x<t>] + bu (+ pu * c<t-1>))      update (input) gate
 *             Γf = σ(Wf[a<t-1>, x<t>] + bf (+ pf * c<t-1>))      forget gate
 *             c<t> = Γu * c~<t> + Γf * c<t-1>
 *             Γo = σ(Wo[a<t-1>, x<t>] + bo (+ po * c<t>))        output gate
 *             a<t> = Γo * tanh(c<t>)
 *   The peephole terms (in brackets, option `peephole`) follow Gers & Schmidhuber and ONNX:
 *   Γu and Γf see the previous cell state c<t-1>, Γo sees the new one c<t>. recur stores them as
 *   p = [pu, pf, po] (3H); ONNX's P input is [p_i, p_o, p_f].
 *
 *   backward (lstmBackward kernel, one pass per step), with da = da_out + da_next:
 *             dΓo = da * tanh(c<t>)                        (forward: a = Γo * tanh(c))
 *             dc  = dc_next + da * Γo * (1 - tanh²(c<t>)) + dzo * po
 *             dc~ = dc * Γu,  dΓu = dc * c~,  dΓf = dc * c<t-1>   (forward: c = Γu c~ + Γf c<t-1>)
 *             dz  = [dΓu σ', dΓf σ', dc~ (1 - c~²), dΓo σ']      (through each activation)
 *             dc_prev = dc * Γf + dzu * pu + dzf * pf
 *             da_prev = dz W_hh                            (left pending: added by the next step)
 *
 *   Each time step is one call of the backend's fused step kernels (lstmStep, lstmBackwardStep):
 *   forward z = xw + a<t-1> W_hh^T and the gate math; backward da = da_out + da_next + dz<t+1> W_hh
 *   (the product step t+1 left pending) and the pointwise backward.
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import { RecurrentCell, type BackStepContext, type CellOptions, type StepContext } from './recurrent.js'

export class LstmCell extends RecurrentCell {
  constructor(params: ParamBuilder, name: string, options: Omit<CellOptions, 'kind'>) {
    super(params, name, 4, { ...options, kind: 'lstm' })
  }

  protected override forwardStep({ k, ws, t, prev, out }: StepContext): void {
    // z = xw + a<t-1> W_hh^T, then the gates, c<t> and a<t>
    k.lstmStep(
      ws.B, this.H, ws.at.xw[t], ws.at.hs[prev], this.wHh.value, ws.at.cs[prev], this.peep?.value ?? null,
      ws.at.gates[t], ws.at.cs[out], ws.at.hs[out],
    )
  }

  protected override backwardStep({ k, ws, t, prev, out, daOut, daNext, daPrev, dcNext, dcPrev, dzNext }: BackStepContext): BufferHandle {
    const dz = ws.at.dxw[t]
    k.lstmBackwardStep(
      ws.B, this.H, ws.at.gates[t], ws.at.cs[prev], ws.at.cs[out], this.peep?.value ?? null,
      daOut, daNext, dzNext, this.wHh.value, dcNext, dz, daPrev, dcPrev, this.peep?.grad ?? null,
    )
    return dz // forward: z += a<t-1> W_hh^T -> da_prev = dz W_hh, added by the next step's kernel
  }
}
