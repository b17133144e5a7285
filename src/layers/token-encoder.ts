/**
 * Tokens in, recurrent states out: an embedding (or a one-hot lookup into the first layer's
 * gates) followed by a stack of recurrent layers. The language model, the classifier, the tagger
 * and both halves of the encoder-decoder are built on it.
 *
 *   ids (T,B) -> [embedding (T,B,E) | one-hot lookup] -> stacked recurrent layers -> ys (T,B,D*H or H)
 */
import type { CellKind, State } from '../cells/recurrent.js'
import type { BufferHandle, GruReset, Kernels } from '../kernels/types.js'
import type { InitScheme, ParamBuilder } from '../params.js'
import type { Random } from '../random.js'
import { Embedding } from './embedding.js'
import { StackedRecurrent, type Merge } from './recurrent.js'

/** The architecture of a token encoder: everything needed to rebuild it. */
export interface EncoderArchitecture {
  cell: CellKind
  layers: number
  hidden: number
  /** V of the input tokens. */
  vocabularySize: number
  /** E: embedding width, or 0 for one-hot input (a lookup into the first layer's weights). */
  embedding: number
  bidirectional: boolean
  merge: Merge
  dropout: number
  reset: GruReset
  peephole: boolean
}

export class TokenEncoder {
  readonly architecture: EncoderArchitecture
  readonly embedding: Embedding | null
  readonly stack: StackedRecurrent

  /**
   * `name` prefixes the parameters: `${name}.embedding.weight`, `${name}.l0.weight_ih`, ... Pass
   * `{ embedding, stack }` to name the two parts separately (the language model uses
   * `embedding.weight` and `rnn.l0.*`, PyTorch's names). `init` picks how the recurrent layers'
   * parameters start (see `InitScheme`; the embedding table's init does not depend on it).
   */
  constructor(params: ParamBuilder, name: string | { embedding: string; stack: string }, a: EncoderArchitecture, init: InitScheme = 'glorot') {
    const names = typeof name === 'string' ? { embedding: `${name}.embedding`, stack: name } : name
    this.architecture = { ...a }
    this.embedding = a.embedding > 0 ? new Embedding(params, names.embedding, a.vocabularySize, a.embedding) : null
    this.stack = new StackedRecurrent(params, names.stack, {
      kind: a.cell,
      inputSize: a.embedding > 0 ? a.embedding : a.vocabularySize,
      input: a.embedding > 0 ? 'dense' : 'lookup',
      hiddenSize: a.hidden,
      layers: a.layers,
      bidirectional: a.bidirectional,
      merge: a.merge,
      dropout: a.dropout,
      reset: a.reset,
      peephole: a.peephole,
      init,
    })
  }

  /** Width of ys: D*H for a concatenating bidirectional encoder, else H. */
  get outputSize(): number {
    return this.stack.outputSize
  }

  /** ids (T,B) i32 on the backend -> ys (T,B,outputSize) and final states (layer*D + direction). */
  forward(k: Kernels, T: number, B: number, ids: BufferHandle, mask: BufferHandle | null, init: readonly State[] | null, random: Random | null): { ys: BufferHandle; finals: State[] } {
    const x = this.embedding === null ? ids : this.embedding.forward(k, T * B, ids)
    return this.stack.forward(k, T, B, x, init, random, mask)
  }

  /** Backpropagates dys (or null) and the final states' gradients (or null); returns the initial states' gradients. */
  backward(k: Kernels, dys: BufferHandle | null, dFinals: readonly State[] | null): State[] {
    const { dxs, dInits } = this.stack.backward(k, dys, dFinals)
    if (this.embedding !== null) this.embedding.backward(k, dxs!)
    return dInits
  }
}
