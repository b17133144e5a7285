/**
 * Losses, each computing its value and its gradient in one fused kernel call.
 *
 *   softmax cross-entropy per token:  L = (1/n) Σ_i m_i * -log softmax(z_i)[y_i],  n = Σ m_i
 *   binary cross-entropy per step (the course note):
 *                                     L = (1/n) Σ_t m_t * -(y log ŷ + (1-y) log(1-ŷ)),  ŷ = σ(z)
 *
 * Both are means over the unmasked positions (mask 1 = real token, 0 = padding); without a mask
 * every position counts. The gradients written are those of the mean.
 */
import { RecurError } from '../errors.js'
import type { BufferHandle, Kernels } from '../kernels/types.js'

interface LossBuffers {
  losses: BufferHandle
  dLogits: BufferHandle
  total: BufferHandle
}

abstract class Loss {
  private readonly buffers = new Map<number, LossBuffers>()
  protected last: LossBuffers | null = null
  protected lastCount = 0

  protected buffersFor(k: Kernels, rows: number, gradSize: number): LossBuffers {
    let b = this.buffers.get(rows)
    if (b === undefined) {
      b = { losses: k.alloc(rows), dLogits: k.alloc(gradSize), total: k.alloc(1) }
      this.buffers.set(rows, b)
    }
    this.last = b
    return b
  }

  private lastBuffers(): LossBuffers {
    if (this.last === null) throw new RecurError('STATE', 'loss: read before compute')
    return this.last
  }

  /** Per-position losses of the last call (masked positions are 0). */
  get losses(): BufferHandle {
    return this.lastBuffers().losses
  }

  /** The gradient of the mean loss with respect to the logits, from the last call. */
  get dLogits(): BufferHandle {
    return this.lastBuffers().dLogits
  }

  /** Reads back the mean loss of the last call (the only read-back; call it when you need it). */
  async mean(k: Kernels): Promise<number> {
    const [total] = await k.read(this.lastBuffers().total)
    return total / this.lastCount
  }

  protected count(n: number, count: number | undefined): number {
    const c = count ?? n
    if (!(c > 0)) throw new RecurError('DATA', `loss: no unmasked positions (count ${c})`, 'Every batch needs at least one real token')
    this.lastCount = c
    return c
  }
}

/** Softmax cross-entropy over rows of logits (N,V) against integer targets (N). */
export class SoftmaxCrossEntropy extends Loss {
  /**
   * logits (N,V), targets (N) i32, mask (N) or null with `count` = Σ mask (the number of real
   * positions; N when there is no mask). Writes the losses and, with `gradient`, dLogits.
   */
  compute(k: Kernels, N: number, V: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null = null, count?: number, gradient = true): void {
    const n = this.count(N, count)
    const b = this.buffersFor(k, N, N * V)
    k.softmaxCrossEntropy(N, V, logits, targets, mask, b.losses, gradient ? b.dLogits : null, 1 / n)
    k.sum(N, b.losses, b.total)
  }
}

/** Sigmoid binary cross-entropy on n logits against float targets in [0,1]. */
export class BinaryCrossEntropy extends Loss {
  compute(k: Kernels, n: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null = null, count?: number, gradient = true): void {
    const c = this.count(n, count)
    const b = this.buffersFor(k, n, n)
    k.sigmoidCrossEntropy(n, logits, targets, mask, b.losses, gradient ? b.dLogits : null, 1 / c)
    k.sum(n, b.losses, b.total)
  }
}
