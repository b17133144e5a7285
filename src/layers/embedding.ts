/**
 * Embedding: the product of a one-hot vector with W, done as a row lookup.
 *
 *   forward:  out[i] = W[ids[i]]              ids (N) i32, W (V,D), out (N,D)
 *             (one-hot input accepted too:    out = onehots (N,V) W, one GEMM)
 *   backward: dW[ids[i]] += dOut[i]           (scatter-add; the one-hot form is dW += onehots^T dOut)
 */
import type { BufferHandle, Kernels } from '../kernels/types.js'
import type { Param, ParamBuilder } from '../params.js'
import { RecurError, expectInt } from '../errors.js'

export class Embedding {
  readonly V: number
  readonly D: number
  readonly weight: Param
  private readonly outputs = new Map<number, BufferHandle>()
  private last: { N: number; input: BufferHandle; oneHot: boolean } | null = null

  constructor(params: ParamBuilder, name: string, vocabularySize: number, dimension: number) {
    expectInt(`${name}: vocabulary size`, vocabularySize, 1)
    expectInt(`${name}: dimension`, dimension, 1)
    this.V = vocabularySize
    this.D = dimension
    this.weight = params.add(`${name}.weight`, [vocabularySize, dimension], { kind: 'normal', std: 1 / Math.sqrt(dimension) })
  }

  /** ids (N) i32 -> out (N,D); or with oneHot, input (N,V) floats. Output is reused per N. */
  forward(k: Kernels, N: number, input: BufferHandle, oneHot = false): BufferHandle {
    let out = this.outputs.get(N)
    if (out === undefined) this.outputs.set(N, (out = k.alloc(N * this.D)))
    if (oneHot) {
      k.gemm({ transA: false, transB: false, m: N, n: this.D, k: this.V, alpha: 1, a: input, lda: this.V, b: this.weight.value, ldb: this.D, beta: 0, c: out, ldc: this.D })
    } else {
      k.gather(N, this.D, this.weight.value, input, out)
    }
    this.last = { N, input, oneHot }
    return out
  }

  /** dW += the rows of dOut (N,D) at the last forward's ids. */
  backward(k: Kernels, dOut: BufferHandle): void {
    if (this.last === null) throw new RecurError('STATE', 'embedding: backward called before forward')
    const { N, input, oneHot } = this.last
    if (oneHot) {
      k.gemm({ transA: true, transB: false, m: this.V, n: this.D, k: N, alpha: 1, a: input, lda: this.V, b: dOut, ldb: this.D, beta: 1, c: this.weight.grad, ldc: this.D })
    } else {
      k.scatterAdd(N, this.D, dOut, input, this.weight.grad)
    }
  }
}
