/**
 * Optimizers, learning-rate schedules and gradient clipping, each one kernel call over the whole
 * flat parameter store (moments share its layout).
 *
 *   SGD + momentum:  v = μ v + g;  p -= lr * v            (Nesterov: p -= lr * (g + μ v))
 *   Adam:            m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  p -= lr * m̂ / (sqrt(v̂) + ε)
 *   AdamW:           Adam, plus p -= lr * λ p (decoupled weight decay)
 */
import { RecurError, expectOneOf } from '../errors.js'
import type { BufferHandle, Kernels } from '../kernels/types.js'
import type { ParamStore } from '../params.js'

export type OptimizerKind = 'sgd' | 'adam' | 'adamw'

export interface OptimizerOptions {
  kind: OptimizerKind
  /** Base learning rate (before the schedule). */
  lr: number
  /** SGD momentum μ. Default 0.9 for 'sgd'. */
  momentum?: number
  nesterov?: boolean
  beta1?: number
  beta2?: number
  eps?: number
  /** L2 (sgd, adam) or decoupled (adamw) weight decay. Default 0 (0.01 for adamw). */
  weightDecay?: number
}

/** The optimizer's state, for checkpoints: the step count and the moment buffers' contents. */
export interface OptimizerState {
  step: number
  moments: Float32Array[]
}

export class Optimizer {
  readonly options: Required<OptimizerOptions>
  readonly store: ParamStore
  /** Completed steps (Adam's bias correction uses step + 1). */
  step = 0
  private readonly moments: BufferHandle[]

  constructor(store: ParamStore, options: OptimizerOptions) {
    if (!(options.lr > 0) || !Number.isFinite(options.lr)) throw new RecurError('RANGE', `optimizer: lr must be a positive number, got ${options.lr}`)
    expectOneOf('optimizer: kind', options.kind, ['sgd', 'adam', 'adamw'])
    const unit = (name: string, v: number | undefined) => {
      if (v !== undefined && !(v >= 0 && v < 1)) throw new RecurError('RANGE', `optimizer: ${name} must be in [0, 1), got ${v}`)
    }
    unit('beta1', options.beta1)
    unit('beta2', options.beta2)
    unit('momentum', options.momentum)
    if (options.eps !== undefined && !(options.eps > 0)) throw new RecurError('RANGE', `optimizer: eps must be > 0, got ${options.eps}`)
    if (options.weightDecay !== undefined && !(options.weightDecay >= 0)) throw new RecurError('RANGE', `optimizer: weightDecay must be >= 0, got ${options.weightDecay}`)
    this.store = store
    this.options = {
      momentum: options.kind === 'sgd' ? 0.9 : 0,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: options.kind === 'adamw' ? 0.01 : 0,
      ...options,
    }
    const count = options.kind === 'sgd' ? 1 : 2
    this.moments = Array.from({ length: count }, () => store.allocLike())
  }

  /** p -= update(g) with learning rate `lr` (the scheduled one; defaults to the base lr). */
  update(lr = this.options.lr): void {
    const k = this.store.kernels, o = this.options, n = this.store.size
    const { values: p, grads: g } = this.store
    this.step++
    if (o.kind === 'sgd') {
      k.sgdStep(n, p, g, this.moments[0], { lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov })
    } else {
      k.adamStep(n, p, g, this.moments[0], this.moments[1], {
        lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, decoupled: o.kind === 'adamw', step: this.step,
      })
    }
  }

  async getState(): Promise<OptimizerState> {
    const k = this.store.kernels
    const moments = await Promise.all(this.moments.map(async (m) => Float32Array.from(await k.read(m))))
    return { step: this.step, moments }
  }

  setState(state: OptimizerState): void {
    if (state.moments.length !== this.moments.length) {
      throw new RecurError('FORMAT', `optimizer state has ${state.moments.length} moment buffers, '${this.options.kind}' needs ${this.moments.length}`)
    }
    state.moments.forEach((m, i) => this.store.kernels.write(this.moments[i], m))
    this.step = state.step
  }
}

export type ScheduleKind = 'constant' | 'step' | 'cosine'

export interface ScheduleOptions {
  kind: ScheduleKind
  /** Linear warm-up from 0 over this many steps. Default 0. */
  warmup?: number
  /** 'step': multiply by `gamma` every `every` steps. */
  every?: number
  gamma?: number
  /** 'cosine': total steps of the decay, and the floor as a fraction of the base lr. */
  total?: number
  minFactor?: number
}

/** The learning rate at 1-based `step` for a base rate and a schedule. */
export function scheduledLr(base: number, step: number, s: ScheduleOptions): number {
  const warmup = s.warmup ?? 0
  if (step <= warmup) return (base * step) / warmup
  // Steps completed since the warm-up: 0 at the first step after it, as in PyTorch's schedulers.
  const t = step - warmup - 1
  switch (s.kind) {
    case 'constant':
      return base
    case 'step':
      return base * Math.pow(s.gamma ?? 0.1, Math.floor(t / (s.every ?? 1000)))
    case 'cosine': {
      const span = Math.max(1, (s.total ?? 1) - warmup)
      const floor = s.minFactor ?? 0
      const progress = Math.min(1, t / span)
      return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)))
    }
    default:
      throw new RecurError('OPTION', `unknown learning-rate schedule '${String(s.kind)}'`, 'Use constant, step or cosine')
  }
}

export interface ClipOptions {
  /** Rescale all gradients together so their global L2 norm is at most this. */
  maxNorm?: number
  /** Clamp every gradient element to [-value, value]. */
  value?: number
}

/**
 * Clips the store's gradients in place, by global norm and/or by value. Writes the squared global
 * norm before clipping into `sumSq` (read it back to log the norm or detect NaN).
 */
export function clipGradients(store: ParamStore, options: ClipOptions, sumSq: BufferHandle): void {
  const k = store.kernels
  k.sumSquares(store.size, store.grads, sumSq)
  if (options.maxNorm !== undefined) k.clipByNorm(store.size, store.grads, sumSq, options.maxNorm)
  if (options.value !== undefined) k.clipByValue(store.size, store.grads, options.value)
}
