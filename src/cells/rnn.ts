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
 * A backend with the fused kernels (rnnStep, rnnBackwardStep) runs each step as one kernel; backward,
 * da_prev = Waa^T dtanh is left pending for the next step's kernel (see src/cells/recurrent.ts).
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import { RecurrentCell, type BackStepContext, type CellOptions, type StepContext } from './recurrent.js'

export class RnnCell extends RecurrentCell {
  constructor(params: ParamBuilder, name: string, options: Omit<CellOptions, 'kind'>) {
    super(params, name, 1, { ...options, kind: 'rnn' })
  }

  protected override forwardStep({ k, ws, t, prev, out }: StepContext): void {
    const { B } = ws, H = this.H
    if (k.rnnStep !== undefined) {
      k.rnnStep(B, H, ws.at.xw[t], ws.at.hs[prev], this.wHh.value, ws.at.hs[out]) // a<t> = tanh(xw + a<t-1> Waa^T)
      return
    }
    const z = ws.at.xw[t] // holds Wax x<t> + ba; the GEMM adds Waa a<t-1>
    k.gemm({ transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: ws.at.hs[prev], lda: H, b: this.wHh.value, ldb: H, beta: 1, c: z, ldc: H })
    k.rnnForward(B, H, z, ws.at.hs[out]) // a<t> = tanh(z)
  }

  protected override backwardStep({ k, ws, t, out, daOut, daNext, daPrev, dzNext }: BackStepContext): BufferHandle | null {
    const { B } = ws, H = this.H
    const dtanh = ws.at.dxw[t]
    if (k.rnnBackwardStep !== undefined) {
      // da = da_out + da_next + dtanh<t+1> Waa; dtanh = da * (1 - a<t>²); da_prev = Waa^T dtanh is left pending
      k.rnnBackwardStep(B, H, ws.at.hs[out], daOut, daNext, dzNext, this.wHh.value, dtanh, daPrev)
      return dtanh
    }
    k.rnnBackward(B, H, ws.at.hs[out], daOut, daNext, dtanh) // dtanh = da * (1 - a<t>²)
    // forward: z += a<t-1> Waa^T -> da_prev = dtanh Waa
    k.gemm({ transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: dtanh, lda: H, b: this.wHh.value, ldb: H, beta: 0, c: daPrev, ldc: H })
    return null
  }
}
