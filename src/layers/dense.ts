/**
 * Dense layer, applied to every row (so to every time step of a (T,B,X) sequence at once).
 *
 *   forward:  z = x W^T + b,  y = f(z)          x (N,X), W (Y,X) (PyTorch's nn.Linear layout), y (N,Y)
 *   backward: dz = dy * f'(z)                   (from y: every supported f allows it)
 *             dW += dz^T x,  db += Σ_rows dz,   dx = dz W
 */
import type { Activation, BufferHandle, Kernels } from '../kernels/types.js'
import { INIT_SCHEMES, type InitScheme, type Param, type ParamBuilder } from '../params.js'
import { RecurError, expectInt, expectOneOf } from '../errors.js'

interface DenseWorkspace {
  y: BufferHandle
  dz: BufferHandle
  dx: BufferHandle
}

export class Dense {
  readonly X: number
  readonly Y: number
  readonly activation: Activation
  readonly weight: Param
  readonly bias: Param
  private readonly workspaces = new Map<number, DenseWorkspace>()
  private last: { N: number; x: BufferHandle; ws: DenseWorkspace } | null = null

  /** `init`: 'glorot' (default) Glorot-uniform W and zero b; 'pytorch' nn.Linear's U(-1/√X, 1/√X) for both. */
  constructor(params: ParamBuilder, name: string, inputSize: number, outputSize: number, activation: Activation = 'identity', init: InitScheme = 'glorot') {
    expectInt(`${name}: input size`, inputSize, 1)
    expectInt(`${name}: output size`, outputSize, 1)
    expectOneOf(`${name}: activation`, activation, ['identity', 'tanh', 'sigmoid', 'relu'])
    expectOneOf(`${name}: init`, init, INIT_SCHEMES)
    this.X = inputSize
    this.Y = outputSize
    this.activation = activation
    const fanInLimit = 1 / Math.sqrt(inputSize)
    this.weight = params.add(`${name}.weight`, [outputSize, inputSize], init === 'pytorch' ? { kind: 'uniform', limit: fanInLimit } : { kind: 'glorot', fanIn: inputSize, fanOut: outputSize })
    this.bias = params.add(`${name}.bias`, [outputSize], init === 'pytorch' ? { kind: 'uniform', limit: fanInLimit } : { kind: 'zeros' })
  }

  private workspace(k: Kernels, N: number): DenseWorkspace {
    let ws = this.workspaces.get(N)
    if (ws === undefined) {
      ws = { y: k.alloc(N * this.Y), dz: k.alloc(N * this.Y), dx: k.alloc(N * this.X) }
      this.workspaces.set(N, ws)
    }
    return ws
  }

  /** x (N,X) -> y (N,Y), a buffer reused per N. */
  forward(k: Kernels, N: number, x: BufferHandle): BufferHandle {
    const ws = this.workspace(k, N)
    k.gemm({ transA: false, transB: true, m: N, n: this.Y, k: this.X, alpha: 1, a: x, lda: this.X, b: this.weight.value, ldb: this.X, beta: 0, c: ws.y, ldc: this.Y })
    k.addBias(N, this.Y, ws.y, this.bias.value)
    if (this.activation !== 'identity') k.activation(this.activation, N * this.Y, ws.y, ws.y)
    this.last = { N, x, ws }
    return ws.y
  }

  /** dy (N,Y) -> dx (N,X); dW and db accumulate. */
  backward(k: Kernels, dy: BufferHandle): BufferHandle {
    if (this.last === null) throw new RecurError('STATE', 'dense layer: backward called before forward')
    const { N, x, ws } = this.last
    let dz = dy
    if (this.activation !== 'identity') {
      k.activationBackward(this.activation, N * this.Y, ws.y, dy, ws.dz)
      dz = ws.dz
    }
    k.gemm({ transA: true, transB: false, m: this.Y, n: this.X, k: N, alpha: 1, a: dz, lda: this.Y, b: x, ldb: this.X, beta: 1, c: this.weight.grad, ldc: this.X })
    k.biasGrad(N, this.Y, dz, this.bias.grad)
    k.gemm({ transA: false, transB: false, m: N, n: this.X, k: this.Y, alpha: 1, a: dz, lda: this.Y, b: this.weight.value, ldb: this.X, beta: 0, c: ws.dx, ldc: this.X })
    return ws.dx
  }
}
