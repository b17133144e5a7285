/**
 * One optimisation step for any model that computes its own loss and gradients: zero the
 * gradients, run forward + loss + backward, clip by global norm, update. Used by the classifier,
 * tagger and encoder-decoder training loops.
 */
import type { BufferHandle } from '../kernels/types.js'
import type { ParamStore } from '../params.js'
import { Optimizer, clipGradients, scheduledLr, type OptimizerKind, type ScheduleKind } from './optimizers.js'

export interface SupervisedOptions {
  lr: number
  optimizer: OptimizerKind
  weightDecay: number
  /** Clip gradients to this global L2 norm; 0 turns it off. */
  clip: number
  schedule: ScheduleKind
  warmup: number
  /** Total steps, for the schedule. */
  steps: number
}

export class SupervisedTrainer {
  readonly params: ParamStore
  readonly options: SupervisedOptions
  readonly optimizer: Optimizer
  step = 0
  private readonly normSq: BufferHandle

  constructor(params: ParamStore, options: SupervisedOptions) {
    this.params = params
    this.options = { ...options }
    this.optimizer = new Optimizer(params, { kind: options.optimizer, lr: options.lr, weightDecay: options.weightDecay })
    this.normSq = params.kernels.alloc(1)
  }

  get lr(): number {
    const o = this.options
    return scheduledLr(o.lr, this.step + 1, { kind: o.schedule, warmup: o.warmup, total: o.steps })
  }

  /** Zero grads, `forwardBackward()` (which must leave dLoss/dθ in the store), clip, update. */
  train(forwardBackward: () => void): void {
    this.params.zeroGrads()
    forwardBackward()
    if (this.options.clip > 0) clipGradients(this.params, { maxNorm: this.options.clip }, this.normSq)
    this.optimizer.update(this.lr)
    this.step++
  }
}
