/**
 * One optimisation step for any model that computes its own loss and gradients: zero the
 * gradients, run forward + loss + backward, clip by global norm, update. Used by the language-model
 * trainer and by the classifier, tagger and encoder-decoder training loops, so the numerical guard
 * rails (`guard.ts`) and the training state of a checkpoint are the same code for all of them.
 *
 * Two ways to take a step:
 * - `train(forwardBackward)`: synchronous, reads nothing back (benchmarks, the demo page).
 * - `trainGuarded(forwardBackward, readLoss)`: reads back the loss and Σg², and updates only when
 *   both are finite; otherwise the `NanGuard` skips the step (lowering the learning rate) or says
 *   stop. Same kernel calls in the same order as `train`, so a run without failures is bit for
 *   bit the run `train` would give. With clipping on, a gradient whose Σg² overflows f32 while
 *   every element is finite is measured again at a smaller scale and clipped, not skipped.
 */
import type { BufferHandle, FloatArray } from '../kernels/types.js'
import type { ParamStore } from '../params.js'
import { NanGuard, type NanGuardOptions, type NanGuardState, type StepResult } from './guard.js'
import { Optimizer, clipGradients, scheduledLr, type OptimizerKind, type OptimizerState, type ScheduleKind } from './optimizers.js'

/** 2^-64: the factor that brings an overflowing gradient norm back into f32 range. */
const HUGE_GRADIENT_SCALE = 2 ** -64

/** How a step updates the weights: the optimizer, its learning-rate schedule and gradient clipping. */
export interface OptimizationOptions {
  lr: number
  optimizer: OptimizerKind
  weightDecay: number
  /** Clip gradients to this global L2 norm; 0 turns it off. */
  clip: number
  schedule: ScheduleKind
  warmup: number
}

export interface SupervisedOptions extends OptimizationOptions {
  /** Total steps, for the schedule. */
  steps: number
  /** What a non-finite step does (`guard.ts`); default: skip it, and stop after 5 in a row. */
  nan?: Partial<NanGuardOptions>
}

/** The optimisation state that a checkpoint stores and a resumed run restores. */
export interface SupervisedState {
  step: number
  optimizer: OptimizerState
  guard: NanGuardState
}

/** Weights and optimisation state at one step, kept in memory to restore after a divergence. */
export interface TrainingSnapshot {
  /** Every parameter value, in the store's layout. */
  values: FloatArray
  state: SupervisedState
}

export class SupervisedTrainer {
  readonly params: ParamStore
  readonly options: SupervisedOptions
  readonly optimizer: Optimizer
  readonly guard: NanGuard
  /** Completed (attempted) steps: a skipped step counts. */
  step = 0
  private readonly normSq: BufferHandle
  /** The gradient norm is sqrt(normSq) times this: 1, or 2^64 after `rescaleHugeGradients`. */
  private normScale = 1

  constructor(params: ParamStore, options: SupervisedOptions) {
    this.params = params
    this.options = { ...options }
    this.optimizer = new Optimizer(params, { kind: options.optimizer, lr: options.lr, weightDecay: options.weightDecay })
    this.guard = new NanGuard(options.nan ?? {})
    this.normSq = params.kernels.alloc(1)
  }

  /** The learning rate of the next step: the schedule's, times the guard's factor. */
  get lr(): number {
    const o = this.options
    return scheduledLr(o.lr, this.step + 1, { kind: o.schedule, warmup: o.warmup, total: o.steps }) * this.guard.lrScale
  }

  /** Zero grads, `forwardBackward()` (which must leave dLoss/dθ in the store), clip, update. */
  train(forwardBackward: () => void): void {
    this.params.zeroGrads()
    forwardBackward()
    this.normScale = 1
    if (this.options.clip > 0) clipGradients(this.params, { maxNorm: this.options.clip }, this.normSq)
    else this.params.kernels.sumSquares(this.params.size, this.params.grads, this.normSq)
    this.optimizer.update(this.lr)
    this.step++
  }

  /**
   * `train`, guarded: after forward and backward, reads back the loss (`readLoss`) and Σg², and
   * clips and updates only when both are finite. A skipped or stopping step changes no weight and
   * no optimizer moment; it still counts as a step.
   */
  async trainGuarded(forwardBackward: () => void, readLoss: () => Promise<number>): Promise<StepResult> {
    const k = this.params.kernels
    const n = this.params.size
    this.params.zeroGrads()
    forwardBackward()
    this.normScale = 1
    k.sumSquares(n, this.params.grads, this.normSq)
    const loss = await readLoss()
    let gradNorm = await this.readGradNorm()
    if (gradNorm === Infinity && this.options.clip > 0 && Number.isFinite(loss)) gradNorm = await this.rescaleHugeGradients()
    const lr = this.lr
    const verdict = this.guard.judge(loss, gradNorm)
    if (verdict === 'update') {
      if (this.options.clip > 0) k.clipByNorm(n, this.params.grads, this.normSq, this.options.clip)
      this.optimizer.update(lr)
    }
    this.step++
    return { step: this.step, loss, gradNorm, lr, verdict }
  }

  /** Global gradient norm of the last step, before clipping. */
  async readGradNorm(): Promise<number> {
    const [s] = await this.params.kernels.read(this.normSq)
    return Math.sqrt(s!) * this.normScale
  }

  /**
   * Σg² overflowed (a norm above about 1.8e19 in f32) although the loss is finite: an exploding
   * gradient that clipping can still tame. The gradients are scaled by 2^-64 (exact: a power of
   * two) and measured again; clipping the scaled gradients by their norm gives the clipped
   * gradients of the true norm. Returns the true norm: still Infinity (or NaN) when an element is.
   */
  private async rescaleHugeGradients(): Promise<number> {
    const k = this.params.kernels
    k.scale(this.params.size, this.params.grads, HUGE_GRADIENT_SCALE)
    k.sumSquares(this.params.size, this.params.grads, this.normSq)
    this.normScale = 1 / HUGE_GRADIENT_SCALE
    return this.readGradNorm()
  }

  async getState(): Promise<SupervisedState> {
    return { step: this.step, optimizer: await this.optimizer.getState(), guard: this.guard.getState() }
  }

  setState(state: SupervisedState): void {
    this.optimizer.setState(state.optimizer)
    this.guard.setState(state.guard)
    this.step = state.step
  }

  /** The weights and optimisation state now (read back to the host). */
  async snapshot(): Promise<TrainingSnapshot> {
    const values = (await this.params.kernels.read(this.params.values)).slice()
    return { values, state: await this.getState() }
  }

  /** Puts back the weights and optimisation state of a snapshot. */
  restore(snapshot: TrainingSnapshot): void {
    this.params.kernels.write(this.params.values, snapshot.values)
    this.setState(snapshot.state)
  }
}
