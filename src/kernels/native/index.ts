/**
 * The native backend: every kernel of the interface in C++ (native/), SIMD (AVX-512, AVX2+FMA, or a
 * scalar twin, chosen from the CPU) on a persistent thread pool, reached through a Node-API addon.
 * The fused recurrent steps (`lstmStep`, ...) are those kernels composed in TypeScript: the step's
 * gemm, then its pointwise kernel (../composed-steps.ts), two or three calls into the addon.
 *
 * Memory: buffers are the addon's (64-byte aligned, zero-filled); a handle holds the byte address
 * of its first element and the owner object that frees the allocation when garbage collected (or
 * at `free`). Views share the owner. Data crosses the boundary only in `write` and `read`.
 *
 * Calls: each kernel writes its arguments (numbers and addresses) into one shared Float64Array that
 * the addon reads, then calls `run(op)`: one cheap crossing per kernel, nothing allocated, which is
 * what a per-time-step kernel needs.
 */
import { availableParallelism } from 'node:os'
import { RecurError } from '../../errors.js'
import { ComposedSteps } from '../composed-steps.js'
import type {
  Activation, AdamArgs, BufferHandle, DType, FloatArray, GemmArgs, GruReset, Kernels, Pooling, SgdArgs,
} from '../types.js'
import { loadAddon, type NativeAddon } from './loader.js'

/** Instruction sets, in the addon's order (native/addon.cc). */
export const NATIVE_ISAS = ['scalar', 'avx2', 'avx512'] as const
export type NativeIsa = (typeof NATIVE_ISAS)[number]

export interface NativeOptions {
  /** Instruction set of the kernels. Default: the best this CPU runs. */
  isa?: NativeIsa
  /** Threads per kernel, the caller included. Default: the machine's cores. */
  threads?: number
  /** How long idle pool workers spin before parking, in microseconds. Default 200. */
  spinMicros?: number
}

/** Kernel codes, in the order of RECUR_OPS in native/common.h (checked against the addon at start). */
const OPS = [
  'GEMM', 'FILL', 'COPY', 'AXPY', 'SCALE', 'MUL', 'ADD_BIAS', 'BIAS_GRAD', 'ACTIVATION', 'ACTIVATION_BACKWARD',
  'RNN_FORWARD', 'RNN_BACKWARD', 'LSTM_FORWARD', 'LSTM_BACKWARD', 'GRU_RESET_FORWARD', 'GRU_FORWARD', 'GRU_BACKWARD',
  'GRU_RESET_BACKWARD', 'HOLD_FORWARD', 'HOLD_BACKWARD', 'POOL_FORWARD', 'POOL_BACKWARD', 'GATHER', 'SCATTER_ADD', 'SOFTMAX_CE', 'SIGMOID_CE', 'SOFTMAX', 'SUM', 'SUM_SQUARES',
  'CLIP_BY_NORM', 'CLIP_BY_VALUE', 'SGD_STEP', 'ADAM_STEP',
] as const
const OP = Object.fromEntries(OPS.map((name, i) => [name, i])) as Record<(typeof OPS)[number], number>

const ACTIVATION_CODE: Record<Activation, number> = { identity: 0, tanh: 1, sigmoid: 2, relu: 3 }

class NativeBuffer implements BufferHandle {
  readonly backend = 'native'
  readonly dtype: DType
  readonly length: number
  /** Byte address of element 0. */
  readonly address: number
  /** The allocation's owner (shared by views); frees the memory when collected. */
  readonly owner: object
  /** Whether this handle is the allocation itself (free releases it) rather than a view. */
  readonly root: boolean

  constructor(dtype: DType, length: number, address: number, owner: object, root: boolean) {
    this.dtype = dtype
    this.length = length
    this.address = address
    this.owner = owner
    this.root = root
  }
}

/** The argument block shared with the addon: [isa, threads, kernel arguments...]. */
let argBlock: Float64Array | null = null

export class NativeKernels implements Kernels {
  readonly name = 'native'
  readonly precision = 'f32' as const
  /** The instruction set the kernels run with. */
  readonly isa: NativeIsa
  /** Threads per kernel. */
  readonly threads: number
  private readonly addon: NativeAddon
  private readonly a: Float64Array
  private readonly isaCode: number
  /** The fused step kernels, composed from this backend's gemm and pointwise kernels. */
  private readonly steps: ComposedSteps

  constructor(options: NativeOptions = {}) {
    const addon = loadAddon()
    const info = addon.info()
    if (info.ops.length !== OPS.length || info.ops.some((name, i) => name !== OPS[i])) {
      throw new RecurError('BACKEND', 'the native addon is out of date (its kernel list differs from this version of recur)', 'Rebuild it with npm rebuild recur')
    }
    const isa = options.isa ?? (info.best as NativeIsa)
    if (!NATIVE_ISAS.includes(isa)) {
      throw new RecurError('OPTION', `native: unknown instruction set '${String(isa)}'`, `Use one of ${NATIVE_ISAS.join(', ')}`)
    }
    if (!info.isas.includes(isa)) {
      throw new RecurError('BACKEND', `native: this CPU cannot run the ${isa} kernels (it runs ${info.isas.join(', ')})`)
    }
    const threads = options.threads ?? defaultThreads()
    if (!Number.isInteger(threads) || threads < 1 || threads > 32) {
      throw new RecurError('OPTION', `native: threads must be an integer in [1, 32], got ${threads}`)
    }
    this.threads = Math.min(threads, addon.configure(threads, options.spinMicros ?? 200))
    this.addon = addon
    this.isa = isa
    this.isaCode = NATIVE_ISAS.indexOf(isa)
    if (argBlock === null) {
      argBlock = new Float64Array(32)
      addon.setArgs(argBlock)
    }
    this.a = argBlock
    this.steps = new ComposedSteps(this)
  }

  // The address of a handle's first element; foreign handles are a programming error.
  private p(buf: BufferHandle): number {
    if (!(buf instanceof NativeBuffer)) {
      throw new RecurError('BACKEND', `native: expected a buffer of this backend, got a ${buf.dtype} buffer of backend '${buf.backend}'`)
    }
    return buf.address
  }

  private pOrNull(buf: BufferHandle | null): number {
    return buf === null ? 0 : this.p(buf)
  }

  /** The argument block with the header (isa, threads) written. */
  private args(): Float64Array {
    const a = this.a
    a[0] = this.isaCode
    a[1] = this.threads
    return a
  }

  // ---- memory -----------------------------------------------------------------------------

  alloc(length: number, dtype: DType = 'f32'): BufferHandle {
    if (!Number.isInteger(length) || length < 0) throw new RecurError('SHAPE', `alloc: length must be an integer >= 0, got ${length}`)
    const [owner, address] = this.addon.alloc(length * 4)
    return new NativeBuffer(dtype, length, address, owner, true)
  }

  view(buf: BufferHandle, offset: number, length: number): BufferHandle {
    const b = buf as NativeBuffer
    this.p(b)
    if (offset < 0 || length < 0 || offset + length > b.length) {
      throw new RecurError('SHAPE', `view [${offset}, ${offset + length}) is outside a buffer of ${b.length}`)
    }
    return new NativeBuffer(b.dtype, length, b.address + offset * 4, b.owner, false)
  }

  write(buf: BufferHandle, data: ArrayLike<number>): void {
    const address = this.p(buf)
    if (data.length !== buf.length) throw new RecurError('SHAPE', `write: buffer holds ${buf.length} values, got ${data.length}`)
    if (buf.length === 0) return
    const host = buf.dtype === 'i32'
      ? data instanceof Int32Array ? data : Int32Array.from(data)
      : data instanceof Float32Array ? data : Float32Array.from(data)
    this.addon.write(address, host)
  }

  async read(buf: BufferHandle): Promise<FloatArray> {
    const address = this.p(buf)
    if (buf.dtype !== 'f32') throw new RecurError('BACKEND', 'native: read expects a float buffer (use readInt for ids)')
    const out = new Float32Array(buf.length)
    if (out.length > 0) this.addon.read(address, out)
    return out
  }

  async readInt(buf: BufferHandle): Promise<Int32Array> {
    const address = this.p(buf)
    if (buf.dtype !== 'i32') throw new RecurError('BACKEND', 'native: readInt expects an int buffer')
    const out = new Int32Array(buf.length)
    if (out.length > 0) this.addon.read(address, out)
    return out
  }

  free(buf: BufferHandle): void {
    const b = buf as NativeBuffer
    this.p(b)
    if (b.root) this.addon.free(b.owner) // views need not be freed (and must not free their parent)
  }

  // ---- dense linear algebra ----------------------------------------------------------------

  gemm(g: GemmArgs): void {
    const a = this.args()
    a[2] = g.transA ? 1 : 0
    a[3] = g.transB ? 1 : 0
    a[4] = g.m
    a[5] = g.n
    a[6] = g.k
    a[7] = g.alpha
    a[8] = this.p(g.a)
    a[9] = g.lda
    a[10] = this.p(g.b)
    a[11] = g.ldb
    a[12] = g.beta
    a[13] = this.p(g.c)
    a[14] = g.ldc
    this.addon.run(OP.GEMM)
  }

  fill(n: number, x: BufferHandle, value: number): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = value
    this.addon.run(OP.FILL)
  }

  copy(rows: number, cols: number, src: BufferHandle, ldSrc: number, dst: BufferHandle, ldDst: number): void {
    const a = this.args()
    a[2] = rows
    a[3] = cols
    a[4] = this.p(src)
    a[5] = ldSrc
    a[6] = this.p(dst)
    a[7] = ldDst
    this.addon.run(OP.COPY)
  }

  axpy(n: number, alpha: number, x: BufferHandle, y: BufferHandle): void {
    const a = this.args()
    a[2] = n
    a[3] = alpha
    a[4] = this.p(x)
    a[5] = this.p(y)
    this.addon.run(OP.AXPY)
  }

  scale(n: number, x: BufferHandle, alpha: number): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = alpha
    this.addon.run(OP.SCALE)
  }

  mul(n: number, x: BufferHandle, y: BufferHandle): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = this.p(y)
    this.addon.run(OP.MUL)
  }

  addBias(rows: number, cols: number, x: BufferHandle, bias: BufferHandle): void {
    const a = this.args()
    a[2] = rows
    a[3] = cols
    a[4] = this.p(x)
    a[5] = this.p(bias)
    this.addon.run(OP.ADD_BIAS)
  }

  biasGrad(rows: number, cols: number, dy: BufferHandle, dBias: BufferHandle): void {
    const a = this.args()
    a[2] = rows
    a[3] = cols
    a[4] = this.p(dy)
    a[5] = this.p(dBias)
    this.addon.run(OP.BIAS_GRAD)
  }

  activation(kind: Activation, n: number, x: BufferHandle, y: BufferHandle): void {
    const a = this.args()
    a[2] = ACTIVATION_CODE[kind]
    a[3] = n
    a[4] = this.p(x)
    a[5] = this.p(y)
    this.addon.run(OP.ACTIVATION)
  }

  activationBackward(kind: Activation, n: number, y: BufferHandle, dy: BufferHandle, dx: BufferHandle): void {
    const a = this.args()
    a[2] = ACTIVATION_CODE[kind]
    a[3] = n
    a[4] = this.p(y)
    a[5] = this.p(dy)
    a[6] = this.p(dx)
    this.addon.run(OP.ACTIVATION_BACKWARD)
  }

  // ---- recurrent cells ------------------------------------------------------------------------

  rnnForward(B: number, H: number, z: BufferHandle, act: BufferHandle): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(z)
    a[5] = this.p(act)
    this.addon.run(OP.RNN_FORWARD)
  }

  rnnBackward(B: number, H: number, act: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dz: BufferHandle): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(act)
    a[5] = this.p(daOut)
    a[6] = this.p(daNext)
    a[7] = this.p(dz)
    this.addon.run(OP.RNN_BACKWARD)
  }

  lstmForward(
    B: number, H: number, z: BufferHandle, cPrev: BufferHandle, peep: BufferHandle | null,
    gates: BufferHandle, c: BufferHandle, act: BufferHandle,
  ): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(z)
    a[5] = this.p(cPrev)
    a[6] = this.pOrNull(peep)
    a[7] = this.p(gates)
    a[8] = this.p(c)
    a[9] = this.p(act)
    this.addon.run(OP.LSTM_FORWARD)
  }

  lstmBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(gates)
    a[5] = this.p(cPrev)
    a[6] = this.p(c)
    a[7] = this.pOrNull(peep)
    a[8] = this.p(daOut)
    a[9] = this.p(daNext)
    a[10] = this.p(dcNext)
    a[11] = this.p(dz)
    a[12] = this.p(dcPrev)
    a[13] = this.pOrNull(dPeep)
    this.addon.run(OP.LSTM_BACKWARD)
  }

  gruResetForward(B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle, rc: BufferHandle): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(xw)
    a[5] = this.p(hw)
    a[6] = this.p(bh)
    a[7] = this.p(cPrev)
    a[8] = this.p(rc)
    this.addon.run(OP.GRU_RESET_FORWARD)
  }

  gruForward(
    reset: GruReset, B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle,
    cPrev: BufferHandle, gates: BufferHandle, c: BufferHandle,
  ): void {
    const a = this.args()
    a[2] = reset === 'after' ? 1 : 0
    a[3] = B
    a[4] = H
    a[5] = this.p(xw)
    a[6] = this.p(hw)
    a[7] = this.p(bh)
    a[8] = this.p(cPrev)
    a[9] = this.p(gates)
    a[10] = this.p(c)
    this.addon.run(OP.GRU_FORWARD)
  }

  gruBackward(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const a = this.args()
    a[2] = reset === 'after' ? 1 : 0
    a[3] = B
    a[4] = H
    a[5] = this.p(gates)
    a[6] = this.p(hw)
    a[7] = this.p(bh)
    a[8] = this.p(cPrev)
    a[9] = this.p(dcOut)
    a[10] = this.p(dcNext)
    a[11] = this.p(dxw)
    a[12] = this.p(dhw)
    a[13] = this.p(dcPrev)
    this.addon.run(OP.GRU_BACKWARD)
  }

  gruResetBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, drc: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(gates)
    a[5] = this.p(cPrev)
    a[6] = this.p(drc)
    a[7] = this.p(dxw)
    a[8] = this.p(dhw)
    a[9] = this.p(dcPrev)
    this.addon.run(OP.GRU_RESET_BACKWARD)
  }

  // ---- recurrent cells, fused steps: the gemm and the pointwise kernels above, composed in TypeScript --
  // (../composed-steps.ts; each kernel of the composition is one call into the addon.)

  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, act: BufferHandle): void {
    this.steps.rnnStep(B, H, xw, aPrev, wHh, act)
  }

  rnnBackwardStep(
    B: number, H: number, act: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void {
    this.steps.rnnBackwardStep(B, H, act, daOut, daNext, dzNext, wHh, dz, daPrev)
  }

  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, act: BufferHandle,
  ): void {
    this.steps.lstmStep(B, H, xw, aPrev, wHh, cPrev, peep, gates, c, act)
  }

  lstmBackwardStep(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    this.steps.lstmBackwardStep(B, H, gates, cPrev, c, peep, daOut, daNext, dzNext, wHh, dcNext, dz, daPrev, dcPrev, dPeep)
  }

  gruStep(
    reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
    hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
  ): void {
    this.steps.gruStep(reset, B, H, xw, cPrev, wHh, bh, hw, rc, gates, c)
  }

  gruBackwardStep(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    this.steps.gruBackwardStep(reset, B, H, gates, hw, bh, cPrev, dcOut, dcNext, dhwNext, wHh, dxw, dhw, dcPrev)
  }

  // ---- padding and pooling over time -----------------------------------------------------------

  holdForward(B: number, H: number, mask: BufferHandle, prev: BufferHandle, out: BufferHandle): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(mask)
    a[5] = this.p(prev)
    a[6] = this.p(out)
    this.addon.run(OP.HOLD_FORWARD)
  }

  holdBackward(B: number, H: number, mask: BufferHandle, d: BufferHandle, dHeld: BufferHandle): void {
    const a = this.args()
    a[2] = B
    a[3] = H
    a[4] = this.p(mask)
    a[5] = this.p(d)
    a[6] = this.p(dHeld)
    this.addon.run(OP.HOLD_BACKWARD)
  }

  poolForward(kind: Pooling, T: number, B: number, H: number, xs: BufferHandle, mask: BufferHandle | null, out: BufferHandle, argmax: BufferHandle | null): void {
    const a = this.args()
    a[2] = kind === 'max' ? 1 : 0
    a[3] = T
    a[4] = B
    a[5] = H
    a[6] = this.p(xs)
    a[7] = this.pOrNull(mask)
    a[8] = this.p(out)
    a[9] = this.pOrNull(argmax)
    this.addon.run(OP.POOL_FORWARD)
  }

  poolBackward(kind: Pooling, T: number, B: number, H: number, dOut: BufferHandle, mask: BufferHandle | null, argmax: BufferHandle | null, dxs: BufferHandle): void {
    const a = this.args()
    a[2] = kind === 'max' ? 1 : 0
    a[3] = T
    a[4] = B
    a[5] = H
    a[6] = this.p(dOut)
    a[7] = this.pOrNull(mask)
    a[8] = this.pOrNull(argmax)
    a[9] = this.p(dxs)
    this.addon.run(OP.POOL_BACKWARD)
  }

  // ---- embedding ------------------------------------------------------------------------------

  gather(N: number, D: number, table: BufferHandle, ids: BufferHandle, out: BufferHandle): void {
    const a = this.args()
    a[2] = N
    a[3] = D
    a[4] = this.p(table)
    a[5] = this.p(ids)
    a[6] = this.p(out)
    this.addon.run(OP.GATHER)
  }

  scatterAdd(N: number, D: number, dOut: BufferHandle, ids: BufferHandle, dTable: BufferHandle): void {
    const a = this.args()
    a[2] = N
    a[3] = D
    a[4] = this.p(dOut)
    a[5] = this.p(ids)
    a[6] = this.p(dTable)
    this.addon.run(OP.SCATTER_ADD)
  }

  // ---- losses and probabilities -------------------------------------------------------------------

  softmaxCrossEntropy(
    N: number, V: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    const a = this.args()
    a[2] = N
    a[3] = V
    a[4] = this.p(logits)
    a[5] = this.p(targets)
    a[6] = this.pOrNull(mask)
    a[7] = this.p(losses)
    a[8] = this.pOrNull(dLogits)
    a[9] = gradScale
    this.addon.run(OP.SOFTMAX_CE)
  }

  sigmoidCrossEntropy(
    n: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(logits)
    a[4] = this.p(targets)
    a[5] = this.pOrNull(mask)
    a[6] = this.p(losses)
    a[7] = this.pOrNull(dLogits)
    a[8] = gradScale
    this.addon.run(OP.SIGMOID_CE)
  }

  softmax(N: number, V: number, logits: BufferHandle, probs: BufferHandle, invTemperature: number): void {
    const a = this.args()
    a[2] = N
    a[3] = V
    a[4] = this.p(logits)
    a[5] = this.p(probs)
    a[6] = invTemperature
    this.addon.run(OP.SOFTMAX)
  }

  // ---- reductions, clipping, optimizers ---------------------------------------------------------

  sum(n: number, x: BufferHandle, out: BufferHandle): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = this.p(out)
    this.addon.run(OP.SUM)
  }

  sumSquares(n: number, x: BufferHandle, out: BufferHandle): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = this.p(out)
    this.addon.run(OP.SUM_SQUARES)
  }

  clipByNorm(n: number, x: BufferHandle, sumSq: BufferHandle, maxNorm: number): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = this.p(sumSq)
    a[5] = maxNorm
    this.addon.run(OP.CLIP_BY_NORM)
  }

  clipByValue(n: number, x: BufferHandle, limit: number): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(x)
    a[4] = limit
    this.addon.run(OP.CLIP_BY_VALUE)
  }

  sgdStep(n: number, p: BufferHandle, g: BufferHandle, velocity: BufferHandle, o: SgdArgs): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(p)
    a[4] = this.p(g)
    a[5] = this.p(velocity)
    a[6] = o.lr
    a[7] = o.momentum
    a[8] = o.weightDecay
    a[9] = o.nesterov ? 1 : 0
    this.addon.run(OP.SGD_STEP)
  }

  adamStep(n: number, p: BufferHandle, g: BufferHandle, m: BufferHandle, v: BufferHandle, o: AdamArgs): void {
    const a = this.args()
    a[2] = n
    a[3] = this.p(p)
    a[4] = this.p(g)
    a[5] = this.p(m)
    a[6] = this.p(v)
    a[7] = o.lr
    a[8] = o.beta1
    a[9] = o.beta2
    a[10] = o.eps
    a[11] = o.weightDecay
    a[12] = o.decoupled ? 1 : 0
    a[13] = o.step
    this.addon.run(OP.ADAM_STEP)
  }
}

/** The machine's cores (what the OS lets this process use). */
function defaultThreads(): number {
  return Math.max(1, Math.min(32, availableParallelism()))
}

/**
 * The native backend as the registry starts it: options from the environment, read here only.
 * RECUR_NATIVE_ISA = scalar | avx2 | avx512 forces an instruction set; RECUR_THREADS sets the threads.
 */
export function startNativeKernels(env: Record<string, string | undefined> = process.env): NativeKernels {
  const options: NativeOptions = {}
  const isa = env['RECUR_NATIVE_ISA']
  if (isa !== undefined && isa !== '') {
    if (!(NATIVE_ISAS as readonly string[]).includes(isa)) {
      throw new RecurError('OPTION', `RECUR_NATIVE_ISA must be one of ${NATIVE_ISAS.join(', ')}, got '${isa}'`)
    }
    options.isa = isa as NativeIsa
  }
  const threads = env['RECUR_THREADS']
  if (threads !== undefined && threads !== '') {
    const n = Number(threads)
    if (!Number.isInteger(n) || n < 1) throw new RecurError('OPTION', `RECUR_THREADS must be a whole number >= 1, got '${threads}'`)
    options.threads = n
  }
  return new NativeKernels(options)
}
