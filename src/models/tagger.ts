/**
 * Many-to-many with Tx = Ty: a sequence tagger (names in a sentence, BIO entity tags).
 *
 *   ids (T,B) -> token encoder (bidirectional by default: a tag depends on the words after it)
 *             -> dense layers at every step -> logits (T,B,K)
 *             -> softmax over K tags, or (K = 1) a sigmoid with the course note's per-step binary
 *                cross-entropy L = -Σt y<t> log ŷ<t> + (1 - y<t>) log(1 - ŷ<t>)
 * Both losses are means over the real (unmasked) steps of the batch.
 */
import { RecurError, expectInt } from '../errors.js'
import type { Activation, BufferHandle, Kernels } from '../kernels/types.js'
import { TokenEncoder, type EncoderArchitecture } from '../layers/token-encoder.js'
import { ParamBuilder, type ParamStore } from '../params.js'
import { Random } from '../random.js'
import { BatchBuffers, DenseHead, OutputLoss, checkBatch, type PaddedBatch } from './heads.js'

export interface TaggerArchitecture extends EncoderArchitecture {
  /** K: number of tags (softmax), or 1 for a binary tag (sigmoid). */
  tags: number
  output: 'softmax' | 'sigmoid'
  dense: number[]
  activation: Activation
}

export class SequenceTagger {
  readonly architecture: TaggerArchitecture
  readonly kernels: Kernels
  readonly encoder: TokenEncoder
  readonly head: DenseHead
  readonly params: ParamStore
  readonly loss: OutputLoss
  private readonly buffers = new BatchBuffers()
  private last: { batch: PaddedBatch; mask: BufferHandle; logits: BufferHandle; count: number } | null = null

  constructor(kernels: Kernels, architecture: TaggerArchitecture, seed = 1) {
    const a = architecture
    expectInt('tagger: tags', a.tags, 1)
    if (a.output === 'sigmoid' && a.tags !== 1) throw new RecurError('RANGE', `tagger: a sigmoid output is one binary tag (tags = 1), got ${a.tags}`, "Use output 'softmax' for several tags")
    if (a.output === 'softmax' && a.tags < 2) throw new RecurError('RANGE', `tagger: a softmax output needs at least 2 tags, got ${a.tags}`)
    this.architecture = { ...a, dense: [...a.dense] }
    this.kernels = kernels
    const params = new ParamBuilder()
    this.encoder = new TokenEncoder(params, 'encoder', a)
    this.head = new DenseHead(params, 'head', this.encoder.outputSize, a.dense, a.activation, a.tags)
    this.params = params.build(kernels, new Random(seed))
    this.loss = new OutputLoss(a.output, a.tags)
  }

  /** Forward a padded batch; returns logits (T*B, K) on the backend. */
  forward(batch: PaddedBatch, random: Random | null = null): BufferHandle {
    checkBatch('tagger input', batch, this.architecture.vocabularySize)
    const k = this.kernels, { T, B } = batch
    const buf = this.buffers.get(k, T, B)
    k.write(buf.ids, batch.ids)
    k.write(buf.mask, batch.mask)
    const { ys } = this.encoder.forward(k, T, B, buf.ids, buf.mask, null, random)
    const logits = this.head.forward(k, T * B, ys)
    let count = 0
    for (const m of batch.mask) count += m
    this.last = { batch, mask: buf.mask, logits, count }
    return logits
  }

  /**
   * Mean per-step loss against tags (T*B, time-major): tag ids for softmax, 0/1 for sigmoid;
   * padded steps are ignored (their targets may be anything in range). Backpropagates when asked.
   */
  lossAndBackward(targets: ArrayLike<number>, gradient = true): void {
    if (this.last === null) throw new RecurError('STATE', 'tagger: loss requested before forward')
    const k = this.kernels, a = this.architecture, { T, B } = this.last.batch
    if (targets.length !== T * B) throw new RecurError('SHAPE', `tagger targets: expected ${T * B} tags (T*B), got ${targets.length}`)
    const buf = this.buffers.get(k, T, B)
    for (let i = 0; i < targets.length; i++) {
      const bad = a.output === 'softmax' ? !Number.isInteger(targets[i]) || targets[i] < 0 || targets[i] >= a.tags : !(targets[i] >= 0 && targets[i] <= 1)
      if (bad) throw new RecurError('RANGE', `tagger target ${targets[i]} at position ${i} is not ${a.output === 'softmax' ? `a tag id in [0, ${a.tags})` : 'in [0, 1]'}`)
    }
    const targetBuf = a.output === 'softmax' ? buf.targets : buf.floatTargets
    k.write(targetBuf, targets)
    const dLogits = this.loss.compute(k, T * B, this.last.logits, targetBuf, this.last.mask, this.last.count, gradient)
    if (!gradient) return
    const dys = this.head.backward(k, dLogits)
    this.encoder.backward(k, dys, null)
  }

  /** Per-step probabilities of the last forward: (T*B, K) softmax rows, or (T*B) sigmoids. */
  async probabilities(): Promise<Float32Array> {
    if (this.last === null) throw new RecurError('STATE', 'tagger: probabilities requested before forward')
    const k = this.kernels, { T, B } = this.last.batch, K = this.architecture.tags
    const probs = k.alloc(T * B * K)
    if (this.architecture.output === 'softmax') k.softmax(T * B, K, this.last.logits, probs, 1)
    else k.activation('sigmoid', T * B, this.last.logits, probs)
    return Float32Array.from(await k.read(probs))
  }
}
