/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: every kernel of the interface as a WGSL compute program (./programs), run on a
 * GPUDevice through one code path in Node (Dawn, the npm package `webgpu`, see ./node.ts) and in
 * browsers (navigator.gpu, see ./start.ts). fp32 only.
 *
 * Memory: a buffer is a GPUBuffer (zero-filled by WebGPU); a view is the same GPUBuffer and an
 * element offset, which each dispatch passes to its program in the uniform block (binding offsets
 * would have to be 256-byte aligned; element offsets need not be). Data crosses to the host only in
 * `write` and `read`.
 *
 * Work: each kernel records one or two dispatches into the pending command encoder (./runtime.ts);
 * nothing waits for the GPU until the caller reads a buffer back.
 *
 * Recurrent steps: the fused step kernels (`lstmStep`, `lstmBackwardStep`, ...) are WGSL programs of
 * their own (./programs/steps.ts), not the composition the CPU backends run, so a time step of a cell
 * is one dispatch (GRU reset 'before': two), and a training step's many dispatches go to the GPU in a
 * few submits.
 */
import { RecurError } from '../../errors.js'
import type {
  Activation, AdamArgs, BufferHandle, DType, FloatArray, GemmArgs, GruReset, Kernels, Pooling, SgdArgs,
} from '../types.js'
import { ACTIVATION_CODES, BASIC, BIAS_COLUMNS, BIAS_GRAD, REDUCE, REDUCE_GROUPS } from './programs/basic.js'
import {
  GRU_BACKWARD, GRU_FORWARD, GRU_RESET_BACKWARD, GRU_RESET_FORWARD, LSTM_BACKWARD, LSTM_BACKWARD_PEEP, LSTM_FORWARD,
  RNN_BACKWARD, RNN_FORWARD,
} from './programs/cells.js'
import { gemmProgram, gemmTile, GEMM_TILES, type GemmTile } from './programs/gemm.js'
import { LSTM_PEEP_GRAD, stepPrograms, stepTile, type StepPrograms } from './programs/steps.js'
import {
  GATHER, HOLD_BACKWARD, HOLD_FORWARD, POOL_BACKWARD, POOL_FORWARD, rowThreads, SCATTER_ADD, SIGMOID_CROSS_ENTROPY,
  softmaxCrossEntropyProgram, softmaxProgram,
} from './programs/sequence.js'
import { STORAGE_BUFFERS_NEEDED, WORKGROUP, type ProgramSpec } from './program.js'
import { Allocation, GpuRuntime } from './runtime.js'

/** What the backend found on its adapter, for `recur info --backends` and the benchmarks. */
export interface AdapterSummary {
  /** The adapter's own words (description, or vendor and architecture). */
  name: string
  vendor: string
  architecture: string
  /** A CPU implementation (SwiftShader, llvmpipe): correct, far slower than the native backend. */
  software: boolean
  /** The largest buffer one binding may cover, in bytes: the largest buffer this backend allocates. */
  maxBindingBytes: number
  maxStorageBuffersPerStage: number
  maxWorkgroupInvocations: number
  maxWorkgroupStorageBytes: number
  /** Optional features found (shader-f16, subgroups); the fp32 kernels use none of them. */
  features: string[]
}

export interface WebGpuOptions {
  /** Use this GEMM tile for every product instead of choosing by shape (tests, tuning). */
  gemmTile?: GemmTile['name']
  /**
   * Most workgroups of a one-dimensional dispatch, element-wise or one row per workgroup (default
   * MAX_GROUPS, MAX_ROW_GROUPS); beyond it each invocation loops over several elements or rows.
   */
  groupLimit?: number
}

/** Workgroups of an element-wise dispatch beyond which the grid-stride loops take over. */
const MAX_GROUPS = 8192
/** Workgroups of a row-wise dispatch (softmax, cross-entropy) beyond which each takes several rows. */
const MAX_ROW_GROUPS = 4096
/** A sum over at most this many elements is one workgroup's work; longer ones take two passes. */
const SINGLE_PASS_SUM = 16384
/** The WebGPU limit on workgroups per dimension. */
const MAX_GROUPS_PER_DIMENSION = 65535

class WebGpuBuffer implements BufferHandle {
  readonly backend = 'webgpu'
  readonly dtype: DType
  readonly length: number
  readonly allocation: Allocation
  /** Element offset of the view in its allocation. */
  readonly offset: number
  /** Whether this handle is the allocation itself (free releases it) rather than a view. */
  readonly root: boolean

  constructor(dtype: DType, length: number, allocation: Allocation, offset: number, root: boolean) {
    this.dtype = dtype
    this.length = length
    this.allocation = allocation
    this.offset = offset
    this.root = root
  }
}


export class WebGpuKernels implements Kernels {
  readonly name = 'webgpu'
  readonly precision = 'f32' as const
  /** The adapter and what was found on it. */
  readonly adapter: AdapterSummary
  /** One line on the adapter, its limits and features. */
  readonly description: string
  private readonly runtime: GpuRuntime
  /** Partial sums of the two-pass reductions. */
  private readonly partials: WebGpuBuffer
  private readonly gemmPrograms = new Map<string, ProgramSpec>()
  private readonly rowPrograms = new Map<string, ProgramSpec>()
  private readonly stepProgramsByTile = new Map<string, StepPrograms>()
  /** Kept so that the GPU instance (Dawn's, in Node) lives as long as the backend. */
  private readonly owner: unknown
  private readonly options: WebGpuOptions

  constructor(device: GPUDevice, adapter: AdapterSummary, owner: unknown = null, options: WebGpuOptions = {}) {
    this.runtime = new GpuRuntime(device)
    this.adapter = adapter
    this.description = describeAdapter(adapter)
    this.owner = owner
    this.options = options
    this.partials = this.alloc(REDUCE_GROUPS) as WebGpuBuffer
  }

  /** The device, e.g. to destroy it when done. */
  get device(): GPUDevice {
    return this.runtime.device
  }

  /** Submits the queued work without waiting for it (reads do this themselves). */
  flush(): void {
    this.runtime.flush()
  }

  // The handle of this backend behind `buf`; foreign handles are a programming error.
  private b(buf: BufferHandle): WebGpuBuffer {
    if (!(buf instanceof WebGpuBuffer)) {
      throw new RecurError('BACKEND', `webgpu: expected a buffer of this backend, got a ${buf.dtype} buffer of backend '${buf.backend}'`)
    }
    return buf
  }

  private bOrNull(buf: BufferHandle | null): WebGpuBuffer | null {
    return buf === null ? null : this.b(buf)
  }

  /** One dispatch of `program` with its operands (handles or null) and scalars. */
  private run(program: ProgramSpec, operands: readonly (BufferHandle | null)[], params: readonly number[], groups: readonly [number, number?, number?]): void {
    this.runtime.dispatch(program, operands.map((o) => this.bOrNull(o)), params, groups)
  }

  /** Workgroups for n invocations of WORKGROUP threads, at most the element-wise limit. */
  private groups(n: number): [number] {
    return [Math.max(1, Math.min(this.options.groupLimit ?? MAX_GROUPS, Math.ceil(n / WORKGROUP)))]
  }

  /** Workgroups for N rows, one row per workgroup up to the row-wise limit. */
  private rowGroups(N: number): [number] {
    return [Math.min(N, this.options.groupLimit ?? MAX_ROW_GROUPS)]
  }

  /** An element-wise program over n elements (nothing to do for n = 0). */
  private each(program: ProgramSpec, n: number, operands: readonly (BufferHandle | null)[], params: readonly number[] = []): void {
    if (n <= 0) return
    this.run(program, operands, [n, ...params], this.groups(n))
  }

  // ---- memory -----------------------------------------------------------------------------

  alloc(length: number, dtype: DType = 'f32'): BufferHandle {
    if (!Number.isInteger(length) || length < 0) throw new RecurError('SHAPE', `alloc: length must be an integer >= 0, got ${length}`)
    const bytes = length * 4
    if (bytes > this.adapter.maxBindingBytes) {
      throw new RecurError(
        'BACKEND',
        `webgpu: a buffer of ${length} values (${mebibytes(bytes)}) exceeds the largest buffer this GPU binds to a kernel (${mebibytes(this.adapter.maxBindingBytes)})`,
        'Use a smaller batch, sequence length, vocabulary or model, or another backend (--backend native)',
      )
    }
    return new WebGpuBuffer(dtype, length, this.runtime.allocate(bytes), 0, true)
  }

  view(buf: BufferHandle, offset: number, length: number): BufferHandle {
    const b = this.b(buf)
    if (offset < 0 || length < 0 || offset + length > b.length) {
      throw new RecurError('SHAPE', `view [${offset}, ${offset + length}) is outside a buffer of ${b.length}`)
    }
    return new WebGpuBuffer(b.dtype, length, b.allocation, b.offset + offset, false)
  }

  write(buf: BufferHandle, data: ArrayLike<number>): void {
    const b = this.b(buf)
    if (data.length !== b.length) throw new RecurError('SHAPE', `write: buffer holds ${b.length} values, got ${data.length}`)
    const host = b.dtype === 'i32'
      ? data instanceof Int32Array ? data : Int32Array.from(data)
      : data instanceof Float32Array ? data : Float32Array.from(data)
    this.runtime.write(b.allocation, b.offset, host)
  }

  async read(buf: BufferHandle): Promise<FloatArray> {
    const b = this.b(buf)
    if (b.dtype !== 'f32') throw new RecurError('BACKEND', 'webgpu: read expects a float buffer (use readInt for ids)')
    return new Float32Array(await this.runtime.read(b.allocation, b.offset, b.length))
  }

  async readInt(buf: BufferHandle): Promise<Int32Array> {
    const b = this.b(buf)
    if (b.dtype !== 'i32') throw new RecurError('BACKEND', 'webgpu: readInt expects an int buffer')
    return new Int32Array(await this.runtime.read(b.allocation, b.offset, b.length))
  }

  free(buf: BufferHandle): void {
    const b = this.b(buf)
    if (b.root) this.runtime.release(b.allocation) // views need not be freed (and must not free their parent)
  }

  // ---- dense linear algebra ----------------------------------------------------------------

  gemm(g: GemmArgs): void {
    if (g.m <= 0 || g.n <= 0) return
    const tile = this.options.gemmTile === undefined ? gemmTile(g.m, g.n) : GEMM_TILES[this.options.gemmTile]
    const columns = Math.ceil(g.n / tile.TN), rows = Math.ceil(g.m / tile.TM)
    if (columns > MAX_GROUPS_PER_DIMENSION || rows > MAX_GROUPS_PER_DIMENSION) {
      throw new RecurError('SHAPE', `webgpu: gemm of ${g.m} x ${g.n} is larger than one dispatch covers (${MAX_GROUPS_PER_DIMENSION * tile.TM} x ${MAX_GROUPS_PER_DIMENSION * tile.TN})`)
    }
    this.run(this.gemmProgram(g.transA, g.transB, tile.name), [g.a, g.b, g.c],
      [g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.alpha, g.beta], [columns, rows])
  }

  private gemmProgram(transA: boolean, transB: boolean, tile: keyof typeof GEMM_TILES): ProgramSpec {
    const key = `${transA}${transB}${tile}`
    let program = this.gemmPrograms.get(key)
    if (program === undefined) {
      program = gemmProgram(transA, transB, GEMM_TILES[tile])
      this.gemmPrograms.set(key, program)
    }
    return program
  }

  fill(n: number, x: BufferHandle, value: number): void {
    this.each(BASIC.fill, n, [x], [floatBits(value)])
  }

  copy(rows: number, cols: number, src: BufferHandle, ldSrc: number, dst: BufferHandle, ldDst: number): void {
    this.each(BASIC.copy, rows * cols, [src, dst], [cols, ldSrc, ldDst])
  }

  axpy(n: number, alpha: number, x: BufferHandle, y: BufferHandle): void {
    this.each(BASIC.axpy, n, [x, y], [alpha])
  }

  scale(n: number, x: BufferHandle, alpha: number): void {
    this.each(BASIC.scale, n, [x], [alpha])
  }

  mul(n: number, x: BufferHandle, y: BufferHandle): void {
    this.each(BASIC.mul, n, [x, y])
  }

  addBias(rows: number, cols: number, x: BufferHandle, bias: BufferHandle): void {
    this.each(BASIC.addBias, rows * cols, [x, bias], [cols])
  }

  biasGrad(rows: number, cols: number, dy: BufferHandle, dBias: BufferHandle): void {
    if (cols <= 0) return
    this.run(BIAS_GRAD, [dy, dBias], [rows, cols], [Math.ceil(cols / BIAS_COLUMNS)])
  }

  activation(kind: Activation, n: number, x: BufferHandle, y: BufferHandle): void {
    this.each(BASIC.activation, n, [x, y], [ACTIVATION_CODES[kind]])
  }

  activationBackward(kind: Activation, n: number, y: BufferHandle, dy: BufferHandle, dx: BufferHandle): void {
    this.each(BASIC.activationBackward, n, [y, dy, dx], [ACTIVATION_CODES[kind]])
  }

  // ---- recurrent cells ------------------------------------------------------------------------

  rnnForward(B: number, H: number, z: BufferHandle, a: BufferHandle): void {
    this.each(RNN_FORWARD, B * H, [z, a])
  }

  rnnBackward(B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dz: BufferHandle): void {
    this.each(RNN_BACKWARD, B * H, [a, daOut, daNext, dz])
  }

  lstmForward(
    B: number, H: number, z: BufferHandle, cPrev: BufferHandle, peep: BufferHandle | null,
    gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    this.each(LSTM_FORWARD, B * H, [z, cPrev, peep, gates, c, a], [H])
  }

  lstmBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    const operands = [gates, cPrev, c, peep, daOut, daNext, dcNext, dz, dcPrev]
    if (dPeep === null) this.each(LSTM_BACKWARD, B * H, operands, [H])
    else if (H > 0) this.run(LSTM_BACKWARD_PEEP, [...operands, dPeep], [B, H], this.groups(H))
  }

  gruResetForward(B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle, rc: BufferHandle): void {
    this.each(GRU_RESET_FORWARD, B * H, [xw, hw, bh, cPrev, rc], [H])
  }

  gruForward(
    reset: GruReset, B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle,
    cPrev: BufferHandle, gates: BufferHandle, c: BufferHandle,
  ): void {
    this.each(GRU_FORWARD, B * H, [xw, hw, bh, cPrev, gates, c], [H, reset === 'after' ? 1 : 0])
  }

  gruBackward(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    this.each(GRU_BACKWARD, B * H, [gates, hw, bh, cPrev, dcOut, dcNext, dxw, dhw, dcPrev], [H, reset === 'after' ? 1 : 0])
  }

  gruResetBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, drc: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    this.each(GRU_RESET_BACKWARD, B * H, [gates, cPrev, drc, dxw, dhw, dcPrev], [H])
  }

  // ---- recurrent cells, fused steps (./programs/steps.ts) -----------------------------------------------

  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
    const { programs, groups } = this.step(B, H)
    this.run(programs.rnn, [xw, aPrev, wHh, a], [B, H, H, H], groups)
  }

  rnnBackwardStep(
    B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void {
    const { programs, groups } = this.step(B, H)
    this.run(programs.rnnBackward, [a, daOut, daNext, dzNext, wHh, dz, daPrev], [B, H, dzNext === null ? 0 : H, H], groups)
  }

  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    const { programs, groups } = this.step(B, H)
    this.run(programs.lstm, [xw, aPrev, wHh, cPrev, peep, gates, c, a], [B, H, H, H], groups)
  }

  lstmBackwardStep(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    const operands = [gates, cPrev, c, peep, daOut, daNext, dcNext, dz, dcPrev, dzNext, wHh, daPrev]
    if (!this.fitsOneKernel(operands)) {
      // The two-kernel composition, with daPrev holding da_next + dz<t+1> W_hh until it is zeroed.
      const daIn = this.addProduct(B, H, 4 * H, dzNext, 4 * H, wHh, daNext, daPrev)
      this.lstmBackward(B, H, gates, cPrev, c, peep, daOut, daIn, dcNext, dz, dcPrev, dPeep)
      this.fill(B * H, daPrev, 0)
      return
    }
    const { programs, groups } = this.step(B, H)
    this.run(programs.lstmBackward, operands, [B, H, dzNext === null ? 0 : 4 * H, 4 * H], groups)
    // dPeep sums over the batch, which the step's tiles split: one more (small) dispatch.
    if (dPeep !== null) this.run(LSTM_PEEP_GRAD, [dz, cPrev, c, dPeep], [B, H], this.groups(H))
  }

  gruStep(
    reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
    hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
  ): void {
    const { programs, groups } = this.step(B, H)
    if (reset === 'after') {
      this.run(programs.gruAfter, [xw, cPrev, wHh, bh, hw, gates, c], [B, H, H, H], groups)
      return
    }
    if (rc === null) throw new RecurError('BACKEND', "webgpu: gruStep with reset 'before' needs the rc buffer")
    // The c~ block's product needs Γr * c<t-1> of every unit: a second dispatch.
    this.run(programs.gruReset, [xw, cPrev, wHh, bh, hw, rc], [B, H, H, H], groups)
    this.run(programs.gruCandidate, [xw, rc, this.view(wHh, 2 * H * H, H * H), bh, cPrev, hw, gates, c], [B, H, H, H], groups)
  }

  gruBackwardStep(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const { programs, groups } = this.step(B, H)
    const K = reset === 'after' ? 3 * H : 2 * H
    const operands = [gates, hw, bh, cPrev, dcOut, dcNext, dxw, dhw, dcPrev, dhwNext, wHh]
    if (this.fitsOneKernel(operands)) {
      this.run(programs.gruBackward, operands, [B, H, dhwNext === null ? 0 : K, 3 * H, reset === 'after' ? 1 : 0], groups)
    } else {
      // The two-kernel composition; gruBackward reads each element of dc_next before writing dcPrev's.
      const dcIn = this.addProduct(B, H, K, dhwNext, 3 * H, wHh, dcNext, dcPrev)
      this.gruBackward(reset, B, H, gates, hw, bh, cPrev, dcOut, dcIn, dxw, dhw, dcPrev)
    }
    if (reset === 'before') {
      // drc = dhw[c~] W_cc needs dz_c of every unit: a second dispatch.
      const dhwCand = this.view(dhw, 2 * H, dhw.length - 2 * H), wCand = this.view(wHh, 2 * H * H, H * H)
      this.run(programs.gruResetBackward, [gates, cPrev, dhwCand, wCand, dxw, dhw, dcPrev], [B, H, H, 3 * H], groups)
    }
  }

  /** The fused step programs for a batch of B and their workgroups (units x rows). */
  private step(B: number, H: number): { programs: StepPrograms; groups: [number, number] } {
    const tile = stepTile(B)
    let programs = this.stepProgramsByTile.get(tile.name)
    if (programs === undefined) {
      programs = stepPrograms(tile)
      this.stepProgramsByTile.set(tile.name, programs)
    }
    const groups: [number, number] = [Math.ceil(H / tile.UJ), Math.ceil(B / tile.UB)]
    if (groups[0] > MAX_GROUPS_PER_DIMENSION || groups[1] > MAX_GROUPS_PER_DIMENSION) {
      throw new RecurError('SHAPE', `webgpu: a recurrent step of B = ${B}, H = ${H} is larger than one dispatch covers (${MAX_GROUPS_PER_DIMENSION * tile.UB} x ${MAX_GROUPS_PER_DIMENSION * tile.UJ})`)
    }
    return { programs, groups }
  }

  /** Whether the operands lie in few enough GPU buffers for one kernel to bind them all. */
  private fitsOneKernel(operands: readonly (BufferHandle | null)[]): boolean {
    const buffers = new Set<Allocation>()
    for (const operand of operands) if (operand !== null) buffers.add(this.b(operand).allocation)
    return buffers.size <= STORAGE_BUFFERS_NEEDED
  }

  /**
   * The fallback's incoming gradient: `carry` alone without a pending product, else
   * out (B,H) = carry + dzNext (B, K; row stride ld) W_hh's first K rows, returned.
   */
  private addProduct(B: number, H: number, K: number, dzNext: BufferHandle | null, ld: number, wHh: BufferHandle, carry: BufferHandle, out: BufferHandle): BufferHandle {
    if (dzNext === null) return carry
    this.gemm({ transA: false, transB: false, m: B, n: H, k: K, alpha: 1, a: dzNext, lda: ld, b: wHh, ldb: H, beta: 0, c: out, ldc: H })
    this.axpy(B * H, 1, carry, out)
    return out
  }

  // ---- padding and pooling ------------------------------------------------------------------------

  holdForward(B: number, H: number, mask: BufferHandle, prev: BufferHandle, out: BufferHandle): void {
    this.each(HOLD_FORWARD, B * H, [mask, prev, out], [H])
  }

  holdBackward(B: number, H: number, mask: BufferHandle, d: BufferHandle, dHeld: BufferHandle): void {
    this.each(HOLD_BACKWARD, B * H, [mask, d, dHeld], [H])
  }

  poolForward(kind: Pooling, T: number, B: number, H: number, xs: BufferHandle, mask: BufferHandle | null, out: BufferHandle, argmax: BufferHandle | null): void {
    this.each(POOL_FORWARD, B * H, [xs, mask, out, argmax], [T, B, H, kind === 'max' ? 1 : 0])
  }

  poolBackward(kind: Pooling, T: number, B: number, H: number, dOut: BufferHandle, mask: BufferHandle | null, argmax: BufferHandle | null, dxs: BufferHandle): void {
    this.each(POOL_BACKWARD, B * H, [dOut, mask, kind === 'max' ? argmax : null, dxs], [T, B, H, kind === 'max' ? 1 : 0])
  }

  // ---- embedding ------------------------------------------------------------------------------

  gather(N: number, D: number, table: BufferHandle, ids: BufferHandle, out: BufferHandle): void {
    this.each(GATHER, N * D, [table, ids, out], [D])
  }

  scatterAdd(N: number, D: number, dOut: BufferHandle, ids: BufferHandle, dTable: BufferHandle): void {
    this.each(SCATTER_ADD, N * D, [dOut, ids, dTable], [D])
  }

  // ---- losses and probabilities -------------------------------------------------------------------

  softmaxCrossEntropy(
    N: number, V: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    if (N <= 0) return
    const program = this.rowProgram('softmaxCrossEntropy', V, softmaxCrossEntropyProgram)
    this.run(program, [logits, targets, mask, losses, dLogits], [N, V, gradScale], this.rowGroups(N))
  }

  sigmoidCrossEntropy(
    n: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    this.each(SIGMOID_CROSS_ENTROPY, n, [logits, targets, mask, losses, dLogits], [gradScale])
  }

  softmax(N: number, V: number, logits: BufferHandle, probs: BufferHandle, invTemperature: number): void {
    if (N <= 0) return
    const program = this.rowProgram('softmax', V, softmaxProgram)
    this.run(program, [logits, probs], [N, V, invTemperature], this.rowGroups(N))
  }

  private rowProgram(kind: string, V: number, make: (threads: number) => ProgramSpec): ProgramSpec {
    const threads = rowThreads(V)
    const key = `${kind}${threads}`
    let program = this.rowPrograms.get(key)
    if (program === undefined) {
      program = make(threads)
      this.rowPrograms.set(key, program)
    }
    return program
  }

  // ---- reductions, clipping, optimizers ---------------------------------------------------------

  sum(n: number, x: BufferHandle, out: BufferHandle): void {
    this.reduce(n, x, out, false)
  }

  sumSquares(n: number, x: BufferHandle, out: BufferHandle): void {
    this.reduce(n, x, out, true)
  }

  /** out[0] = Σ x or Σ x²: one workgroup for short inputs; else partial sums per workgroup, then their sum. */
  private reduce(n: number, x: BufferHandle, out: BufferHandle, square: boolean): void {
    if (n <= SINGLE_PASS_SUM) {
      this.run(REDUCE, [x, out], [n, n, square ? 1 : 0], [1])
      return
    }
    const chunk = Math.ceil(n / REDUCE_GROUPS)
    const groups = Math.ceil(n / chunk)
    this.run(REDUCE, [x, this.partials], [n, chunk, square ? 1 : 0], [groups])
    this.run(REDUCE, [this.partials, out], [groups, groups, 0], [1])
  }

  clipByNorm(n: number, x: BufferHandle, sumSq: BufferHandle, maxNorm: number): void {
    this.each(BASIC.clipByNorm, n, [x, sumSq], [maxNorm, maxNorm * maxNorm])
  }

  clipByValue(n: number, x: BufferHandle, limit: number): void {
    this.each(BASIC.clipByValue, n, [x], [limit])
  }

  sgdStep(n: number, p: BufferHandle, g: BufferHandle, velocity: BufferHandle, a: SgdArgs): void {
    this.each(BASIC.sgdStep, n, [p, g, velocity], [a.lr, a.momentum, a.weightDecay, a.nesterov ? 1 : 0])
  }

  adamStep(n: number, p: BufferHandle, g: BufferHandle, m: BufferHandle, v: BufferHandle, a: AdamArgs): void {
    // Bias corrections in double on the host: 1 / (1 - β^t).
    const invCorrection1 = 1 / (1 - Math.pow(a.beta1, a.step)), invCorrection2 = 1 / (1 - Math.pow(a.beta2, a.step))
    this.each(BASIC.adamStep, n, [p, g, m, v],
      [a.lr, a.beta1, a.beta2, 1 - a.beta1, 1 - a.beta2, a.eps, a.weightDecay, a.decoupled ? 1 : 0, invCorrection1, invCorrection2])
  }
}

const bitsView = new DataView(new ArrayBuffer(4))

/** The bits of a float as f32 (NaN, -0 and denormals included). */
function floatBits(value: number): number {
  bitsView.setFloat32(0, value)
  return bitsView.getUint32(0)
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`
}

/** One line on an adapter: its name, whether it is software, the limits that matter here, its features. */
export function describeAdapter(a: AdapterSummary): string {
  const features = ['shader-f16', 'subgroups'].map((f) => `${f} ${a.features.includes(f) ? 'yes' : 'no'}`).join(', ')
  return `${a.name}${a.software ? ' (software)' : ''}; buffers up to ${mebibytes(a.maxBindingBytes)}, ` +
    `${a.maxStorageBuffersPerStage} storage buffers per kernel, workgroups up to ${a.maxWorkgroupInvocations} threads / ` +
    `${a.maxWorkgroupStorageBytes / 1024} KiB; ${features} (unused: fp32 kernels)`
}
