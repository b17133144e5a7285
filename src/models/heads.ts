/**
 * What the task models share: dense layers on top of an encoder, the per-batch device buffers of
 * a padded batch, and the losses of a K-way softmax or a sigmoid output.
 */
import type * as batches from '../data/batches.js'
import { RecurError } from '../errors.js'
import type { Activation, BufferHandle, Kernels } from '../kernels/types.js'
import { Dense } from '../layers/dense.js'
import type { ParamBuilder } from '../params.js'
import { BinaryCrossEntropy, SoftmaxCrossEntropy } from '../train/losses.js'

/** Hidden dense layers (with an activation) then a linear output layer of width `outputs`. */
export class DenseHead {
  readonly layers: Dense[]

  constructor(params: ParamBuilder, name: string, inputSize: number, hidden: readonly number[], activation: Activation, outputs: number) {
    this.layers = []
    let x = inputSize
    hidden.forEach((width, i) => {
      this.layers.push(new Dense(params, `${name}.dense${i}`, x, width, activation))
      x = width
    })
    this.layers.push(new Dense(params, `${name}.out`, x, outputs, 'identity'))
  }

  forward(k: Kernels, N: number, x: BufferHandle): BufferHandle {
    return this.layers.reduce((h, layer) => layer.forward(k, N, h), x)
  }

  backward(k: Kernels, dy: BufferHandle): BufferHandle {
    return this.layers.reduceRight((d, layer) => layer.backward(k, d), dy)
  }
}

/** What a model reads of a padded batch (`padBatch` in src/data/batches.ts): ids and mask (T,B) time-major, as host arrays. */
export type PaddedBatch = Pick<batches.PaddedBatch, 'T' | 'B' | 'ids' | 'mask'>

/** Device buffers for padded batches, one set per (T,B), reused. */
export class BatchBuffers {
  private readonly sets = new Map<string, { ids: BufferHandle; mask: BufferHandle; targets: BufferHandle; floatTargets: BufferHandle }>()

  get(k: Kernels, T: number, B: number, targetsPerRow = 1) {
    const key = `${T}x${B}x${targetsPerRow}`
    let s = this.sets.get(key)
    if (s === undefined) {
      s = { ids: k.alloc(T * B, 'i32'), mask: k.alloc(T * B), targets: k.alloc(T * B, 'i32'), floatTargets: k.alloc(T * B * targetsPerRow) }
      this.sets.set(key, s)
    }
    return s
  }
}

/** Checks a padded batch against a vocabulary size: shapes, ids in range, mask of 0/1, no empty row. */
export function checkBatch(what: string, batch: PaddedBatch, vocabularySize: number): void {
  const { T, B, ids, mask } = batch
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(B) || B < 1) throw new RecurError('SHAPE', `${what}: T and B must be integers >= 1, got T=${T}, B=${B}`)
  if (ids.length !== T * B) throw new RecurError('SHAPE', `${what}: expected ${T * B} token ids (T*B), got ${ids.length}`)
  if (mask.length !== T * B) throw new RecurError('SHAPE', `${what}: expected a mask of ${T * B} values (T*B), got ${mask.length}`)
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= vocabularySize) {
      throw new RecurError('RANGE', `${what}: token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${vocabularySize})`)
    }
    if (mask[i] !== 0 && mask[i] !== 1) throw new RecurError('RANGE', `${what}: mask values must be 0 or 1, got ${mask[i]} at position ${i}`)
  }
  for (let b = 0; b < B; b++) {
    if (mask[b] === 0) throw new RecurError('DATA', `${what}: sequence ${b} is empty (its first step is padding)`, 'Drop empty inputs before batching')
  }
}

/** The loss of a softmax (K classes, integer targets) or sigmoid (K independent binary outputs) layer. */
export class OutputLoss {
  readonly output: 'softmax' | 'sigmoid'
  readonly K: number
  readonly softmax = new SoftmaxCrossEntropy()
  readonly sigmoid = new BinaryCrossEntropy()

  constructor(output: 'softmax' | 'sigmoid', K: number) {
    this.output = output
    this.K = K
  }

  /** Mean loss over the rows with mask 1; writes dLogits when `gradient`. Returns dLogits. */
  compute(k: Kernels, N: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null, count: number, gradient: boolean): BufferHandle {
    if (this.output === 'softmax') {
      this.softmax.compute(k, N, this.K, logits, targets, mask, count, gradient)
      return this.softmax.dLogits
    }
    // Sigmoid: every one of the K outputs of a row is a binary decision. A mask has one value per
    // element, so masked sigmoid outputs need K = 1 (the binary tagger).
    if (mask !== null && this.K !== 1) throw new RecurError('SHAPE', `a masked sigmoid output needs K = 1, got K = ${this.K}`)
    this.sigmoid.compute(k, N * this.K, logits, targets, mask, count * this.K, gradient)
    return this.sigmoid.dLogits
  }

  mean(k: Kernels): Promise<number> {
    return this.output === 'softmax' ? this.softmax.mean(k) : this.sigmoid.mean(k)
  }
}
