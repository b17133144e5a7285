/**
 * Training a language model on next-token prediction with truncated backpropagation through time.
 *
 * The training tokens are cut into B contiguous streams (stream b holds tokens [b*S, (b+1)*S)).
 * Step k reads the next window of T tokens of every stream, inputs y<t> and targets y<t+1>; the
 * recurrent state is carried from one window to the next, and gradients stop at the window edge.
 * After the last full window the streams start over from a zero state (a new epoch).
 *
 * `trainStepGuarded` applies the numerical guard rails (`guard.ts`): a step whose loss or gradient
 * norm is not finite updates nothing, and its window's final states are not carried on: the next
 * window starts from zeros. `getState` / `setState` hold everything that decides the rest of the
 * run (step, stream position, generator, optimizer moments, carried states, the guard's counters,
 * early stopping's best validation loss and count), so a run resumed from a checkpoint continues
 * bit for bit, and stops where it would have, as if it had never stopped.
 */
import type { State } from '../cells/recurrent.js'
import { defaultTrainConfig } from '../config.js'
import { RecurError } from '../errors.js'
import type { FloatArray } from '../kernels/types.js'
import type { LanguageModel } from '../models/language-model.js'
import { Random } from '../random.js'
import { NanGuard, type NanGuardState, type NanPolicy, type StepResult } from './guard.js'
import type { Optimizer, OptimizerState } from './optimizers.js'
import { SupervisedTrainer, type OptimizationOptions } from './supervised.js'

export interface TrainerOptions extends OptimizationOptions {
  /** B: parallel streams. */
  batch: number
  /** T: window length (truncated BPTT span). */
  seqLength: number
  /** Total training steps (for the schedule and ETA). */
  steps: number
  seed: number
  /** What a non-finite step does in `trainStepGuarded` (`guard.ts`). Default 'skip'. */
  nanPolicy?: NanPolicy
  /** Failed steps in a row that stop a guarded run. Default 5. */
  nanLimit?: number
}

/** B contiguous streams over a token array, read in windows of T. */
export class TokenStreams {
  readonly B: number
  readonly T: number
  /** Windows per epoch. */
  readonly windows: number
  /** Next window to read (0 starts an epoch from a zero state). */
  position = 0
  private readonly data: Int32Array
  private readonly S: number
  private readonly inputs: Int32Array
  private readonly targets: Int32Array

  constructor(ids: Int32Array, B: number, T: number) {
    this.B = B
    this.T = T
    this.S = Math.floor(ids.length / B)
    this.windows = Math.floor((this.S - 1) / T)
    if (this.windows < 1) {
      throw new RecurError(
        'DATA',
        `the training text has ${ids.length} tokens, too few for ${B} streams of at least one window of ${T} (needs ${B * (T + 1)})`,
        'Use a longer corpus, or a smaller --batch or --seq-length',
      )
    }
    this.data = ids
    this.inputs = new Int32Array(T * B)
    this.targets = new Int32Array(T * B)
  }

  /** The next window: inputs and targets (T,B) time-major, and whether the state must reset. */
  next(): { reset: boolean; inputs: Int32Array; targets: Int32Array } {
    const { B, T, S } = this
    const k = this.position
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const i = b * S + k * T + t
        this.inputs[t * B + b] = this.data[i]
        this.targets[t * B + b] = this.data[i + 1]
      }
    }
    this.position = (k + 1) % this.windows
    return { reset: k === 0, inputs: this.inputs, targets: this.targets }
  }
}

/** Everything needed to resume training exactly where it stopped. */
export interface TrainerState {
  step: number
  position: number
  random: number[]
  optimizer: OptimizerState
  /** Carried recurrent states, flattened (h then c per state). */
  carried: Float32Array[]
  /** The numerical guard's counters; absent (fresh counters) in files written before it. */
  guard?: NanGuardState
  /** Early stopping's counters; absent before the first validation, and in files written before them (fresh). */
  earlyStopping?: EarlyStoppingState
}

/** What early stopping carries from one validation to the next. */
export interface EarlyStoppingState {
  /** The lowest validation loss so far (nats). */
  best: number
  /** Validations since `best` last improved. */
  sinceBest: number
}

/**
 * Early stopping on the validation loss (`--patience N`): counts the validations since the loss
 * last improved by more than `minImprovement`. Its state is part of the trainer's, so it survives
 * a checkpoint and --resume.
 */
export class EarlyStopping {
  /** How much lower than the best a loss must be to count as an improvement. */
  static readonly minImprovement = 1e-4
  /** The lowest validation loss so far; Infinity before the first validation. */
  best = Infinity
  /** Validations since `best` last improved. */
  sinceBest = 0

  /** Takes one validation loss; returns true when it improved on the best. */
  observe(valLoss: number): boolean {
    if (valLoss < this.best - EarlyStopping.minImprovement) {
      this.best = valLoss
      this.sinceBest = 0
      return true
    }
    this.sinceBest++
    return false
  }

  /** True when `patience` (> 0) validations in a row have not improved; 0 turns it off. */
  exhausted(patience: number): boolean {
    return patience > 0 && this.sinceBest >= patience
  }

  /** The counters, or undefined before the first validation (Infinity has no JSON form). */
  getState(): EarlyStoppingState | undefined {
    return Number.isFinite(this.best) ? { best: this.best, sinceBest: this.sinceBest } : undefined
  }

  /** Restores counters from `getState`; undefined starts afresh. */
  setState(state: EarlyStoppingState | undefined): void {
    this.best = state?.best ?? Infinity
    this.sinceBest = state?.sinceBest ?? 0
  }
}

/** The weights and the full training state at one step, kept in memory to restore after a divergence. */
export interface LanguageModelSnapshot {
  /** Every parameter value, in the store's layout. */
  values: FloatArray
  state: TrainerState
}

export class LanguageModelTrainer {
  readonly model: LanguageModel
  readonly options: TrainerOptions
  readonly streams: TokenStreams
  readonly random: Random
  /** The optimisation step shared with the task trainers: schedule, clipping, update, guard rails. */
  readonly core: SupervisedTrainer
  /** Early stopping on the validation loss, for the loop that validates (`recur train`). */
  readonly earlyStopping = new EarlyStopping()
  private readonly carried: State[]

  /** Options left out take the defaults of TRAIN_FIELDS (src/config.ts). */
  constructor(model: LanguageModel, trainIds: Int32Array, options: Partial<TrainerOptions> = {}) {
    this.model = model
    const d = defaultTrainConfig()
    this.options = {
      batch: d.batch, seqLength: d.seqLength, steps: d.steps, lr: d.lr, optimizer: d.optimizer, weightDecay: d.weightDecay,
      clip: d.clip, schedule: d.schedule, warmup: d.warmup, seed: d.seed, ...options,
    }
    const o = this.options
    this.streams = new TokenStreams(trainIds, o.batch, o.seqLength)
    this.core = new SupervisedTrainer(model.params, {
      lr: o.lr, optimizer: o.optimizer, weightDecay: o.weightDecay, clip: o.clip, schedule: o.schedule, warmup: o.warmup, steps: o.steps,
      nan: { policy: o.nanPolicy ?? d.nanPolicy, limit: o.nanLimit ?? d.nanLimit },
    })
    this.random = new Random(o.seed)
    this.carried = model.zeroStates(o.batch)
  }

  get optimizer(): Optimizer {
    return this.core.optimizer
  }

  get guard(): NanGuard {
    return this.core.guard
  }

  /** Completed steps (a skipped step counts). */
  get step(): number {
    return this.core.step
  }

  set step(step: number) {
    this.core.step = step
  }

  /** The learning rate of the next step (the schedule's, times the guard's factor). */
  get lr(): number {
    return this.core.lr
  }

  /**
   * One training step: forward a window, loss, backward, clip, update. The loss stays on the
   * backend; `readLoss()` fetches it. No checks: see `trainStepGuarded`.
   */
  trainStep(): void {
    const { model, options: o } = this
    const { reset, inputs, targets } = this.streams.next()
    this.core.train(() => {
      const { finals } = model.forward(o.seqLength, o.batch, inputs, reset ? null : this.carried, this.random)
      model.lossAndBackward(targets)
      model.copyStates(finals, this.carried)
    })
  }

  /**
   * One training step under the numerical guard rails: reads back the loss and the gradient norm
   * and updates only when both are finite. A failed step carries zero states into the next window.
   * The result's verdict says whether the step updated, was skipped, or asks the run to stop.
   */
  async trainStepGuarded(): Promise<StepResult> {
    const { model, options: o } = this
    const { reset, inputs, targets } = this.streams.next()
    let finals: State[] = []
    const result = await this.core.trainGuarded(() => {
      finals = model.forward(o.seqLength, o.batch, inputs, reset ? null : this.carried, this.random).finals
      model.lossAndBackward(targets)
    }, () => this.readLoss())
    if (result.verdict === 'update') model.copyStates(finals, this.carried)
    else this.zeroCarried()
    return result
  }

  /** Mean cross-entropy (nats) of the last step. */
  readLoss(): Promise<number> {
    return this.model.loss.mean(this.model.kernels)
  }

  /** Global gradient norm of the last step, before clipping. */
  readGradNorm(): Promise<number> {
    return this.core.readGradNorm()
  }

  async getState(): Promise<TrainerState> {
    const k = this.model.kernels
    const carried: Float32Array[] = []
    for (const s of this.carried) {
      carried.push(Float32Array.from(await k.read(s.h)))
      if (s.c !== null) carried.push(Float32Array.from(await k.read(s.c)))
    }
    const core = await this.core.getState()
    const earlyStopping = this.earlyStopping.getState()
    return {
      step: core.step, position: this.streams.position, random: this.random.getState(), optimizer: core.optimizer, carried, guard: core.guard,
      ...(earlyStopping === undefined ? {} : { earlyStopping }),
    }
  }

  setState(state: TrainerState): void {
    const k = this.model.kernels
    this.core.setState({ step: state.step, optimizer: state.optimizer, guard: state.guard ?? new NanGuard().getState() })
    this.streams.position = state.position
    this.random.setState(state.random)
    this.earlyStopping.setState(state.earlyStopping)
    let i = 0
    for (const s of this.carried) {
      k.write(s.h, state.carried[i++])
      if (s.c !== null) k.write(s.c, state.carried[i++])
    }
  }

  /** The weights and the full training state now (read back to the host). */
  async snapshot(): Promise<LanguageModelSnapshot> {
    const values = (await this.model.kernels.read(this.model.params.values)).slice()
    return { values, state: await this.getState() }
  }

  /** Puts back the weights and the training state of a snapshot. */
  restore(snapshot: LanguageModelSnapshot): void {
    this.model.kernels.write(this.model.params.values, snapshot.values)
    this.setState(snapshot.state)
  }

  private zeroCarried(): void {
    const k = this.model.kernels
    for (const s of this.carried) {
      k.fill(s.h.length, s.h, 0)
      if (s.c !== null) k.fill(s.c.length, s.c, 0)
    }
  }
}

/**
 * Mean next-token cross-entropy (nats) of a token stream read from a zero state: `streams` parallel
 * streams (1 = the exact definition: one stream over all len-1 predictions), in windows of `window`.
 * No gradients.
 */
export async function evaluateStream(model: LanguageModel, ids: Int32Array, options: { streams?: number; window?: number } = {}): Promise<{ loss: number; predictions: number }> {
  const B = options.streams ?? 1
  const window = options.window ?? 256
  const k = model.kernels
  const S = Math.floor(ids.length / B)
  if (S < 2) throw new RecurError('DATA', `evaluation needs at least ${2 * B} tokens, got ${ids.length}`)
  const states = model.zeroStates(B)
  let total = 0
  let predictions = 0
  for (let start = 0; start < S - 1; start += window) {
    const T = Math.min(window, S - 1 - start)
    const inputs = new Int32Array(T * B)
    const targets = new Int32Array(T * B)
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        inputs[t * B + b] = ids[b * S + start + t]
        targets[t * B + b] = ids[b * S + start + t + 1]
      }
    }
    const { finals } = model.forward(T, B, inputs, start === 0 ? null : states, null)
    model.lossAndBackward(targets, false)
    model.copyStates(finals, states)
    total += (await model.loss.mean(k)) * T * B
    predictions += T * B
  }
  return { loss: total / predictions, predictions }
}
