/**
 * Training a language model on next-token prediction with truncated backpropagation through time.
 *
 * The training tokens are cut into B contiguous streams (stream b holds tokens [b*S, (b+1)*S)).
 * Step k reads the next window of T tokens of every stream, inputs y<t> and targets y<t+1>; the
 * recurrent state is carried from one window to the next, and gradients stop at the window edge.
 * After the last full window the streams start over from a zero state (a new epoch).
 */
import type { State } from '../cells/recurrent.js'
import { defaultTrainConfig } from '../config.js'
import { RecurError } from '../errors.js'
import type { BufferHandle } from '../kernels/types.js'
import type { LanguageModel } from '../models/language-model.js'
import { Random } from '../random.js'
import { Optimizer, clipGradients, scheduledLr, type OptimizerKind, type OptimizerState, type ScheduleKind } from './optimizers.js'

export interface TrainerOptions {
  /** B: parallel streams. */
  batch: number
  /** T: window length (truncated BPTT span). */
  seqLength: number
  /** Total training steps (for the schedule and ETA). */
  steps: number
  lr: number
  optimizer: OptimizerKind
  weightDecay: number
  /** Clip gradients to this global L2 norm; 0 turns it off. */
  clip: number
  schedule: ScheduleKind
  warmup: number
  seed: number
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
}

export class LanguageModelTrainer {
  readonly model: LanguageModel
  readonly options: TrainerOptions
  readonly streams: TokenStreams
  readonly optimizer: Optimizer
  readonly random: Random
  /** Completed steps. */
  step = 0
  private readonly carried: State[]
  private readonly normSq: BufferHandle

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
    this.optimizer = new Optimizer(model.params, { kind: o.optimizer, lr: o.lr, weightDecay: o.weightDecay })
    this.random = new Random(o.seed)
    this.carried = model.zeroStates(o.batch)
    this.normSq = model.kernels.alloc(1)
  }

  /** The learning rate of the next step. */
  get lr(): number {
    const o = this.options
    return scheduledLr(o.lr, this.step + 1, { kind: o.schedule, warmup: o.warmup, total: o.steps })
  }

  /**
   * One training step: forward a window, loss, backward, clip, update. The loss stays on the
   * backend; `readLoss()` fetches it.
   */
  trainStep(): void {
    const { model, options: o } = this
    const k = model.kernels
    const { reset, inputs, targets } = this.streams.next()
    const { finals } = model.forward(o.seqLength, o.batch, inputs, reset ? null : this.carried, this.random)
    model.params.zeroGrads()
    model.lossAndBackward(targets)
    model.copyStates(finals, this.carried)
    if (o.clip > 0) clipGradients(model.params, { maxNorm: o.clip }, this.normSq)
    else k.sumSquares(model.params.size, model.params.grads, this.normSq)
    this.optimizer.update(this.lr)
    this.step++
  }

  /** Mean cross-entropy (nats) of the last step. */
  readLoss(): Promise<number> {
    return this.model.loss.mean(this.model.kernels)
  }

  /** Global gradient norm of the last step, before clipping. */
  async readGradNorm(): Promise<number> {
    const [s] = await this.model.kernels.read(this.normSq)
    return Math.sqrt(s)
  }

  async getState(): Promise<TrainerState> {
    const k = this.model.kernels
    const carried: Float32Array[] = []
    for (const s of this.carried) {
      carried.push(Float32Array.from(await k.read(s.h)))
      if (s.c !== null) carried.push(Float32Array.from(await k.read(s.c)))
    }
    return { step: this.step, position: this.streams.position, random: this.random.getState(), optimizer: await this.optimizer.getState(), carried }
  }

  setState(state: TrainerState): void {
    const k = this.model.kernels
    this.step = state.step
    this.streams.position = state.position
    this.random.setState(state.random)
    this.optimizer.setState(state.optimizer)
    let i = 0
    for (const s of this.carried) {
      k.write(s.h, state.carried[i++])
      if (s.c !== null) k.write(s.c, state.carried[i++])
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
