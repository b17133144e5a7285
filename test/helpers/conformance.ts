/**
 * The kernel parity harness: every kernel of the `Kernels` interface, forward and backward, on a
 * grid of shapes, run on a backend under test and on the float64 reference oracle with identical
 * inputs, compared with a relative error measure and a tolerance per case.
 *
 *   runConformance('native', () => new NativeKernels())   // one line per backend
 *
 * How a case works (class `Bench`):
 * - Host data is rounded to the tested backend's precision first, so both sides see the same
 *   inputs and the comparison measures only the backend's arithmetic.
 * - Every operand is a view at an offset inside a larger buffer whose extra elements hold a guard
 *   value; the guards must be intact afterwards (no write outside the view) and, since the guards
 *   are finite numbers that would change the result, reading outside the view shows up as a wrong
 *   result too.
 * - Outputs written with `=` start as NaN garbage (a kernel that accumulates, or skips an element,
 *   fails); outputs accumulated with `+=` start with random values; padding between rows (ld > row
 *   width) holds NaN in inputs (it must never be used) and garbage in outputs (it must survive).
 * - Operands that are not outputs must come back unchanged, bit for bit.
 *
 * The error of element i is |got - want| / max(|want|, floor_i), where floor_i is the scale the
 * result's rounding error is proportional to (for a gemm, |alpha| Σ|a||b| + |beta||c|; for values
 * bounded by 1, 1). A floor of 0 demands exact equality. The tolerance is a number of ulps of the
 * tested precision (eps = 2^-23 for f32, 2^-52 for f64), given with its reason at each case.
 */
import { describe, test } from 'node:test'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Activation, BufferHandle, DType, GruReset, Kernels, Pooling } from '../../src/kernels/types.js'
import { Random } from '../../src/random.js'

/** The names of the interface's functions: the record of cases below must have one entry per name. */
export type KernelMethod = { [K in keyof Kernels]-?: Kernels[K] extends (...args: never[]) => unknown ? K : never }[keyof Kernels]

export type MakeBackend = () => Kernels | Promise<Kernels>

export interface ConformanceCase {
  /** The kernel, shapes and options, shown when the case fails. */
  label: string
  run(bench: Bench): Promise<void>
}

/** The shape grid: 1, odd sizes, and each typical tile width (8, 16, 32, 64) minus one and plus one. */
export const SIZES = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65] as const
/** Lengths for one-dimensional kernels: the grid plus wider vector and workgroup widths. */
export const LENGTHS = [...SIZES, 127, 128, 129, 255, 256, 257, 1000, 4097] as const
/** Batch sizes for the (B,H) cell kernels: the tile-sized axis is H (the fast one in memory). */
const BATCHES = [1, 2, 9, 33] as const

const GUARD_FLOAT = 7777.25 // exact in f32; would visibly change any result it leaked into
const GUARD_INT = -424242
const GARBAGE = -5555.5 // padding of outputs: must survive

interface Placed {
  whole: BufferHandle
  view: BufferHandle
}

/** One operand, placed on both backends at the same offset between guards. */
export interface Operand {
  readonly name: string
  readonly dtype: DType
  /** The values written (rounded to the tested precision). */
  readonly host: Float64Array | Int32Array
  readonly before: number
  readonly after: number
  readonly tested: Placed
  readonly oracle: Placed
  compared: boolean
}

export interface Expectation {
  /** Allowed error, in units of the measure above. */
  tol: number
  /** Denominator floor per element: a number, or a function of the element index. */
  floor: number | ((i: number) => number)
  /** Elements that the kernel's contract leaves unspecified. */
  ignore?: (i: number) => boolean
  /** Also require every value (tested and oracle) to be finite. */
  finite?: boolean
}

/** One case's world: a backend under test, the oracle, a seeded generator, and the operands. */
export class Bench {
  readonly k: Kernels
  readonly oracle: Kernels
  readonly random: Random
  /** Machine epsilon of the tested precision. */
  readonly eps: number
  private readonly operands: Operand[] = []

  constructor(k: Kernels, oracle: Kernels, random: Random) {
    this.k = k
    this.oracle = oracle
    this.random = random
    this.eps = k.precision === 'f32' ? 2 ** -23 : 2 ** -52
  }

  /** A value as the tested backend stores it. */
  round(v: number): number {
    return this.k.precision === 'f32' ? Math.fround(v) : v
  }

  uniform(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => this.random.range(lo, hi))
  }

  pick<T>(values: readonly T[]): T {
    return values[this.random.int(values.length)]
  }

  /** NaN garbage for outputs written with `=`. */
  nans(n: number): number[] {
    return new Array<number>(n).fill(NaN)
  }

  /** A (rows, cols) matrix with row stride ld; elements of the padding columns are `pad`. */
  matrix(rows: number, cols: number, ld: number, value: () => number, pad: number): number[] {
    const out = new Array<number>((rows - 1) * ld + cols).fill(pad)
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * ld + c] = value()
    return out
  }

  floats(name: string, values: ArrayLike<number>): Operand {
    return this.place(name, 'f32', Float64Array.from(values, (v) => this.round(v)))
  }

  ints(name: string, values: ArrayLike<number>): Operand {
    return this.place(name, 'i32', Int32Array.from(values))
  }

  private place(name: string, dtype: DType, host: Float64Array | Int32Array): Operand {
    const before = this.pick([0, 1, 3, 16]), after = this.pick([0, 2, 5])
    const put = (k: Kernels): Placed => {
      const total = before + host.length + after
      const whole = k.alloc(total, dtype)
      const data = dtype === 'i32' ? new Int32Array(total).fill(GUARD_INT) : new Float64Array(total).fill(GUARD_FLOAT)
      data.set(host, before)
      k.write(whole, data)
      return { whole, view: k.view(whole, before, host.length) }
    }
    const op: Operand = { name, dtype, host, before, after, tested: put(this.k), oracle: put(this.oracle), compared: false }
    this.operands.push(op)
    return op
  }

  /** Runs the same call on both backends; `v` maps an operand to that backend's view. */
  run(call: (k: Kernels, v: (op: Operand) => BufferHandle) => void): void {
    call(this.k, (op) => op.tested.view)
    call(this.oracle, (op) => op.oracle.view)
  }

  /** The oracle's result for an operand (to derive floors from). */
  async want(op: Operand): Promise<Float64Array> {
    return Float64Array.from(await this.oracle.read(op.oracle.view))
  }

  /** Compares an output with the oracle's. */
  async expect(op: Operand, e: Expectation): Promise<void> {
    op.compared = true
    const got = op.dtype === 'i32' ? await this.k.readInt(op.tested.view) : await this.k.read(op.tested.view)
    const want = op.dtype === 'i32' ? await this.oracle.readInt(op.oracle.view) : await this.oracle.read(op.oracle.view)
    if (got.length !== want.length) throw new Error(`${op.name}: read ${got.length} values, expected ${want.length}`)
    let worst = 0, at = -1
    for (let i = 0; i < want.length; i++) {
      if (e.ignore?.(i) === true) continue
      if (e.finite === true && !(Number.isFinite(got[i]) && Number.isFinite(want[i]))) {
        throw new Error(`${op.name}[${i}]: not finite: got ${got[i]}, oracle ${want[i]}`)
      }
      const floor = typeof e.floor === 'number' ? e.floor : e.floor(i)
      const err = elementError(got[i], want[i], floor)
      if (!(err <= worst)) {
        worst = err
        at = i
      }
    }
    if (!(worst <= e.tol)) {
      const floor = typeof e.floor === 'number' ? e.floor : e.floor(at)
      throw new Error(
        `${op.name}[${at}]: got ${got[at]}, want ${want[at]}: error ${worst.toExponential(3)} > tolerance ${e.tol.toExponential(3)}` +
        ` (${(e.tol / this.eps).toFixed(0)} ulps of ${this.k.precision}, floor ${floor})`,
      )
    }
  }

  /** Requires exact agreement (copies, lookups, integer results). */
  async expectExact(op: Operand): Promise<void> {
    await this.expect(op, { tol: 0, floor: 0 })
  }

  /** After a case: every guard intact, every operand not compared unchanged. */
  async finish(): Promise<void> {
    for (const op of this.operands) {
      const whole = op.dtype === 'i32' ? await this.k.readInt(op.tested.whole) : await this.k.read(op.tested.whole)
      const guard = op.dtype === 'i32' ? GUARD_INT : GUARD_FLOAT
      for (let i = 0; i < whole.length; i++) {
        const inside = i >= op.before && i < op.before + op.host.length
        if (!inside && whole[i] !== guard) {
          throw new Error(`${op.name}: element ${i - op.before} outside the view [0, ${op.host.length}) was overwritten (${whole[i]})`)
        }
        if (inside && !op.compared && !Object.is(whole[i], op.host[i - op.before])) {
          throw new Error(`${op.name} is an input but element ${i - op.before} changed from ${op.host[i - op.before]} to ${whole[i]}`)
        }
      }
    }
  }
}

/** |got - want| / max(|want|, floor); exact matching for non-finite values and for a zero floor. */
export function elementError(got: number, want: number, floor: number): number {
  if (Number.isNaN(want)) return Number.isNaN(got) ? 0 : Infinity
  if (!Number.isFinite(want) || !Number.isFinite(got)) return Object.is(got, want) || got === want ? 0 : Infinity
  const diff = Math.abs(got - want)
  if (diff === 0) return 0
  const scale = Math.max(Math.abs(want), floor)
  return scale === 0 ? Infinity : diff / scale
}

// ---- the cases -----------------------------------------------------------------------------------

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))
const forward: Record<Activation, (x: number) => number> = {
  identity: (x) => x,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
}
const ACTIVATIONS: readonly Activation[] = ['identity', 'tanh', 'sigmoid', 'relu']
/** Values that break naive formulas: exp overflow (tanh, sigmoid), f32 denormals, ±0, the f32 range. */
const EXTREMES = [1e4, -1e4, 3e38, -3e38, 100, -100, 88.5, -88.5, 20, -20, 1e-8, -1e-8, 1e-40, 0, -0]

/** A pre-activation: mostly moderate, with a share of saturating values when `extreme`. */
function preActivation(b: Bench, extreme: boolean): number {
  if (extreme && b.random.uniform() < 0.3) return b.pick([1e4, -1e4, 60, -60, 30, -30])
  return b.random.range(-3, 3)
}

/**
 * A consistent LSTM forward state for the backward kernels, on the bench: gates (B,4H) [Γu Γf c~ Γo],
 * c<t-1> (B,H) and c<t> = Γu c~ + Γf c<t-1>, from the values the backend will hold (rounded).
 */
function lstmForwardState(b: Bench, B: number, H: number, saturated: boolean) {
  const gates: number[] = []
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < H; j++) gates.push(gateValue(b, saturated))
    for (let j = 0; j < H; j++) gates.push(gateValue(b, saturated))
    for (let j = 0; j < H; j++) gates.push(candidateValue(b, saturated))
    for (let j = 0; j < H; j++) gates.push(gateValue(b, saturated))
  }
  const cp = b.uniform(B * H, -2, 2)
  const c = cp.map((x, idx) => {
    const r = Math.floor(idx / H), j = idx % H, row = r * 4 * H
    return b.round(gates[row + j]) * b.round(gates[row + 2 * H + j]) + b.round(gates[row + H + j]) * b.round(x)
  })
  return { G: b.floats('gates', gates), cPrev: b.floats('cPrev', cp), C: b.floats('c', c) }
}

/** A gate value in (0,1), or exactly 0 / 1 (saturated) when `saturated`. */
function gateValue(b: Bench, saturated: boolean): number {
  if (saturated && b.random.uniform() < 0.3) return b.pick([0, 1])
  return sigmoid(b.random.range(-3, 3))
}

function candidateValue(b: Bench, saturated: boolean): number {
  if (saturated && b.random.uniform() < 0.3) return b.pick([-1, 1])
  return Math.tanh(b.random.range(-3, 3))
}

function cases(): Record<KernelMethod, ConformanceCase[]> {
  return {
    alloc: allocCases(),
    view: viewCases(),
    write: writeCases(),
    read: readCases(),
    readInt: readIntCases(),
    free: freeCases(),
    gemm: gemmCases(),
    fill: fillCases(),
    copy: copyCases(),
    axpy: axpyCases(),
    scale: scaleCases(),
    mul: mulCases(),
    addBias: addBiasCases(),
    biasGrad: biasGradCases(),
    activation: activationCases(),
    activationBackward: activationBackwardCases(),
    rnnForward: rnnForwardCases(),
    rnnBackward: rnnBackwardCases(),
    lstmForward: lstmForwardCases(),
    lstmBackward: lstmBackwardCases(),
    gruResetForward: gruResetForwardCases(),
    gruForward: gruForwardCases(),
    gruBackward: gruBackwardCases(),
    gruResetBackward: gruResetBackwardCases(),
    rnnStep: rnnStepCases(),
    rnnBackwardStep: rnnBackwardStepCases(),
    lstmStep: lstmStepCases(),
    lstmBackwardStep: lstmBackwardStepCases(),
    gruStep: gruStepCases(),
    gruBackwardStep: gruBackwardStepCases(),
    holdForward: holdForwardCases(),
    holdBackward: holdBackwardCases(),
    poolForward: poolForwardCases(),
    poolBackward: poolBackwardCases(),
    gather: gatherCases(),
    scatterAdd: scatterAddCases(),
    softmaxCrossEntropy: softmaxCrossEntropyCases(),
    sigmoidCrossEntropy: sigmoidCrossEntropyCases(),
    softmax: softmaxCases(),
    sum: sumCases(),
    sumSquares: sumSquaresCases(),
    clipByNorm: clipByNormCases(),
    clipByValue: clipByValueCases(),
    sgdStep: sgdStepCases(),
    adamStep: adamStepCases(),
  }
}

// ---- memory: checked against the contract directly (the oracle obeys the same one) -------------------

function fail(message: string): never {
  throw new Error(message)
}

function sameValues(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  if (got.length !== want.length) fail(`${what}: length ${got.length}, expected ${want.length}`)
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(got[i] === 0 && want[i] === 0)) fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`)
  }
}

function allocCases(): ConformanceCase[] {
  return [1, 7, 64, 65, 1000].flatMap((n) => (['f32', 'i32'] as const).map((dtype) => ({
    label: `alloc ${dtype} n=${n}: zero-filled, even where freed memory is reused`,
    run: async (b: Bench) => {
      const { k } = b
      // Dirty memory of the same size first: a pooling backend must still hand out zeros.
      const dirty = k.alloc(n, dtype)
      k.write(dirty, new Array<number>(n).fill(dtype === 'i32' ? -3 : NaN))
      k.free(dirty)
      const buf = k.alloc(n, dtype)
      if (buf.length !== n || buf.dtype !== dtype || buf.backend !== k.name) {
        fail(`alloc(${n}, ${dtype}) gave length ${buf.length}, dtype ${buf.dtype}, backend '${buf.backend}'`)
      }
      sameValues('alloc', dtype === 'i32' ? await k.readInt(buf) : await k.read(buf), new Array<number>(n).fill(0))
    },
  })))
}

function viewCases(): ConformanceCase[] {
  return [[1, 0, 1], [65, 0, 65], [65, 17, 31], [4097, 4000, 97], [33, 32, 1]].map(([n, offset, length]) => ({
    label: `view n=${n} offset=${offset} length=${length}: shares storage, composes`,
    run: async (b: Bench) => {
      const { k } = b
      const host = b.uniform(n, -1, 1).map((v) => b.round(v))
      const buf = k.alloc(n)
      k.write(buf, host)
      const v = k.view(buf, offset, length)
      if (v.length !== length || v.dtype !== 'f32') fail(`view length ${v.length} dtype ${v.dtype}`)
      sameValues('read(view)', await k.read(v), host.slice(offset, offset + length))
      // Writes through the view land in the parent, and only there.
      const fresh = b.uniform(length, 2, 3).map((x) => b.round(x))
      k.write(v, fresh)
      const expected = [...host]
      expected.splice(offset, length, ...fresh)
      sameValues('parent after write(view)', await k.read(buf), expected)
      // A view of a view starts at the sum of the offsets.
      const inner = k.view(v, length > 1 ? 1 : 0, length > 1 ? length - 1 : 1)
      sameValues('read(view of view)', await k.read(inner), expected.slice(offset + (length > 1 ? 1 : 0), offset + length))
      // Integer buffers have views too.
      const ints = k.alloc(n, 'i32')
      k.write(ints, Array.from({ length: n }, (_, i) => i - 5))
      sameValues('readInt(view)', await k.readInt(k.view(ints, offset, length)), Array.from({ length }, (_, i) => offset + i - 5))
    },
  }))
}

function writeCases(): ConformanceCase[] {
  return [1, 9, 64, 1000].map((n) => ({
    label: `write/read round trip n=${n} (NaN, ±Infinity, -0, denormals kept bit for bit)`,
    run: async (b: Bench) => {
      const { k } = b
      const special = [NaN, Infinity, -Infinity, -0, 1e-40, -1e-40, 3.4e38, 1e4, -1e4]
      const host = Array.from({ length: n }, (_, i) => b.round(i < special.length && n > 1 ? special[i] : b.random.range(-10, 10)))
      const buf = k.alloc(n)
      k.write(buf, host)
      sameValues('read after write', await k.read(buf), host)
      k.write(buf, Float64Array.from(host)) // any ArrayLike
      sameValues('read after write(Float64Array)', await k.read(buf), host)
    },
  }))
}

function readCases(): ConformanceCase[] {
  return [1, 65].map((n) => ({
    label: `read n=${n}: a copy, in the backend's precision`,
    run: async (b: Bench) => {
      const { k } = b
      const host = b.uniform(n, -1, 1)
      const buf = k.alloc(n)
      k.write(buf, host)
      const first = await k.read(buf)
      const expectedType = k.precision === 'f32' ? Float32Array : Float64Array
      if (!(first instanceof expectedType)) fail(`read returned ${(first as object).constructor.name}, expected ${expectedType.name} for precision ${k.precision}`)
      first.fill(123)
      sameValues('read after mutating an earlier read', await k.read(buf), host.map((v) => b.round(v)))
    },
  }))
}

function readIntCases(): ConformanceCase[] {
  return [1, 65, 4097].map((n) => ({
    label: `readInt n=${n}: exact int32 round trip, a copy`,
    run: async (b: Bench) => {
      const { k } = b
      const host = Array.from({ length: n }, (_, i) => (i === 0 ? 2147483647 : i === 1 ? -2147483648 : b.random.int(2000) - 1000))
      const buf = k.alloc(n, 'i32')
      k.write(buf, host)
      const first = await k.readInt(buf)
      if (!(first instanceof Int32Array)) fail(`readInt returned ${(first as object).constructor.name}`)
      sameValues('readInt', first, host)
      first.fill(9)
      sameValues('readInt after mutating an earlier read', await k.readInt(buf), host)
    },
  }))
}

function freeCases(): ConformanceCase[] {
  return [{
    label: 'free: other buffers and their views keep their contents',
    run: async (b: Bench) => {
      const { k } = b
      const keep = k.alloc(65)
      const host = b.uniform(65, -1, 1).map((v) => b.round(v))
      k.write(keep, host)
      const keepView = k.view(keep, 10, 20)
      for (let i = 0; i < 8; i++) {
        const tmp = k.alloc(65)
        k.write(tmp, new Array<number>(65).fill(i))
        k.free(tmp)
      }
      sameValues('buffer after others were freed', await k.read(keep), host)
      sameValues('view after others were freed', await k.read(keepView), host.slice(10, 30))
    },
  }]
}

// ---- dense linear algebra ----------------------------------------------------------------------------

/** alpha/beta pairs, cycled over the shapes: beta = 0 overwrites NaN garbage; alpha = 0 as well. */
const ALPHA_BETA: readonly (readonly [number, number])[] = [[1, 0], [1, 1], [-1.5, 0.5], [0.5, 0], [2, -1], [0, 0.25], [0, 0]]
/** Extra row stride of a, b, c (ld = row width + pad), cycled with a length coprime to ALPHA_BETA's. */
const PADS: readonly (readonly [number, number, number])[] = [[0, 0, 0], [1, 3, 2], [5, 0, 1], [0, 2, 17], [16, 16, 16]]

function gemmCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  let index = 0
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const m of SIZES) {
        for (const n of SIZES) {
          for (const K of SIZES) {
            const [alpha, beta] = ALPHA_BETA[index % ALPHA_BETA.length]
            const pad = PADS[index % PADS.length]
            index++
            out.push(gemmCase(transA, transB, m, n, K, alpha, beta, pad))
          }
        }
      }
    }
  }
  return out
}

export function gemmCase(
  transA: boolean, transB: boolean, m: number, n: number, K: number, alpha: number, beta: number,
  pad: readonly [number, number, number],
): ConformanceCase {
  const label = `gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} m=${m} n=${n} k=${K} alpha=${alpha} beta=${beta} ld=width+[${pad.join(',')}]`
  return {
    label,
    run: async (b) => {
      const [aRows, aCols] = transA ? [K, m] : [m, K]
      const [bRows, bCols] = transB ? [n, K] : [K, n]
      const lda = aCols + pad[0], ldb = bCols + pad[1], ldc = n + pad[2]
      const value = () => b.random.range(-1, 1)
      // Input padding is NaN: a kernel may load it but must never let it into a result.
      const A = b.floats('a', b.matrix(aRows, aCols, lda, value, NaN))
      const B = b.floats('b', b.matrix(bRows, bCols, ldb, value, NaN))
      // beta = 0: C's old contents are NaN garbage that must be ignored. C's padding must survive.
      const C = b.floats('c', b.matrix(m, n, ldc, beta === 0 ? () => NaN : value, GARBAGE))
      b.run((k, v) => k.gemm({ transA, transB, m, n, k: K, alpha, a: v(A), lda, b: v(B), ldb, beta, c: v(C), ldc }))
      const a = A.host, bm = B.host, c = C.host
      // Floor: the magnitude the rounding error of element (i,j) scales with, |alpha| Σ_p |a_ip b_pj| + |beta c_ij|.
      const floor = (idx: number): number => {
        const i = Math.floor(idx / ldc), j = idx % ldc
        if (j >= n) return 0 // padding: untouched, exactly
        let s = 0
        for (let p = 0; p < K; p++) {
          s += Math.abs(transA ? a[p * lda + i] : a[i * lda + p]) * Math.abs(transB ? bm[j * ldb + p] : bm[p * ldb + j])
        }
        return Math.abs(alpha) * s + (beta === 0 ? 0 : Math.abs(beta * c[idx]))
      }
      // Tolerance: a dot product of length K plus the beta term is off by at most γ_{K+1} ≈ (K+1)·eps/2
      // of that magnitude in any summation order (Higham, Accuracy and Stability, §3.1); (K+2)·eps
      // doubles it for margin. The error grows with K: a fixed tolerance would be loose for small K
      // and fail honest f32 kernels for large K.
      await b.expect(C, { tol: (K + 2) * b.eps, floor })
    },
  }
}

function fillCases(): ConformanceCase[] {
  return LENGTHS.map((n, i) => ({
    label: `fill n=${n} (of ${n + (i % 3)})`,
    run: async (b) => {
      const tail = i % 3 // elements past n must stay
      // Scalars exact in f32, so the expected result is exact too.
      const value = [0, -2.5, 1e4, 0.125][i % 4]
      const X = b.floats('x', [...b.nans(n), ...b.uniform(tail, -1, 1)])
      b.run((k, v) => k.fill(n, v(X), value))
      await b.expectExact(X)
    },
  }))
}

function copyCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  let index = 0
  for (const rows of [1, 3, 17, 64]) {
    for (const cols of SIZES) {
      const [padSrc, padDst] = [[0, 0], [1, 5], [3, 0], [0, 16]][index++ % 4]
      out.push({
        label: `copy rows=${rows} cols=${cols} ldSrc=cols+${padSrc} ldDst=cols+${padDst}`,
        run: async (b) => {
          const ldSrc = cols + padSrc, ldDst = cols + padDst
          const S = b.floats('src', b.matrix(rows, cols, ldSrc, () => b.random.range(-1, 1), NaN))
          const D = b.floats('dst', b.matrix(rows, cols, ldDst, () => NaN, GARBAGE))
          b.run((k, v) => k.copy(rows, cols, v(S), ldSrc, v(D), ldDst))
          await b.expectExact(D)
        },
      })
    }
  }
  return out
}

function axpyCases(): ConformanceCase[] {
  return LENGTHS.map((n, i) => ({
    label: `axpy n=${n}`,
    run: async (b) => {
      const alpha = [1, -0.75, 3][i % 3], tail = i % 2
      const X = b.floats('x', b.uniform(n + tail, -1, 1))
      const Y = b.floats('y', b.uniform(n + tail, -1, 1))
      b.run((k, v) => k.axpy(n, alpha, v(X), v(Y)))
      // One multiply and one add: 2 roundings of |y| + |alpha x| (the sum can cancel, so not of |y + alpha x|).
      await b.expect(Y, { tol: 2 * b.eps, floor: (j) => (j < n ? Math.abs(Y.host[j]) + Math.abs(alpha * X.host[j]) : 0) })
    },
  }))
}

function scaleCases(): ConformanceCase[] {
  return LENGTHS.map((n, i) => ({
    label: `scale n=${n}`,
    run: async (b) => {
      const alpha = [0.5, -3.25, 0, 1e-3][i % 4], tail = i % 2
      const X = b.floats('x', b.uniform(n + tail, -1, 1))
      b.run((k, v) => k.scale(n, v(X), alpha))
      await b.expect(X, { tol: b.eps, floor: 0 }) // one rounded product: relative error ≤ eps/2
    },
  }))
}

function mulCases(): ConformanceCase[] {
  return LENGTHS.map((n, i) => ({
    label: `mul n=${n}`,
    run: async (b) => {
      const tail = i % 2
      // A dropout mask: zeros and 1/keep.
      const X = b.floats('mask', Array.from({ length: n + tail }, () => (b.random.uniform() < 0.3 ? 0 : 1 / 0.7)))
      const Y = b.floats('y', b.uniform(n + tail, -1, 1))
      b.run((k, v) => k.mul(n, v(X), v(Y)))
      await b.expect(Y, { tol: b.eps, floor: 0 }) // one rounded product
    },
  }))
}

function addBiasCases(): ConformanceCase[] {
  return BATCHES.flatMap((rows) => SIZES.map((cols) => ({
    label: `addBias rows=${rows} cols=${cols}`,
    run: async (b: Bench) => {
      const X = b.floats('x', b.uniform(rows * cols, -1, 1))
      const bias = b.floats('bias', b.uniform(cols, -1, 1))
      b.run((k, v) => k.addBias(rows, cols, v(X), v(bias)))
      await b.expect(X, { tol: b.eps, floor: (i) => Math.abs(X.host[i]) + Math.abs(bias.host[i % cols]) }) // one rounded sum
    },
  })))
}

function biasGradCases(): ConformanceCase[] {
  return [1, 2, 9, 33, 130].flatMap((rows) => SIZES.map((cols) => ({
    label: `biasGrad rows=${rows} cols=${cols} (+=)`,
    run: async (b: Bench) => {
      const dy = b.floats('dy', b.uniform(rows * cols, -1, 1))
      const db = b.floats('dBias', b.uniform(cols, -1, 1)) // += onto what is there
      b.run((k, v) => k.biasGrad(rows, cols, v(dy), v(db)))
      // A sum of rows+1 terms in any order: within (rows+1)·eps of Σ|terms| (as for gemm).
      const floor = (c: number): number => {
        let s = Math.abs(db.host[c])
        for (let r = 0; r < rows; r++) s += Math.abs(dy.host[r * cols + c])
        return s
      }
      await b.expect(db, { tol: (rows + 1) * b.eps, floor })
    },
  })))
}

// Activations: outputs of tanh and sigmoid lie in [-1,1] and their f32 implementations are accurate
// to a few ulps of 1, not of a tiny result (sigmoid(-88) is denormal), so the floor is 1. identity
// and relu are exact. 4 ulps allows a vectorised exp/tanh that is not correctly rounded.
function activationCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  for (const kind of ACTIVATIONS) {
    for (const [i, n] of LENGTHS.entries()) {
      const inPlace = i % 2 === 1
      out.push({
        label: `activation ${kind} n=${n}${inPlace ? ' in place' : ''}`,
        run: async (b) => {
          const X = b.floats('x', b.uniform(n, -6, 6))
          const Y = inPlace ? X : b.floats('y', b.nans(n))
          b.run((k, v) => k.activation(kind, n, v(X), v(Y)))
          await b.expect(Y, { tol: 4 * b.eps, floor: 1 })
        },
      })
    }
    out.push({
      label: `activation ${kind} on extreme values [${EXTREMES.join(', ')}]`,
      run: async (b) => {
        const X = b.floats('x', EXTREMES)
        const Y = b.floats('y', b.nans(EXTREMES.length))
        b.run((k, v) => k.activation(kind, EXTREMES.length, v(X), v(Y)))
        await b.expect(Y, { tol: 4 * b.eps, floor: 1, finite: true })
      },
    })
  }
  return out
}

function activationBackwardCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  for (const kind of ACTIVATIONS) {
    for (const n of LENGTHS) {
      out.push({
        label: `activationBackward ${kind} n=${n}`,
        run: async (b) => {
          // y = f(x) as the forward left it (saturated values included), dy arbitrary.
          const xs = [...EXTREMES, ...b.uniform(n, -6, 6)].slice(0, n)
          const Y = b.floats('y', xs.map(forward[kind]))
          const dY = b.floats('dy', b.uniform(n, -2, 2))
          const dX = b.floats('dx', b.nans(n))
          b.run((k, v) => k.activationBackward(kind, n, v(Y), v(dY), v(dX)))
          // dx = dy * f'(y): one to three roundings on values bounded by |dy| ≤ 2.
          await b.expect(dX, { tol: 4 * b.eps, floor: 1, finite: true })
        },
      })
    }
  }
  return out
}

// ---- recurrent cells ------------------------------------------------------------------------------------
// Cell kernels work on O(1) values (gates in [0,1], tanh outputs in [-1,1], states of a few units),
// so their errors are absolute errors of O(1) results: floor 1. A forward step is a few exp/tanh
// evaluations and products (16 ulps); a backward step chains up to ~10 roundings through products
// of factors bounded by ~3 (64 ulps).

const FWD_ULPS = 16
const BWD_ULPS = 64

function cellShapes(): [number, number][] {
  return BATCHES.flatMap((B) => SIZES.map((H): [number, number] => [B, H]))
}

function rnnForwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const extreme = i % 3 === 0
    return {
      label: `rnnForward B=${B} H=${H}${extreme ? ' with saturating pre-activations (±1e4)' : ''}`,
      run: async (b: Bench) => {
        const Z = b.floats('z', Array.from({ length: B * H }, () => preActivation(b, extreme)))
        const A = b.floats('a', b.nans(B * H))
        b.run((k, v) => k.rnnForward(B, H, v(Z), v(A)))
        await b.expect(A, { tol: FWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  })
}

function rnnBackwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const saturated = i % 3 === 0
    return {
      label: `rnnBackward B=${B} H=${H}${saturated ? ' saturated' : ''}`,
      run: async (b: Bench) => {
        const A = b.floats('a', Array.from({ length: B * H }, () => candidateValue(b, saturated)))
        const dOut = b.floats('daOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('daNext', b.uniform(B * H, -1, 1))
        const dZ = b.floats('dz', b.nans(B * H))
        b.run((k, v) => k.rnnBackward(B, H, v(A), v(dOut), v(dNext), v(dZ)))
        await b.expect(dZ, { tol: BWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  })
}

function lstmForwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const peephole = i % 2 === 0, extreme = i % 3 === 0
    return {
      label: `lstmForward B=${B} H=${H}${peephole ? ' peephole' : ''}${extreme ? ' with saturating pre-activations (±1e4)' : ''}`,
      run: async (b: Bench) => {
        const Z = b.floats('z', Array.from({ length: B * 4 * H }, () => preActivation(b, extreme)))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -2, 2))
        const P = peephole ? b.floats('peep', b.uniform(3 * H, -0.5, 0.5)) : null
        const G = b.floats('gates', b.nans(B * 4 * H))
        const C = b.floats('c', b.nans(B * H))
        const A = b.floats('a', b.nans(B * H))
        b.run((k, v) => k.lstmForward(B, H, v(Z), v(cPrev), P === null ? null : v(P), v(G), v(C), v(A)))
        for (const out of [G, C, A]) await b.expect(out, { tol: FWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  })
}

function lstmBackwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const peephole = i % 2 === 1, saturated = i % 3 === 0
    return {
      label: `lstmBackward B=${B} H=${H}${peephole ? ' peephole (dPeep +=)' : ''}${saturated ? ' saturated gates' : ''}`,
      run: async (b: Bench) => {
        const { G, cPrev, C } = lstmForwardState(b, B, H, saturated)
        const P = peephole ? b.floats('peep', b.uniform(3 * H, -0.5, 0.5)) : null
        const dOut = b.floats('daOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('daNext', b.uniform(B * H, -1, 1))
        const dcNext = b.floats('dcNext', b.uniform(B * H, -1, 1))
        const dZ = b.floats('dz', b.nans(B * 4 * H))
        const dcPrev = b.floats('dcPrev', b.nans(B * H))
        const dP = peephole ? b.floats('dPeep', b.uniform(3 * H, -1, 1)) : null
        b.run((k, v) => k.lstmBackward(
          B, H, v(G), v(cPrev), v(C), P === null ? null : v(P), v(dOut), v(dNext), v(dcNext),
          v(dZ), v(dcPrev), dP === null ? null : v(dP),
        ))
        await b.expect(dZ, { tol: BWD_ULPS * b.eps, floor: 1, finite: true })
        await b.expect(dcPrev, { tol: BWD_ULPS * b.eps, floor: 1, finite: true })
        if (dP !== null) {
          // dPeep sums B terms (dz_u c<t-1>, dz_f c<t-1>, dz_o c<t>) onto its old value: a sum of B+1
          // terms within (B+1)·eps of Σ|terms|, plus each term's own 64 ulps.
          const dz = await b.want(dZ)
          const floor = (idx: number): number => {
            const block = Math.floor(idx / H), j = idx % H
            let s = Math.abs(dP.host[idx])
            for (let r = 0; r < B; r++) {
              const state = block === 2 ? C.host[r * H + j] : cPrev.host[r * H + j]
              s += Math.abs(dz[r * 4 * H + (block === 2 ? 3 : block) * H + j] * state)
            }
            return Math.max(s, 1)
          }
          await b.expect(dP, { tol: (B + 1 + BWD_ULPS) * b.eps, floor })
        }
      },
    }
  })
}

function gruResetForwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const extreme = i % 3 === 0
    return {
      label: `gruResetForward B=${B} H=${H}${extreme ? ' with saturating pre-activations' : ''}`,
      run: async (b: Bench) => {
        const xw = b.floats('xw', Array.from({ length: B * 3 * H }, () => preActivation(b, extreme)))
        const hw = b.floats('hw', b.uniform(B * 3 * H, -2, 2))
        const bh = b.floats('bh', b.uniform(3 * H, -1, 1))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const rc = b.floats('rc', b.nans(B * H))
        b.run((k, v) => k.gruResetForward(B, H, v(xw), v(hw), v(bh), v(cPrev), v(rc)))
        await b.expect(rc, { tol: FWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  })
}

function gruForwardCases(): ConformanceCase[] {
  return (['after', 'before'] as const).flatMap((reset) => cellShapes().map(([B, H], i) => {
    const extreme = i % 3 === 0
    return {
      label: `gruForward reset-${reset} B=${B} H=${H}${extreme ? ' with saturating pre-activations (±1e4)' : ''}`,
      run: async (b: Bench) => {
        const xw = b.floats('xw', Array.from({ length: B * 3 * H }, () => preActivation(b, extreme)))
        const hw = b.floats('hw', b.uniform(B * 3 * H, -2, 2))
        const bh = b.floats('bh', b.uniform(3 * H, -1, 1))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const G = b.floats('gates', b.nans(B * 3 * H))
        const C = b.floats('c', b.nans(B * H))
        b.run((k, v) => k.gruForward(reset, B, H, v(xw), v(hw), v(bh), v(cPrev), v(G), v(C)))
        for (const out of [G, C]) await b.expect(out, { tol: FWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  }))
}

/** [Γr Γu c~] rows of a consistent GRU forward state. */
function gruGates(b: Bench, B: number, H: number, saturated: boolean): number[] {
  const gates: number[] = []
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < 2 * H; j++) gates.push(gateValue(b, saturated))
    for (let j = 0; j < H; j++) gates.push(candidateValue(b, saturated))
  }
  return gates
}

function gruBackwardCases(): ConformanceCase[] {
  return (['after', 'before'] as const satisfies readonly GruReset[]).flatMap((reset) => cellShapes().map(([B, H], i) => {
    const saturated = i % 3 === 0
    return {
      label: `gruBackward reset-${reset} B=${B} H=${H}${saturated ? ' saturated gates' : ''}`,
      run: async (b: Bench) => {
        const G = b.floats('gates', gruGates(b, B, H, saturated))
        const hw = b.floats('hw', b.uniform(B * 3 * H, -2, 2))
        const bh = b.floats('bh', b.uniform(3 * H, -1, 1))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const dOut = b.floats('dcOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('dcNext', b.uniform(B * H, -1, 1))
        const dxw = b.floats('dxw', b.nans(B * 3 * H))
        const dhw = b.floats('dhw', b.nans(B * 3 * H))
        const dcPrev = b.floats('dcPrev', b.nans(B * H))
        b.run((k, v) => k.gruBackward(reset, B, H, v(G), v(hw), v(bh), v(cPrev), v(dOut), v(dNext), v(dxw), v(dhw), v(dcPrev)))
        // reset-before leaves the Γr blocks to gruResetBackward: unspecified here.
        const ignore = reset === 'before' ? (idx: number) => idx % (3 * H) < H : () => false
        for (const out of [dxw, dhw]) await b.expect(out, { tol: BWD_ULPS * b.eps, floor: 1, ignore, finite: true })
        await b.expect(dcPrev, { tol: BWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  }))
}

function gruResetBackwardCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const saturated = i % 3 === 0
    return {
      label: `gruResetBackward B=${B} H=${H}${saturated ? ' saturated gates' : ''} (Γr blocks =, dcPrev +=, other blocks kept)`,
      run: async (b: Bench) => {
        const G = b.floats('gates', gruGates(b, B, H, saturated))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const drc = b.floats('drc', b.uniform(B * H, -1, 1))
        // The Γu and c~ blocks hold gruBackward's results and must be kept; the Γr blocks are written.
        const partial = () => Array.from({ length: B * 3 * H }, (_, idx) => (idx % (3 * H) < H ? NaN : b.random.range(-1, 1)))
        const dxw = b.floats('dxw', partial())
        const dhw = b.floats('dhw', partial())
        const dcPrev = b.floats('dcPrev', b.uniform(B * H, -1, 1))
        b.run((k, v) => k.gruResetBackward(B, H, v(G), v(cPrev), v(drc), v(dxw), v(dhw), v(dcPrev)))
        for (const out of [dxw, dhw]) await b.expect(out, { tol: BWD_ULPS * b.eps, floor: (idx) => (idx % (3 * H) < H ? 1 : 0), finite: true })
        await b.expect(dcPrev, { tol: BWD_ULPS * b.eps, floor: 1, finite: true })
      },
    }
  })
}

// ---- recurrent cells, fused steps -------------------------------------------------------------------------
// A step kernel is the recurrent product and a pointwise kernel above (src/kernels/composed-steps.ts).
// The product z = xw + a<t-1> W_hh^T (backward: da = da_out + da_next + dz<t+1> W_hh over K columns)
// is within (K+2)·eps of its scale S = max |xw| + Σ_p |a_p| |W_jp|, as for gemm; the pointwise math
// after it passes an error in z on with a factor of at most 3 (σ' ≤ 1/4, tanh' ≤ 1, products with
// gates in [0,1] and with c<t-1> in [-2,2], peepholes below 1/2). So a step's tolerance is its pointwise
// kernel's ulps plus 3·(K+2)·S ulps, S computed from the case's data. W_hh is drawn at the scale of a
// trained one, U(±1/√H), so S stays O(√H) and the saturated cases stay rare.

/**
 * The scale of a recurrent product, max over rows r < B and columns j < n of
 * |carry[r,j]| + Σ_{p<K} |x[r,p]| |W(p,j)|; forward (z = carry + x W^T) W(p,j) = w[j*K + p],
 * backward (carry + x W) W(p,j) = w[p*n + j]. x has row stride ldx; carry is (B,n) or absent.
 */
function productScale(
  B: number, n: number, K: number, carry: ArrayLike<number> | null, x: ArrayLike<number> | null, ldx: number,
  w: ArrayLike<number>, transposed: boolean,
): number {
  let scale = 0
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < n; j++) {
      let s = carry === null ? 0 : Math.abs(carry[r * n + j])
      if (x !== null) for (let p = 0; p < K; p++) s += Math.abs(x[r * ldx + p]) * Math.abs(transposed ? w[j * K + p] : w[p * n + j])
      scale = Math.max(scale, s)
    }
  }
  return scale
}

/** The tolerance of a step: `ulps` of its pointwise kernel plus the product's 3·(K+2)·S (see above). */
function stepTolerance(b: Bench, ulps: number, K: number, scale: number): number {
  return (ulps + 3 * (K + 2) * scale) * b.eps
}

/** |x| + |y| elementwise (the carried gradients that add to the product). */
function absSum(x: ArrayLike<number>, y: ArrayLike<number>): number[] {
  return Array.from({ length: x.length }, (_, i) => Math.abs(x[i]) + Math.abs(y[i]))
}

/** W_hh (G*H, H) at a trained matrix's scale. */
function recurrentWeights(b: Bench, G: number, H: number): Operand {
  const limit = 1 / Math.sqrt(H)
  return b.floats('wHh', b.uniform(G * H * H, -limit, limit))
}

function rnnStepCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const extreme = i % 3 === 0
    return {
      label: `rnnStep B=${B} H=${H}${extreme ? ' with saturating pre-activations (±1e4)' : ''} (xw read only)`,
      run: async (b: Bench) => {
        const xw = b.floats('xw', Array.from({ length: B * H }, () => preActivation(b, extreme)))
        const aPrev = b.floats('aPrev', b.uniform(B * H, -1, 1))
        const W = recurrentWeights(b, 1, H)
        const A = b.floats('a', b.nans(B * H))
        b.run((k, v) => k.rnnStep(B, H, v(xw), v(aPrev), v(W), v(A)))
        const scale = productScale(B, H, H, xw.host, aPrev.host, H, W.host, true)
        await b.expect(A, { tol: stepTolerance(b, FWD_ULPS, H, scale), floor: 1, finite: true })
      },
    }
  })
}

function rnnBackwardStepCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const saturated = i % 3 === 0, pending = i % 2 === 0
    return {
      label: `rnnBackwardStep B=${B} H=${H}${pending ? ' with a pending product' : ''}${saturated ? ' saturated' : ''} (daPrev = 0)`,
      run: async (b: Bench) => {
        const A = b.floats('a', Array.from({ length: B * H }, () => candidateValue(b, saturated)))
        const dOut = b.floats('daOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('daNext', b.uniform(B * H, -1, 1))
        const dzNext = pending ? b.floats('dzNext', b.uniform(B * H, -1, 1)) : null
        const W = recurrentWeights(b, 1, H)
        const dZ = b.floats('dz', b.nans(B * H))
        const daPrev = b.floats('daPrev', b.nans(B * H))
        b.run((k, v) => k.rnnBackwardStep(B, H, v(A), v(dOut), v(dNext), dzNext === null ? null : v(dzNext), v(W), v(dZ), v(daPrev)))
        const scale = productScale(B, H, H, absSum(dOut.host, dNext.host), dzNext?.host ?? null, H, W.host, false)
        await b.expect(dZ, { tol: stepTolerance(b, BWD_ULPS, H, scale), floor: 1, finite: true })
        await b.expectExact(daPrev)
      },
    }
  })
}

function lstmStepCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    const peephole = i % 2 === 0, extreme = i % 3 === 0
    return {
      label: `lstmStep B=${B} H=${H}${peephole ? ' peephole' : ''}${extreme ? ' with saturating pre-activations (±1e4)' : ''} (xw read only)`,
      run: async (b: Bench) => {
        const xw = b.floats('xw', Array.from({ length: B * 4 * H }, () => preActivation(b, extreme)))
        const aPrev = b.floats('aPrev', b.uniform(B * H, -1, 1))
        const W = recurrentWeights(b, 4, H)
        const cPrev = b.floats('cPrev', b.uniform(B * H, -2, 2))
        const P = peephole ? b.floats('peep', b.uniform(3 * H, -0.5, 0.5)) : null
        const G = b.floats('gates', b.nans(B * 4 * H))
        const C = b.floats('c', b.nans(B * H))
        const A = b.floats('a', b.nans(B * H))
        b.run((k, v) => k.lstmStep(B, H, v(xw), v(aPrev), v(W), v(cPrev), P === null ? null : v(P), v(G), v(C), v(A)))
        const scale = productScale(B, 4 * H, H, xw.host, aPrev.host, H, W.host, true)
        for (const out of [G, C, A]) await b.expect(out, { tol: stepTolerance(b, FWD_ULPS, H, scale), floor: 1, finite: true })
      },
    }
  })
}

function lstmBackwardStepCases(): ConformanceCase[] {
  return cellShapes().map(([B, H], i) => {
    // Every pairing of peephole and pending product, each over every H.
    const peephole = i % 2 === 1, pending = Math.floor(i / 2) % 2 === 0, saturated = i % 3 === 0
    return {
      label: `lstmBackwardStep B=${B} H=${H}${peephole ? ' peephole (dPeep +=)' : ''}${pending ? ' with a pending product' : ''}${saturated ? ' saturated gates' : ''} (daPrev = 0)`,
      run: async (b: Bench) => {
        const { G, cPrev, C } = lstmForwardState(b, B, H, saturated)
        const P = peephole ? b.floats('peep', b.uniform(3 * H, -0.5, 0.5)) : null
        const dOut = b.floats('daOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('daNext', b.uniform(B * H, -1, 1))
        const dzNext = pending ? b.floats('dzNext', b.uniform(B * 4 * H, -1, 1)) : null
        const W = recurrentWeights(b, 4, H)
        const dcNext = b.floats('dcNext', b.uniform(B * H, -1, 1))
        const dZ = b.floats('dz', b.nans(B * 4 * H))
        const daPrev = b.floats('daPrev', b.nans(B * H))
        const dcPrev = b.floats('dcPrev', b.nans(B * H))
        const dP = peephole ? b.floats('dPeep', b.uniform(3 * H, -1, 1)) : null
        b.run((k, v) => k.lstmBackwardStep(
          B, H, v(G), v(cPrev), v(C), P === null ? null : v(P), v(dOut), v(dNext), dzNext === null ? null : v(dzNext),
          v(W), v(dcNext), v(dZ), v(daPrev), v(dcPrev), dP === null ? null : v(dP),
        ))
        const scale = productScale(B, H, 4 * H, absSum(dOut.host, dNext.host), dzNext?.host ?? null, 4 * H, W.host, false)
        const tol = stepTolerance(b, BWD_ULPS, 4 * H, scale)
        await b.expect(dZ, { tol, floor: 1, finite: true })
        await b.expect(dcPrev, { tol, floor: 1, finite: true })
        await b.expectExact(daPrev)
        if (dP !== null) {
          // dPeep sums B terms dz·state onto its old value ((B+1)·eps of Σ|terms|), and each dz is
          // within tol·max(|dz|, 1): a floor of Σ|terms| + Σ|state| covers both.
          const dz = await b.want(dZ)
          const floor = (idx: number): number => {
            const block = Math.floor(idx / H), j = idx % H
            let s = Math.abs(dP.host[idx])
            for (let r = 0; r < B; r++) {
              const state = Math.abs(block === 2 ? C.host[r * H + j] : cPrev.host[r * H + j])
              s += Math.abs(dz[r * 4 * H + (block === 2 ? 3 : block) * H + j]) * state + state
            }
            return Math.max(s, 1)
          }
          await b.expect(dP, { tol: (B + 1) * b.eps + tol, floor })
        }
      },
    }
  })
}

function gruStepCases(): ConformanceCase[] {
  return (['after', 'before'] as const satisfies readonly GruReset[]).flatMap((reset) => cellShapes().map(([B, H], i) => {
    const extreme = i % 3 === 0
    return {
      label: `gruStep reset-${reset} B=${B} H=${H}${extreme ? ' with saturating pre-activations (±1e4)' : ''} (xw read only)`,
      run: async (b: Bench) => {
        const xw = b.floats('xw', Array.from({ length: B * 3 * H }, () => preActivation(b, extreme)))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const W = recurrentWeights(b, 3, H)
        const bh = b.floats('bh', b.uniform(3 * H, -1, 1))
        const hw = b.floats('hw', b.nans(B * 3 * H))
        const rc = reset === 'before' ? b.floats('rc', b.nans(B * H)) : null
        const G = b.floats('gates', b.nans(B * 3 * H))
        const C = b.floats('c', b.nans(B * H))
        b.run((k, v) => k.gruStep(reset, B, H, v(xw), v(cPrev), v(W), v(bh), v(hw), rc === null ? null : v(rc), v(G), v(C)))
        // hw is a product: gemm's floor Σ_p |c_p| |W_jp| (|Γr c| ≤ |c| bounds 'before's c~ block, whose
        // input rc carries gruResetForward's own ulps too).
        const hwFloor = (idx: number): number => {
          const r = Math.floor(idx / (3 * H)), j = idx % (3 * H)
          let s = 0
          for (let p = 0; p < H; p++) s += Math.abs(cPrev.host[r * H + p]) * Math.abs(W.host[j * H + p])
          return s
        }
        await b.expect(hw, { tol: (H + 2 + FWD_ULPS) * b.eps, floor: hwFloor, finite: true })
        // The gates see xw + hw + bh: the product's scale with xw and bh as its carry.
        const carry = xw.host.map((x, idx) => Math.abs(x) + Math.abs(bh.host[idx % (3 * H)]))
        const scale = productScale(B, 3 * H, H, carry, cPrev.host, H, W.host, true)
        // K = H + FWD_ULPS: hw's error above, which for 'before' includes rc's own ulps.
        const tol = stepTolerance(b, FWD_ULPS, H + FWD_ULPS, scale)
        for (const out of [G, C, ...(rc === null ? [] : [rc])]) await b.expect(out, { tol, floor: 1, finite: true })
      },
    }
  }))
}

function gruBackwardStepCases(): ConformanceCase[] {
  return (['after', 'before'] as const satisfies readonly GruReset[]).flatMap((reset) => cellShapes().map(([B, H], i) => {
    const saturated = i % 3 === 0, pending = i % 2 === 0
    return {
      label: `gruBackwardStep reset-${reset} B=${B} H=${H}${pending ? ' with a pending product' : ''}${saturated ? ' saturated gates' : ''}`,
      run: async (b: Bench) => {
        const G = b.floats('gates', gruGates(b, B, H, saturated))
        const hw = b.floats('hw', b.uniform(B * 3 * H, -2, 2))
        const bh = b.floats('bh', b.uniform(3 * H, -1, 1))
        const cPrev = b.floats('cPrev', b.uniform(B * H, -1, 1))
        const dOut = b.floats('dcOut', b.uniform(B * H, -1, 1))
        const dNext = b.floats('dcNext', b.uniform(B * H, -1, 1))
        const dhwNext = pending ? b.floats('dhwNext', b.uniform(B * 3 * H, -1, 1)) : null
        const W = recurrentWeights(b, 3, H)
        const dxw = b.floats('dxw', b.nans(B * 3 * H))
        const dhw = b.floats('dhw', b.nans(B * 3 * H))
        const dcPrev = b.floats('dcPrev', b.nans(B * H))
        b.run((k, v) => k.gruBackwardStep(
          reset, B, H, v(G), v(hw), v(bh), v(cPrev), v(dOut), v(dNext), dhwNext === null ? null : v(dhwNext), v(W), v(dxw), v(dhw), v(dcPrev),
        ))
        // The pending product takes dhwNext's three blocks ('after') or its [r u] blocks ('before').
        const K = reset === 'after' ? 3 * H : 2 * H
        const scale = productScale(B, H, K, absSum(dOut.host, dNext.host), dhwNext?.host ?? null, 3 * H, W.host, false)
        let tol = stepTolerance(b, BWD_ULPS, K, scale)
        if (reset === 'before') {
          // drc = dhw[c~] W_cc mixes the units: each dhw[c~] (|dhw[c~]| ≤ |dc| ≤ S) brings its error
          // times Σ_p |W_cc| (≤ √H), plus that product's own (H+2)·eps.
          let wSum = 0
          for (let j = 0; j < H; j++) {
            let s = 0
            for (let p = 0; p < H; p++) s += Math.abs(W.host[(2 * H + p) * H + j])
            wSum = Math.max(wSum, s)
          }
          tol += (tol * Math.max(scale, 1) + (H + 2) * b.eps * scale) * wSum
        }
        for (const out of [dxw, dhw, dcPrev]) await b.expect(out, { tol, floor: 1, finite: true })
      },
    }
  }))
}

// ---- padding and pooling over time ---------------------------------------------------------------------

/** A 0/1 padding mask of n rows: row 0 real and row 1 padded, so both kinds always occur. */
function paddingMask(b: Bench, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 1 ? 0 : b.pick([0, 1, 1])))
}

function holdForwardCases(): ConformanceCase[] {
  return [...BATCHES, 65].flatMap((B) => SIZES.map((H) => ({
    label: `holdForward B=${B} H=${H} (held rows take prev, the others keep out)`,
    run: async (b: Bench) => {
      const mask = b.floats('mask', paddingMask(b, B))
      const prev = b.floats('prev', b.uniform(B * H, -1, 1))
      const out = b.floats('out', b.uniform(B * H, -1, 1))
      b.run((k, v) => k.holdForward(B, H, v(mask), v(prev), v(out)))
      await b.expectExact(out) // a selection: exact
    },
  })))
}

function holdBackwardCases(): ConformanceCase[] {
  return [...BATCHES, 65].flatMap((B) => SIZES.map((H) => ({
    label: `holdBackward B=${B} H=${H} (dHeld +=, d = mask * d in place)`,
    run: async (b: Bench) => {
      const mask = b.floats('mask', paddingMask(b, B))
      const d = b.floats('d', b.uniform(B * H, -1, 1))
      const dHeld = b.floats('dHeld', b.uniform(B * H, -1, 1))
      b.run((k, v) => k.holdBackward(B, H, v(mask), v(d), v(dHeld)))
      await b.expectExact(d) // times 0 or 1: exact
      // One rounded sum of the old value and d (held rows) or 0.
      await b.expect(dHeld, { tol: b.eps, floor: (i) => Math.abs(dHeld.host[i]) + Math.abs(d.host[i]) })
    },
  })))
}

const POOL_SHAPES: [number, number, number][] = [
  ...SIZES.map((H): [number, number, number] => [5, 3, H]),
  ...[1, 2, 9, 17, 33, 64].map((T): [number, number, number] => [T, 2, 7]),
]

function poolForwardCases(): ConformanceCase[] {
  return (['mean', 'max'] as const satisfies readonly Pooling[]).flatMap((kind) => POOL_SHAPES.map(([T, B, H], i) => {
    const masked = i % 2 === 0
    const withArgmax = kind === 'max' && i % 5 !== 4 // max may also be run without recording the argmax
    return {
      label: `poolForward ${kind} T=${T} B=${B} H=${H}${masked ? ' masked (an all-padding row included)' : ''}${kind === 'max' && !withArgmax ? ' no argmax' : ''}`,
      run: async (b: Bench) => {
        const xs = b.floats('xs', b.uniform(T * B * H, -3, 3))
        const maskHost = masked ? Array.from({ length: T * B }, (_, j) => (j % B === B - 1 && B > 1 ? 0 : j < B ? 1 : b.pick([0, 1, 1]))) : null
        const mask = maskHost === null ? null : b.floats('mask', maskHost)
        const out = b.floats('out', b.nans(B * H))
        const argmax = withArgmax ? b.ints('argmax', new Array<number>(B * H).fill(-7)) : null
        b.run((k, v) => k.poolForward(kind, T, B, H, v(xs), mask === null ? null : v(mask), v(out), argmax === null ? null : v(argmax)))
        const count = (row: number): number => (maskHost === null ? T : sumOf(maskHost.filter((_, j) => j % B === row), (m) => m))
        if (kind === 'max') {
          await b.expectExact(out) // a selection: exact
        } else {
          // A sum of up to T terms and a division: within (T+2)·eps of Σ|x| / count.
          await b.expect(out, {
            tol: (T + 2) * b.eps,
            floor: (idx) => {
              const row = Math.floor(idx / H), j = idx % H
              let s = 0
              for (let t = 0; t < T; t++) if (maskHost === null || maskHost[t * B + row] !== 0) s += Math.abs(xs.host[(t * B + row) * H + j])
              return count(row) === 0 ? 0 : s / count(row)
            },
          })
        }
        // The step of a row with no real step is unspecified (its gradient is 0 whatever it says).
        if (argmax !== null) await b.expect(argmax, { tol: 0, floor: 0, ignore: (idx) => count(Math.floor(idx / H)) === 0 })
      },
    }
  }))
}

function poolBackwardCases(): ConformanceCase[] {
  return (['mean', 'max'] as const satisfies readonly Pooling[]).flatMap((kind) => POOL_SHAPES.map(([T, B, H], i) => {
    const masked = i % 2 === 0
    return {
      label: `poolBackward ${kind} T=${T} B=${B} H=${H}${masked ? ' masked (an all-padding row included)' : ''}`,
      run: async (b: Bench) => {
        const maskHost = masked ? Array.from({ length: T * B }, (_, j) => (j % B === B - 1 && B > 1 ? 0 : j < B ? 1 : b.pick([0, 1, 1]))) : null
        const real = (row: number): number[] => Array.from({ length: T }, (_, t) => t).filter((t) => maskHost === null || maskHost[t * B + row] !== 0)
        const dOut = b.floats('dOut', b.uniform(B * H, -1, 1))
        const mask = maskHost === null ? null : b.floats('mask', maskHost)
        // A valid argmax: a real step of its row (0 for a row without one).
        const argmax = kind === 'max'
          ? b.ints('argmax', Array.from({ length: B * H }, (_, idx) => {
            const steps = real(Math.floor(idx / H))
            return steps.length === 0 ? 0 : b.pick(steps)
          }))
          : null
        const dxs = b.floats('dxs', b.nans(T * B * H))
        b.run((k, v) => k.poolBackward(kind, T, B, H, v(dOut), mask === null ? null : v(mask), argmax === null ? null : v(argmax), v(dxs)))
        // max: a selection, exact. mean: m * dOut / count, one product and one division (2 ulps, relative).
        await b.expect(dxs, { tol: kind === 'max' ? 0 : 2 * b.eps, floor: 0 })
      },
    }
  }))
}

// ---- embedding ---------------------------------------------------------------------------------------------

function gatherCases(): ConformanceCase[] {
  return [1, 9, 64, 130].flatMap((N) => SIZES.map((D, i) => {
    const V = [1, 5, 100][i % 3]
    return {
      label: `gather N=${N} D=${D} V=${V}`,
      run: async (b: Bench) => {
        const table = b.floats('table', b.uniform(V * D, -1, 1))
        const ids = b.ints('ids', Array.from({ length: N }, (_, r) => (r === 0 ? V - 1 : b.random.int(V))))
        const out = b.floats('out', b.nans(N * D))
        b.run((k, v) => k.gather(N, D, v(table), v(ids), v(out)))
        await b.expectExact(out) // a copy: exact
      },
    }
  }))
}

function scatterAddCases(): ConformanceCase[] {
  return [1, 9, 64, 130].flatMap((N) => SIZES.map((D, i) => {
    const V = [1, 5, 100][i % 3] // V < N: repeated ids, which must all add up
    return {
      label: `scatterAdd N=${N} D=${D} V=${V} (+=, repeated ids)`,
      run: async (b: Bench) => {
        const dOut = b.floats('dOut', b.uniform(N * D, -1, 1))
        const ids = b.ints('ids', Array.from({ length: N }, () => b.random.int(V)))
        const dTable = b.floats('dTable', b.uniform(V * D, -1, 1))
        b.run((k, v) => k.scatterAdd(N, D, v(dOut), v(ids), v(dTable)))
        // A sum of (occurrences + 1) terms in any order (atomics included): within (N+1)·eps of Σ|terms|.
        const floor = (idx: number): number => {
          const row = Math.floor(idx / D), d = idx % D
          let s = Math.abs(dTable.host[idx])
          for (let r = 0; r < N; r++) if (ids.host[r] === row) s += Math.abs(dOut.host[r * D + d])
          return s
        }
        await b.expect(dTable, { tol: (N + 1) * b.eps, floor })
      },
    }
  }))
}

// ---- losses and probabilities ---------------------------------------------------------------------------
// A log-sum-exp over V logits is off by about (V + a few)·eps in the sum of exponentials, plus eps times
// the logits' own magnitude (z - max and max + log Σ are rounded at that scale). So the floor of a
// row's loss and probabilities is (1 + max|z|) times the row's scale (its mask, for gradients
// gradScale·mask; a masked row must give exact zeros), and the tolerance is (V + 16)·eps.

/** Σ f(x) over an array. */
function sumOf(values: ArrayLike<number>, f: (x: number) => number): number {
  let s = 0
  for (let i = 0; i < values.length; i++) s += f(values[i])
  return s
}

function rowMax(z: ArrayLike<number>, r: number, V: number, scale = 1): number {
  let m = 0
  for (let v = 0; v < V; v++) m = Math.max(m, Math.abs(z[r * V + v] * scale))
  return m
}

function extremeLogit(b: Bench): number {
  return b.pick([1e4, -1e4, 1e4, 0, b.random.range(-3, 3)])
}

function softmaxCrossEntropyCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  let index = 0
  const shapes: [number, number, boolean][] = [
    ...[1, 3, 17].flatMap((N) => [...SIZES, 257, 1000].map((V): [number, number, boolean] => [N, V, false])),
    ...[1, 2, 3, 17, 65].map((V): [number, number, boolean] => [8, V, true]),
  ]
  for (const [N, V, extreme] of shapes) {
    const i = index++
    const maskKind = (['none', 'binary', 'weights'] as const)[i % 3]
    const withGradient = i % 4 !== 3
    const gradScale = [1, 1 / N, 0.37][i % 3]
    out.push({
      label: `softmaxCrossEntropy N=${N} V=${V} mask=${maskKind}${withGradient ? ` dLogits gradScale=${gradScale}` : ' no dLogits'}` +
        `${extreme ? ' logits of ±1e4' : ''}`,
      run: async (b) => {
        const logits = Array.from({ length: N * V }, () => (extreme ? extremeLogit(b) : b.random.range(-4, 4)))
        const ids = Array.from({ length: N }, () => b.random.int(V))
        if (extreme && V > 1) {
          // The hardest rows: all equal at 1e4 (row 0), and the target far below the maximum (row 1).
          for (let v = 0; v < V; v++) logits[v] = 1e4
          if (N > 1) {
            logits[V] = -1e4
            logits[V + 1] = 1e4
            ids[1] = 0
          }
        }
        const L = b.floats('logits', logits)
        const targets = b.ints('targets', ids)
        const mask = maskKind === 'none' ? null
          : b.floats('mask', Array.from({ length: N }, (_, r) => (r === N - 1 && N > 1 ? 0 : maskKind === 'binary' ? b.pick([0, 1, 1]) : b.pick([0, 0.5, 1, 1]))))
        const losses = b.floats('losses', b.nans(N))
        const dLogits = withGradient ? b.floats('dLogits', b.nans(N * V)) : null
        b.run((k, v) => k.softmaxCrossEntropy(N, V, v(L), v(targets), mask === null ? null : v(mask), v(losses), dLogits === null ? null : v(dLogits), gradScale))
        const m = (r: number) => (mask === null ? 1 : mask.host[r])
        const tol = (V + 16) * b.eps
        await b.expect(losses, { tol, floor: (r) => Math.abs(m(r)) * (1 + rowMax(L.host, r, V)), finite: true })
        if (dLogits !== null) {
          await b.expect(dLogits, { tol, floor: (idx) => Math.abs(gradScale * m(Math.floor(idx / V))) * (1 + rowMax(L.host, Math.floor(idx / V), V)), finite: true })
        }
      },
    })
  }
  return out
}

function sigmoidCrossEntropyCases(): ConformanceCase[] {
  return [...LENGTHS.map((n) => [n, false] as const), [64, true] as const, [9, true] as const].map(([n, extreme], i) => {
    const maskKind = (['none', 'binary', 'weights'] as const)[i % 3]
    const withGradient = i % 4 !== 3
    const gradScale = [1, 1 / n, 0.37][i % 3]
    return {
      label: `sigmoidCrossEntropy n=${n} mask=${maskKind}${withGradient ? ` dLogits gradScale=${gradScale}` : ' no dLogits'}${extreme ? ' logits of ±1e4' : ''}`,
      run: async (b: Bench) => {
        const Z = b.floats('logits', Array.from({ length: n }, () => (extreme ? extremeLogit(b) : b.random.range(-8, 8))))
        const Y = b.floats('targets', Array.from({ length: n }, () => b.pick([0, 1, 0.25, b.random.uniform()])))
        const mask = maskKind === 'none' ? null
          : b.floats('mask', Array.from({ length: n }, () => (maskKind === 'binary' ? b.pick([0, 1, 1]) : b.pick([0, 0.5, 1, 1]))))
        const losses = b.floats('losses', b.nans(n))
        const dLogits = withGradient ? b.floats('dLogits', b.nans(n)) : null
        b.run((k, v) => k.sigmoidCrossEntropy(n, v(Z), v(Y), mask === null ? null : v(mask), v(losses), dLogits === null ? null : v(dLogits), gradScale))
        const m = (i2: number) => (mask === null ? 1 : mask.host[i2])
        // loss = y softplus(-z) + (1-y) softplus(z): a few roundings at the scale 1 + |z| (16 ulps).
        await b.expect(losses, { tol: 16 * b.eps, floor: (j) => Math.abs(m(j)) * (1 + Math.abs(Z.host[j])), finite: true })
        // σ(z) - y in [-1,1], then scaled: absolute error of a few ulps of |gradScale·mask| (8 ulps).
        if (dLogits !== null) await b.expect(dLogits, { tol: 8 * b.eps, floor: (j) => Math.abs(gradScale * m(j)), finite: true })
      },
    }
  })
}

function softmaxCases(): ConformanceCase[] {
  const shapes: [number, number, boolean][] = [
    ...[1, 3, 17].flatMap((N) => [...SIZES, 257, 1000].map((V): [number, number, boolean] => [N, V, false])),
    ...[1, 2, 17, 65].map((V): [number, number, boolean] => [5, V, true]),
  ]
  return shapes.map(([N, V, extreme], i) => {
    const invTemperature = [1, 0.5, 2.5][i % 3]
    return {
      label: `softmax N=${N} V=${V} invTemperature=${invTemperature}${extreme ? ' logits of ±1e4' : ''}`,
      run: async (b: Bench) => {
        const Z = b.floats('logits', Array.from({ length: N * V }, () => (extreme ? extremeLogit(b) : b.random.range(-6, 6))))
        const P = b.floats('probs', b.nans(N * V))
        b.run((k, v) => k.softmax(N, V, v(Z), v(P), invTemperature))
        // Probabilities are in [0,1]: absolute error, at the log-sum-exp scale (see above).
        await b.expect(P, { tol: (V + 16) * b.eps, floor: (idx) => 1 + rowMax(Z.host, Math.floor(idx / V), V, invTemperature), finite: true })
      },
    }
  })
}

// ---- reductions, clipping, optimizers ------------------------------------------------------------------------

function sumCases(): ConformanceCase[] {
  return LENGTHS.map((n) => ({
    label: `sum n=${n}`,
    run: async (b: Bench) => {
      const X = b.floats('x', b.uniform(n, -1, 1))
      const out = b.floats('out', [NaN])
      b.run((k, v) => k.sum(n, v(X), v(out)))
      // n terms in any order (pairwise, tree, atomics): within n·eps of Σ|x| (worst case, Higham §4.2).
      await b.expect(out, { tol: (n + 1) * b.eps, floor: sumOf(X.host, Math.abs) })
    },
  }))
}

function sumSquaresCases(): ConformanceCase[] {
  return LENGTHS.map((n) => ({
    label: `sumSquares n=${n}`,
    run: async (b: Bench) => {
      const X = b.floats('x', b.uniform(n, -2, 2))
      const out = b.floats('out', [NaN])
      b.run((k, v) => k.sumSquares(n, v(X), v(out)))
      // n squares (one rounding each) summed in any order: within (n+1)·eps of the (positive) result.
      await b.expect(out, { tol: (n + 2) * b.eps, floor: 0 })
    },
  }))
}

function clipByNormCases(): ConformanceCase[] {
  const out: ConformanceCase[] = []
  for (const n of [1, 9, 64, 1000]) {
    for (const mode of ['above', 'below', 'equal', 'zero', 'NaN', 'Infinity'] as const) {
      out.push({
        label: `clipByNorm n=${n} norm ${mode} maxNorm`,
        run: async (b) => {
          const X = b.floats('x', b.uniform(n, -1, 1))
          const ss = sumOf(X.host, (x) => x * x)
          const maxNorm = mode === 'above' ? Math.sqrt(ss) / 3 : mode === 'below' ? Math.sqrt(ss) * 2 : mode === 'equal' ? 2 : 1
          const sumSq = b.floats('sumSq', [mode === 'above' || mode === 'below' ? ss : mode === 'equal' ? 4 : mode === 'zero' ? 0 : mode === 'NaN' ? NaN : Infinity])
          b.run((k, v) => k.clipByNorm(n, v(X), v(sumSq), maxNorm))
          // A scale by maxNorm/sqrt(sumSq): sqrt, divide and multiply round once each (4 ulps, relative).
          // Not clipping (below, equal, zero, NaN) must leave x exactly as it was; Infinity scales by 0.
          await b.expect(X, { tol: mode === 'above' ? 4 * b.eps : 0, floor: 0 })
        },
      })
    }
  }
  return out
}

function clipByValueCases(): ConformanceCase[] {
  return LENGTHS.map((n, i) => ({
    label: `clipByValue n=${n}`,
    run: async (b: Bench) => {
      const limit = [0.5, 1, 2 ** -10][i % 3] // exact in f32, so clamped values are exact
      const X = b.floats('x', Array.from({ length: n }, (_, j) => (j === 0 ? Infinity : j === 1 ? -Infinity : b.random.range(-2, 2))))
      b.run((k, v) => k.clipByValue(n, v(X), limit))
      await b.expectExact(X) // comparisons only: exact
    },
  }))
}

function sgdStepCases(): ConformanceCase[] {
  const options = [
    { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false },
    { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false },
    { lr: 0.01, momentum: 0.9, weightDecay: 1e-2, nesterov: true },
    { lr: 1e-3, momentum: 0.5, weightDecay: 1e-4, nesterov: false },
  ]
  return LENGTHS.map((n, i) => {
    const args = options[i % options.length]
    return {
      label: `sgdStep n=${n} ${JSON.stringify(args)}`,
      run: async (b: Bench) => {
        const P = b.floats('p', b.uniform(n, -1, 1))
        const G = b.floats('g', b.uniform(n, -1, 1))
        const vel = b.floats('velocity', b.uniform(n, -1, 1))
        b.run((k, v) => k.sgdStep(n, v(P), v(G), v(vel), args))
        // O(1) values through 2-4 multiply-adds each (8 ulps, absolute at scale 1).
        await b.expect(vel, { tol: 8 * b.eps, floor: 1 })
        await b.expect(P, { tol: 8 * b.eps, floor: 1 })
      },
    }
  })
}

function adamStepCases(): ConformanceCase[] {
  const options = [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step: 2 },
    { lr: 1e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, step: 10 },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step: 1000 },
  ]
  return LENGTHS.map((n, i) => {
    const args = options[i % options.length]
    return {
      label: `adamStep n=${n} ${JSON.stringify(args)}`,
      run: async (b: Bench) => {
        const P = b.floats('p', b.uniform(n, -1, 1))
        const G = b.floats('g', b.uniform(n, -1, 1))
        const M = b.floats('m', b.uniform(n, -0.1, 0.1))
        const Vv = b.floats('v', b.uniform(n, 0, 0.01))
        b.run((k, v) => k.adamStep(n, v(P), v(G), v(M), v(Vv), args))
        const grad = (j: number) => G.host[j] + (args.decoupled ? 0 : args.weightDecay * P.host[j])
        // m = β1 m + (1-β1) g can cancel: floor β1|m| + (1-β1)|g|; v is a sum of positives: relative.
        await b.expect(M, { tol: 4 * b.eps, floor: (j) => args.beta1 * Math.abs(M.host[j]) + (1 - args.beta1) * Math.abs(grad(j)) })
        await b.expect(Vv, { tol: 4 * b.eps, floor: 0 })
        // p moves by lr·m̂/(sqrt(v̂)+ε) + decay, a quotient of O(1) relative error 8 ulps (a backend may
        // round β1, β2 to f32, which shifts the bias correction 1-β^t by up to eps/(1-β)); at lr ≤ 0.01
        // against |p| ~ 1 that stays within 16 ulps at scale 1.
        await b.expect(P, { tol: 16 * b.eps, floor: 1 })
      },
    }
  })
}

// ---- running -------------------------------------------------------------------------------------------------

let cachedCases: Record<KernelMethod, ConformanceCase[]> | null = null

/** Every kernel's cases, built once. */
export function conformanceCases(): Record<KernelMethod, ConformanceCase[]> {
  cachedCases ??= cases()
  return cachedCases
}

export const KERNEL_METHODS = Object.keys(conformanceCases()) as KernelMethod[]

export interface CheckOptions {
  /** Stop after this many failing cases. Default: report at most 5, but run all. */
  stopAfter?: number
  /**
   * Which cases to run, by index (default: all). For a backend whose test machine runs it slowly
   * (WebGPU on a software adapter); the caller says why and keeps every kernel covered.
   */
  select?: (kernel: KernelMethod, index: number) => boolean
}

/**
 * Runs every case of one kernel on `k` against the f64 oracle. Returns one line per failing case
 * (the case's label and what went wrong); an empty array means the kernel conforms.
 */
export async function checkKernel(k: Kernels, kernel: KernelMethod, options: CheckOptions = {}): Promise<string[]> {
  const oracle = new ReferenceKernels('f64')
  const failures: string[] = []
  for (const [i, c] of conformanceCases()[kernel].entries()) {
    if (options.select !== undefined && !options.select(kernel, i)) continue
    const bench = new Bench(k, oracle, new Random(1000 + i))
    try {
      await c.run(bench)
      await bench.finish()
    } catch (error) {
      failures.push(`${c.label}: ${error instanceof Error ? error.message : String(error)}`)
      if (options.stopAfter !== undefined && failures.length >= options.stopAfter) break
    }
  }
  return failures
}

/**
 * Registers one test per kernel that holds the backend `name` to the f64 reference oracle over the
 * whole grid. A backend that cannot start on this machine (no GPU, addon not built) is skipped with
 * the reason it gave; every backend that starts must pass every kernel.
 */
export function runConformance(name: string, makeBackend: MakeBackend, options: Pick<CheckOptions, 'select'> = {}): void {
  let started: Promise<Kernels> | null = null
  const start = () => (started ??= Promise.resolve().then(makeBackend))
  describe(`conformance: ${name} backend vs the f64 reference oracle`, () => {
    for (const kernel of KERNEL_METHODS) {
      const count = conformanceCases()[kernel].filter((_, i) => options.select?.(kernel, i) ?? true).length
      test(`${kernel} (${count} case${count === 1 ? '' : 's'})`, async (t) => {
        let k: Kernels
        try {
          k = await start()
        } catch (error) {
          t.skip(`backend '${name}' cannot start here: ${error instanceof Error ? error.message : String(error)}`)
          return
        }
        const failures = await checkKernel(k, kernel, options)
        if (failures.length > 0) {
          const shown = failures.slice(0, 5).join('\n  ')
          throw new Error(`${name}.${kernel}: ${failures.length} of ${count} cases fail:\n  ${shown}${failures.length > 5 ? '\n  ...' : ''}`)
        }
      })
    }
  })
}
