/**
 * One flat parameter store. Layers declare their parameters as `{name, shape, init}` rows of a
 * table; the store lays them out in one buffer and hands back named views. Gradients and the
 * optimizer's moments are buffers of the same layout, so zeroing, clipping, the norm and the
 * optimizer step are one kernel call each over the whole model.
 */
import { RecurError } from './errors.js'
import type { BufferHandle, Kernels } from './kernels/types.js'
import type { Random } from './random.js'

/** How a parameter starts. Shapes are row-major; `(rows, cols)` for matrices. */
export type Init =
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number }
  /** Glorot / Xavier uniform: U(-l, l), l = sqrt(6 / (fanIn + fanOut)). */
  | { kind: 'glorot'; fanIn: number; fanOut: number }
  /** Each (H,H) block of a (G*H, H) matrix orthogonal (QR of a Gaussian matrix). */
  | { kind: 'orthogonal' }
  | { kind: 'uniform'; limit: number }
  | { kind: 'normal'; std: number }
  /**
   * The vector cut into values.length equal blocks, block i filled with values[i], plus
   * U(-spread, spread) noise on every element when `spread` is given (default 0: constants).
   */
  | { kind: 'blocks'; values: number[]; spread?: number }

/**
 * How a model's parameters start, chosen once per model (the layers pick each parameter's `Init`):
 *
 * - `'glorot'`: recurrent cells take Glorot-uniform input weights W_ih, orthogonal (H,H) blocks of
 *   W_hh, zero biases and, for an LSTM, a forget-gate bias of 1; dense layers take Glorot-uniform
 *   weights and zero biases. Close to Keras's defaults (Keras makes the whole (H, G*H) recurrent
 *   matrix orthogonal, recur each gate's block).
 * - `'pytorch'`: PyTorch's defaults. nn.RNN / nn.GRU / nn.LSTM: every weight and both biases
 *   U(-1/√H, 1/√H), no forget-gate bias; nn.Linear with X inputs: weight and bias U(-1/√X, 1/√X)
 *   (the weight's kaiming-uniform with a = √5 is that bound). The draws come from recur's generator,
 *   not PyTorch's, so the distributions match and the values do not.
 *
 * Embedding tables keep N(0, 1/E) under both. Loaded weights replace whatever a scheme drew.
 */
export type InitScheme = 'glorot' | 'pytorch'

/** The schemes, for validating options. */
export const INIT_SCHEMES: readonly InitScheme[] = ['glorot', 'pytorch']

/** A parameter's place in the store; `value` and `grad` are views, valid once the store is built. */
export interface Param {
  readonly name: string
  readonly shape: readonly number[]
  readonly size: number
  readonly offset: number
  readonly init: Init
  value: BufferHandle
  grad: BufferHandle
}

/** Collects parameter declarations, then builds the store. */
export class ParamBuilder {
  private readonly params: Param[] = []
  private size = 0

  /** Declares a parameter. Names must be unique; the returned Param's views are set by build(). */
  add(name: string, shape: readonly number[], init: Init): Param {
    if (this.params.some((p) => p.name === name)) throw new RecurError('OPTION', `parameter '${name}' is declared twice`)
    const size = shape.reduce((a, b) => a * b, 1)
    // value and grad are set by build(), once the store exists.
    const param = { name, shape: [...shape], size, offset: this.size, init } as unknown as Param
    this.params.push(param)
    this.size += size
    return param
  }

  /** Allocates the store, initialises every parameter from `random`, and sets the views. */
  build(kernels: Kernels, random: Random): ParamStore {
    return new ParamStore(kernels, this.params, this.size, random)
  }
}

export class ParamStore {
  readonly kernels: Kernels
  readonly params: readonly Param[]
  /** Total number of scalars. */
  readonly size: number
  /** All parameter values, in table order. */
  readonly values: BufferHandle
  /** All gradients, same layout. Layers accumulate (+=) into them. */
  readonly grads: BufferHandle
  private readonly byName: Map<string, Param>

  constructor(kernels: Kernels, params: Param[], size: number, random: Random) {
    this.kernels = kernels
    this.params = params
    this.size = size
    this.values = kernels.alloc(Math.max(size, 1))
    this.grads = kernels.alloc(Math.max(size, 1))
    this.byName = new Map(params.map((p) => [p.name, p]))
    const host = new Float32Array(Math.max(size, 1))
    for (const p of params) {
      host.set(initialValues(p, random), p.offset)
      p.value = kernels.view(this.values, p.offset, p.size)
      p.grad = kernels.view(this.grads, p.offset, p.size)
    }
    kernels.write(this.values, host)
  }

  /** A buffer of the store's layout, zero-filled: for optimizer moments. */
  allocLike(): BufferHandle {
    return this.kernels.alloc(Math.max(this.size, 1))
  }

  get(name: string): Param {
    const p = this.byName.get(name)
    if (p === undefined) throw new RecurError('OPTION', `no parameter named '${name}'`, `Known: ${[...this.byName.keys()].join(', ')}`)
    return p
  }

  /** grads = 0. */
  zeroGrads(): void {
    this.kernels.fill(this.size, this.grads, 0)
  }

  /** Every parameter's values, read back, by name. */
  async readValues(): Promise<Map<string, Float32Array>> {
    const all = await this.kernels.read(this.values)
    return new Map(this.params.map((p) => [p.name, Float32Array.from(all.subarray(p.offset, p.offset + p.size))]))
  }

  /** Sets parameters from host arrays (sizes checked); names not given keep their values. */
  writeValues(values: ReadonlyMap<string, ArrayLike<number>>): void {
    for (const [name, data] of values) {
      const p = this.get(name)
      if (data.length !== p.size) {
        throw new RecurError('SHAPE', `parameter '${name}' has shape [${p.shape.join(', ')}] (${p.size} values), got ${data.length} values`)
      }
      this.kernels.write(p.value, data)
    }
  }
}

function initialValues(p: Param, random: Random): Float32Array {
  const out = new Float32Array(p.size)
  const init = p.init
  switch (init.kind) {
    case 'zeros':
      return out
    case 'constant':
      return out.fill(init.value)
    case 'glorot': {
      const limit = Math.sqrt(6 / (init.fanIn + init.fanOut))
      for (let i = 0; i < out.length; i++) out[i] = random.range(-limit, limit)
      return out
    }
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = random.range(-init.limit, init.limit)
      return out
    case 'normal':
      for (let i = 0; i < out.length; i++) out[i] = init.std * random.normal()
      return out
    case 'blocks': {
      const block = out.length / init.values.length
      init.values.forEach((v, i) => out.fill(v, i * block, (i + 1) * block))
      const spread = init.spread ?? 0
      if (spread > 0) for (let i = 0; i < out.length; i++) out[i] += random.range(-spread, spread)
      return out
    }
    case 'orthogonal': {
      const [rows, H] = p.shape as [number, number]
      for (let block = 0; block < rows / H; block++) out.set(orthogonal(H, random), block * H * H)
      return out
    }
  }
}

/** An (n,n) orthogonal matrix: Gram-Schmidt on the rows of a Gaussian matrix (rows are orthonormal). */
function orthogonal(n: number, random: Random): Float64Array {
  const q = new Float64Array(n * n)
  for (let i = 0; i < n * n; i++) q[i] = random.normal()
  for (let i = 0; i < n; i++) {
    // Twice-repeated modified Gram-Schmidt against earlier rows, for a numerically orthogonal result.
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let dot = 0
        for (let k = 0; k < n; k++) dot += q[i * n + k] * q[j * n + k]
        for (let k = 0; k < n; k++) q[i * n + k] -= dot * q[j * n + k]
      }
    }
    let norm = 0
    for (let k = 0; k < n; k++) norm += q[i * n + k] * q[i * n + k]
    norm = Math.sqrt(norm)
    for (let k = 0; k < n; k++) q[i * n + k] /= norm
  }
  return q
}
