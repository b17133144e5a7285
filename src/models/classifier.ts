/**
 * Many-to-one: a sequence classifier (review rating, spam or not).
 *
 *   ids (T,B) -> token encoder (RNN / GRU / LSTM, optionally bidirectional and stacked)
 *             -> pooled (B, D*H): the final states of the top layer (→a<Tx> and ←a<1>, each at the
 *                sequence's own last real step thanks to the padding mask), or the mean or max of
 *                the top layer's outputs over the real steps
 *             -> dense layers -> logits (B,K) -> softmax over K classes, or K sigmoids
 *                (K = 1: binary; K > 1 with sigmoid: multi-label)
 */
import type { State } from '../cells/recurrent.js'
import { RecurError, expectInt } from '../errors.js'
import type { Activation, BufferHandle, Kernels, Pooling } from '../kernels/types.js'
import { TokenEncoder, type EncoderArchitecture } from '../layers/token-encoder.js'
import { ParamBuilder, type ParamStore } from '../params.js'
import { Random } from '../random.js'
import { BatchBuffers, DenseHead, OutputLoss, checkBatch, type PaddedBatch } from './heads.js'

export interface ClassifierArchitecture extends EncoderArchitecture {
  /** K: number of classes (softmax) or of independent labels (sigmoid). */
  classes: number
  output: 'softmax' | 'sigmoid'
  pooling: 'final' | Pooling
  /** Widths of the hidden dense layers between the pooled encoding and the output. */
  dense: number[]
  activation: Activation
}

export class SequenceClassifier {
  readonly architecture: ClassifierArchitecture
  readonly kernels: Kernels
  readonly encoder: TokenEncoder
  readonly head: DenseHead
  readonly params: ParamStore
  readonly loss: OutputLoss
  private readonly buffers = new BatchBuffers()
  private readonly pooled = new Map<number, { pooled: BufferHandle; dPooled: BufferHandle; argmax: BufferHandle; dys: BufferHandle | null; dFinals: State[] }>()
  private last: { batch: PaddedBatch; mask: BufferHandle; logits: BufferHandle; ys: BufferHandle } | null = null

  constructor(kernels: Kernels, architecture: ClassifierArchitecture, seed = 1) {
    const a = architecture
    expectInt('classifier: classes', a.classes, 1)
    if (a.output === 'softmax' && a.classes < 2) throw new RecurError('RANGE', `classifier: a softmax output needs at least 2 classes, got ${a.classes}`, "Use output 'sigmoid' for a single binary label")
    this.architecture = { ...a, dense: [...a.dense] }
    this.kernels = kernels
    const params = new ParamBuilder()
    this.encoder = new TokenEncoder(params, 'encoder', a)
    this.head = new DenseHead(params, 'head', this.pooledSize, a.dense, a.activation, a.classes)
    this.params = params.build(kernels, new Random(seed))
    this.loss = new OutputLoss(a.output, a.classes)
  }

  /** Width of the pooled encoding: D*H (final states of both directions, or concatenated outputs). */
  get pooledSize(): number {
    const a = this.architecture
    return a.pooling === 'final' ? (a.bidirectional ? 2 : 1) * a.hidden : this.encoder.outputSize
  }

  private poolBuffers(B: number, T: number) {
    const key = B * 100003 + T
    let p = this.pooled.get(key)
    if (p === undefined) {
      const k = this.kernels, a = this.architecture, P = this.pooledSize
      const zeroStates = this.encoder.stack.zeroStates(k, B)
      p = {
        pooled: k.alloc(B * P), dPooled: k.alloc(B * P), argmax: k.alloc(B * P, 'i32'),
        dys: a.pooling === 'final' ? null : k.alloc(T * B * this.encoder.outputSize),
        dFinals: zeroStates, // lower layers get zero gradients; the top layer's are written per batch
      }
      this.pooled.set(key, p)
    }
    return p
  }

  /** Forward a padded batch; returns logits (B,K) on the backend. `random` turns dropout on. */
  forward(batch: PaddedBatch, random: Random | null = null): BufferHandle {
    checkBatch('classifier input', batch, this.architecture.vocabularySize)
    const k = this.kernels, { T, B } = batch, a = this.architecture, H = a.hidden
    const buf = this.buffers.get(k, T, B, a.classes)
    k.write(buf.ids, batch.ids)
    k.write(buf.mask, batch.mask)
    const { ys, finals } = this.encoder.forward(k, T, B, buf.ids, buf.mask, null, random)
    const p = this.poolBuffers(B, T)
    if (a.pooling === 'final') {
      // pooled = [→a<last>, ←a<1>] of the top layer: each direction's final state in its column block.
      const D = a.bidirectional ? 2 : 1
      const top = finals.slice(finals.length - D)
      top.forEach((s, d) => k.copy(B, H, s.h, H, k.view(p.pooled, d * H, B * D * H - d * H), D * H))
    } else {
      k.poolForward(a.pooling, T, B, this.encoder.outputSize, ys, buf.mask, p.pooled, p.argmax)
    }
    const logits = this.head.forward(k, B, p.pooled)
    this.last = { batch, mask: buf.mask, logits, ys }
    return logits
  }

  /**
   * Mean loss of the last forward against targets: class ids (B) for softmax, or B*K values in
   * {0,1} for sigmoid; with `gradient`, backpropagates into the parameter gradients (+=).
   */
  lossAndBackward(targets: ArrayLike<number>, gradient = true): void {
    if (this.last === null) throw new RecurError('STATE', 'classifier: loss requested before forward')
    const k = this.kernels, a = this.architecture, { T, B } = this.last.batch, H = a.hidden
    const buf = this.buffers.get(k, T, B, a.classes)
    let targetBuf: BufferHandle
    if (a.output === 'softmax') {
      if (targets.length !== B) throw new RecurError('SHAPE', `classifier targets: expected ${B} class ids, got ${targets.length}`)
      for (let i = 0; i < B; i++) {
        if (!Number.isInteger(targets[i]) || targets[i] < 0 || targets[i] >= a.classes) throw new RecurError('RANGE', `classifier target ${targets[i]} is not a class id in [0, ${a.classes})`)
      }
      targetBuf = k.view(buf.targets, 0, B)
      k.write(targetBuf, targets)
    } else {
      if (targets.length !== B * a.classes) throw new RecurError('SHAPE', `classifier targets: expected ${B * a.classes} values (B*K), got ${targets.length}`)
      targetBuf = k.view(buf.floatTargets, 0, B * a.classes)
      k.write(targetBuf, targets)
    }
    const dLogits = this.loss.compute(k, B, this.last.logits, targetBuf, null, B, gradient)
    if (!gradient) return
    const p = this.poolBuffers(B, T)
    const dPooled = this.head.backward(k, dLogits)
    if (a.pooling === 'final') {
      const D = a.bidirectional ? 2 : 1
      const top = p.dFinals.slice(p.dFinals.length - D)
      top.forEach((s, d) => k.copy(B, H, k.view(dPooled, d * H, B * D * H - d * H), D * H, s.h, H))
      this.encoder.backward(k, null, p.dFinals)
    } else {
      k.poolBackward(a.pooling, T, B, this.encoder.outputSize, dPooled, this.last.mask, p.argmax, p.dys!)
      this.encoder.backward(k, p.dys, null)
    }
  }

  /** Probabilities of the last forward: softmax rows (B,K) or sigmoids (B*K), read back. */
  async probabilities(): Promise<Float32Array> {
    if (this.last === null) throw new RecurError('STATE', 'classifier: probabilities requested before forward')
    const k = this.kernels, { B } = this.last.batch, K = this.architecture.classes
    const probs = k.alloc(B * K)
    if (this.architecture.output === 'softmax') k.softmax(B, K, this.last.logits, probs, 1)
    else k.activation('sigmoid', B * K, this.last.logits, probs)
    return Float32Array.from(await k.read(probs))
  }
}
