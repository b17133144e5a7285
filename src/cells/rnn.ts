/**
 * The vanilla RNN cell, exactly as the course note writes it.
 *
 *   forward:   a<t> = tanh(Waa a<t-1> + Wax x<t> + ba)        = tanh(Wa[a<t-1>, x<t>] + ba)
 *   backward:  dtanh   = da_next * (1 - a<t>²)
 *              dWax   += dtanh x<t>^T        (after the loop, one GEMM over all steps)
 *              dWaa   += dtanh a<t-1>^T      (after the loop, one GEMM over all steps)
 *              dba    += Σ_batch dtanh
 *              dx<t>   = Wax^T dtanh         (after the loop, one GEMM over all steps)
 *              da_prev = Waa^T dtanh
 *
 * Names: Wax is W_ih (H,X), Waa is W_hh (H,H), ba = b_ih + b_hh (PyTorch keeps two biases;
 * recur does too, so PyTorch weights load as they are). Row-major batches turn W v into v W^T.
 *
 * Each time step is one call of the backend's fused step kernels (rnnStep, rnnBackwardStep): forward
 * the recurrent product and the tanh together; backward, da_prev = Waa^T dtanh is left pending for
 * the next step's kernel (see src/cells/recurrent.ts).
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import { RecurrentCell, type BackStepContext, type CellOptions, type StepContext } from './recurrent.js'

export class RnnCell extends RecurrentCell {
  constructor(params: ParamBuilder, name: string, options: Omit<CellOptions, 'kind'>) {
    super(params, name, 1, { ...options, kind: 'rnn' })
  }

  protected override forwardStep({ k, ws, t, prev, out }: StepContext): void {
    k.rnnStep(ws.B, this.H, ws.at.xw[t], ws.at.hs[prev], this.wHh.value, ws.at.hs[out]) // a<t> = tanh(Wax x<t> + ba + Waa a<t-1>)
  }

  protected override backwardStep({ k, ws, t, out, daOut, daNext, daPrev, dzNext }: BackStepContext): BufferHandle {
    const dtanh = ws.at.dxw[t]
    // da = da_out + da_next + dtanh<t+1> Waa; dtanh = da * (1 - a<t>²); da_prev = Waa^T dtanh is left pending
    k.rnnBackwardStep(ws.B, this.H, ws.at.hs[out], daOut, daNext, dzNext, this.wHh.value, dtanh, daPrev)
    return dtanh
  }
}
