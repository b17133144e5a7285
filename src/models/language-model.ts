/**
 * A language model: P(y<t> | y<1..t-1>) for every position of a token stream.
 *
 *   ids (T,B) -> [embedding (T,B,E) | one-hot lookup into the first layer's gates]
 *             -> stacked RNN / GRU / LSTM (T,B,H) -> dense (T,B,V) -> softmax over the vocabulary
 *
 * Input: with `embedding: 0` (the default at character level) token ids select rows of the first
 * layer's input weights directly: the product of a one-hot vector with W_ih, with no one-hot vector
 * ever built. With `embedding: E > 0` (the default at word level), an embedding table (V,E) feeds the
 * first layer. Cost per token: the output layer is a (H x V) product, 2*H*V flops forward and twice
 * that backward, so at V = 10^6 and H = 512 it dominates everything else (about 3 GFLOP per token);
 * keep word vocabularies to what the task needs.
 *
 * Unidirectional only: next-token prediction may not look at the tokens it predicts.
 */
import type { CellKind, State } from '../cells/recurrent.js'
import { RecurError, expectInt, expectOneOf } from '../errors.js'
import type { BufferHandle, GruReset, Kernels } from '../kernels/types.js'
import { Dense } from '../layers/dense.js'
import type { Embedding } from '../layers/embedding.js'
import type { StackedRecurrent } from '../layers/recurrent.js'
import { TokenEncoder } from '../layers/token-encoder.js'
import { INIT_SCHEMES, ParamBuilder, type InitScheme, type ParamStore } from '../params.js'
import { Random } from '../random.js'
import { SoftmaxCrossEntropy } from '../train/losses.js'

/** The architecture of a language model. Everything a model file needs to rebuild it. */
export interface LanguageModelArchitecture {
  cell: CellKind
  layers: number
  hidden: number
  /** V, including the special tokens. */
  vocabularySize: number
  /** E: embedding width, or 0 for one-hot input (a lookup into the first layer's weights). */
  embedding: number
  /** Dropout between recurrent layers while training. */
  dropout: number
  /** GRU only. */
  reset: GruReset
  /** LSTM only. */
  peephole: boolean
}

/** The recurrent cells a language model can use, and G, their gate count. */
export const CELL_GATES: Readonly<Record<CellKind, number>> = { rnn: 1, gru: 3, lstm: 4 }
const CELL_KINDS = Object.keys(CELL_GATES) as readonly string[]

export const defaultArchitecture = (vocabularySize: number): LanguageModelArchitecture => ({
  cell: 'lstm', layers: 2, hidden: 128, vocabularySize, embedding: 0, dropout: 0, reset: 'after', peephole: false,
})

/** How a new language model starts; not part of the architecture (loaded weights replace it). */
export interface LanguageModelInitOptions {
  /** How the parameters start (see `InitScheme` in src/params.ts). Default 'glorot'. */
  init?: InitScheme
}

/** Per-(T,B) buffers of the model: the token ids in and targets, uploaded from host arrays. */
interface Batch {
  ids: BufferHandle
  targets: BufferHandle
}

export class LanguageModel {
  readonly architecture: LanguageModelArchitecture
  readonly kernels: Kernels
  readonly params: ParamStore
  /** Embedding (or one-hot lookup) and the recurrent stack. */
  readonly encoder: TokenEncoder
  readonly output: Dense
  readonly loss = new SoftmaxCrossEntropy()
  private readonly batches = new Map<string, Batch>()
  private last: { T: number; B: number; logits: BufferHandle } | null = null

  /** A new model with parameters drawn from `seed` under `options.init` (default 'glorot'). */
  constructor(kernels: Kernels, architecture: LanguageModelArchitecture, seed = 1, options: LanguageModelInitOptions = {}) {
    const a = architecture
    const init = options.init ?? 'glorot'
    expectInt('language model: vocabularySize', a.vocabularySize, 2)
    expectInt('language model: hidden', a.hidden, 1)
    expectInt('language model: layers', a.layers, 1)
    expectInt('language model: embedding', a.embedding, 0)
    if (!CELL_KINDS.includes(a.cell)) throw new RecurError('OPTION', `language model: cell must be one of ${CELL_KINDS.join(', ')}, got ${JSON.stringify(a.cell)}`)
    if (a.reset !== 'after' && a.reset !== 'before') throw new RecurError('OPTION', `language model: reset must be 'after' or 'before', got ${JSON.stringify(a.reset)}`)
    if (typeof a.peephole !== 'boolean') throw new RecurError('OPTION', `language model: peephole must be true or false, got ${JSON.stringify(a.peephole)}`)
    expectOneOf('language model: init', init, INIT_SCHEMES)
    this.architecture = { ...a }
    this.kernels = kernels
    const params = new ParamBuilder()
    this.encoder = new TokenEncoder(params, { embedding: 'embedding', stack: 'rnn' }, { ...a, bidirectional: false, merge: 'concat' }, init)
    this.output = new Dense(params, 'out', a.hidden, a.vocabularySize, 'identity', init)
    this.params = params.build(kernels, new Random(seed))
  }

  get embedding(): Embedding | null {
    return this.encoder.embedding
  }

  get rnn(): StackedRecurrent {
    return this.encoder.stack
  }

  get vocabularySize(): number {
    return this.architecture.vocabularySize
  }

  /** Zero recurrent states for a batch of B streams. */
  zeroStates(B: number): State[] {
    return this.rnn.zeroStates(this.kernels, B)
  }

  /** Copies states (e.g. the views returned by forward) into `into`. */
  copyStates(from: readonly State[], into: readonly State[]): void {
    const k = this.kernels
    from.forEach((s, i) => {
      k.copy(1, s.h.length, s.h, 0, into[i].h, 0)
      if (s.c !== null && into[i].c !== null) k.copy(1, s.c.length, s.c, 0, into[i].c!, 0)
    })
  }

  private batch(T: number, B: number): Batch {
    const key = `${T}x${B}`
    let b = this.batches.get(key)
    if (b === undefined) {
      b = { ids: this.kernels.alloc(T * B, 'i32'), targets: this.kernels.alloc(T * B, 'i32') }
      this.batches.set(key, b)
    }
    return b
  }

  private checkIds(what: string, ids: ArrayLike<number>, n: number): void {
    if (ids.length !== n) throw new RecurError('SHAPE', `${what}: expected ${n} token ids (T*B), got ${ids.length}`)
    const V = this.vocabularySize
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new RecurError('RANGE', `${what}: token id ${id} at position ${i} is outside the vocabulary [0, ${V})`)
      }
    }
  }

  /**
   * Runs the model on ids (T,B) (time-major: ids[t*B + b]) from `states` (or zeros).
   * Returns logits (T*B, V) and the final states (views, valid until the next forward at this shape).
   * `random` turns dropout on (training).
   */
  forward(T: number, B: number, ids: ArrayLike<number>, states: readonly State[] | null, random: Random | null = null): { logits: BufferHandle; finals: State[] } {
    this.checkIds('language model input', ids, T * B)
    const k = this.kernels
    const batch = this.batch(T, B)
    k.write(batch.ids, ids)
    const { ys, finals } = this.encoder.forward(k, T, B, batch.ids, null, states, random)
    const logits = this.output.forward(k, T * B, ys)
    this.last = { T, B, logits }
    return { logits, finals }
  }

  /**
   * Mean cross-entropy of the last forward's logits against targets (T,B), and, with `gradient`,
   * backpropagation of it into the parameter gradients (+=). Gradients stop at the initial states
   * (truncated BPTT). The loss stays on the backend: read it with `await model.loss.mean(k)`.
   */
  lossAndBackward(targets: ArrayLike<number>, gradient = true): void {
    if (this.last === null) throw new RecurError('STATE', 'language model: loss requested before forward')
    const { T, B, logits } = this.last
    this.checkIds('language model targets', targets, T * B)
    const k = this.kernels
    const batch = this.batch(T, B)
    k.write(batch.targets, targets)
    const N = T * B
    this.loss.compute(k, N, this.vocabularySize, logits, batch.targets, null, N, gradient)
    if (!gradient) return
    const dys = this.output.backward(k, this.loss.dLogits)
    this.encoder.backward(k, dys, null)
  }
}
