/**
 * The reference backend: plain TypeScript loops over typed arrays, written to be read.
 *
 * It is the specification of every kernel in ../types.ts and the oracle that every other backend
 * is tested against. It is deliberately straightforward (loop orders are sensible, nothing more);
 * speed belongs to the other backends. Its float precision is chosen at construction: 'f32' is the
 * registered backend, 'f64' serves the numerical gradient checks.
 */
import type {
  Activation, AdamArgs, BufferHandle, DType, FloatArray, GemmArgs, GruReset, Kernels, Pooling, SgdArgs,
} from '../types.js'
import { RecurError } from '../../errors.js'
import { ComposedSteps } from '../composed-steps.js'

type Storage = Float32Array | Float64Array | Int32Array

class ReferenceBuffer implements BufferHandle {
  readonly backend: string
  readonly dtype: DType
  readonly data: Storage
  constructor(backend: string, dtype: DType, data: Storage) {
    this.backend = backend
    this.dtype = dtype
    this.data = data
  }
  get length(): number {
    return this.data.length
  }
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/** log(1 + e^x) without overflow. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))

export class ReferenceKernels implements Kernels {
  readonly name: string
  readonly precision: 'f32' | 'f64'
  private readonly Float: Float32ArrayConstructor | Float64ArrayConstructor
  /** The fused step kernels, composed from this backend's own kernels (and its scratch buffer). */
  private readonly steps: ComposedSteps

  constructor(precision: 'f32' | 'f64' = 'f32') {
    this.precision = precision
    this.name = precision === 'f32' ? 'reference' : 'reference-f64'
    this.Float = precision === 'f32' ? Float32Array : Float64Array
    this.steps = new ComposedSteps(this)
  }

  // Unwraps a handle into its typed array. Handles of other backends are a programming error.
  private f(buf: BufferHandle): Float32Array | Float64Array {
    if (!(buf instanceof ReferenceBuffer) || buf.backend !== this.name || buf.dtype !== 'f32') {
      throw new RecurError('BACKEND', `${this.name}: expected a float buffer of this backend, got ${describe(buf)}`)
    }
    return buf.data as Float32Array | Float64Array
  }

  private i(buf: BufferHandle): Int32Array {
    if (!(buf instanceof ReferenceBuffer) || buf.backend !== this.name || buf.dtype !== 'i32') {
      throw new RecurError('BACKEND', `${this.name}: expected an int buffer of this backend, got ${describe(buf)}`)
    }
    return buf.data as Int32Array
  }

  // ---- memory -----------------------------------------------------------------------------

  alloc(length: number, dtype: DType = 'f32'): BufferHandle {
    const data = dtype === 'i32' ? new Int32Array(length) : new this.Float(length)
    return new ReferenceBuffer(this.name, dtype, data)
  }

  view(buf: BufferHandle, offset: number, length: number): BufferHandle {
    const data = (buf as ReferenceBuffer).data
    if (offset < 0 || length < 0 || offset + length > data.length) {
      throw new RecurError('SHAPE', `view [${offset}, ${offset + length}) is outside a buffer of ${data.length}`)
    }
    return new ReferenceBuffer(this.name, buf.dtype, data.subarray(offset, offset + length))
  }

  write(buf: BufferHandle, data: ArrayLike<number>): void {
    const dst = buf.dtype === 'i32' ? this.i(buf) : this.f(buf)
    if (data.length !== dst.length) {
      throw new RecurError('SHAPE', `write: buffer holds ${dst.length} values, got ${data.length}`)
    }
    dst.set(data)
  }

  async read(buf: BufferHandle): Promise<FloatArray> {
    return this.f(buf).slice()
  }

  async readInt(buf: BufferHandle): Promise<Int32Array> {
    return this.i(buf).slice()
  }

  free(_buf: BufferHandle): void {
    // Garbage collected.
  }

  // ---- dense linear algebra ----------------------------------------------------------------

  gemm(g: GemmArgs): void {
    const A = this.f(g.a), Bm = this.f(g.b), C = this.f(g.c)
    const { m, n, k, lda, ldb, ldc, alpha, beta } = g
    // C = beta * C first (beta = 0 overwrites, so stale NaNs never leak in).
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) C[i * ldc + j] = beta === 0 ? 0 : beta * C[i * ldc + j]
    }
    // Then C += alpha * op(A) op(B), looping i, p, j so the inner loop walks rows of B and C.
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const aip = alpha * (g.transA ? A[p * lda + i] : A[i * lda + p])
        if (aip === 0) continue
        if (g.transB) {
          for (let j = 0; j < n; j++) C[i * ldc + j] += aip * Bm[j * ldb + p]
        } else {
          const row = p * ldb
          for (let j = 0; j < n; j++) C[i * ldc + j] += aip * Bm[row + j]
        }
      }
    }
  }

  fill(n: number, x: BufferHandle, value: number): void {
    this.f(x).fill(value, 0, n)
  }

  copy(rows: number, cols: number, src: BufferHandle, ldSrc: number, dst: BufferHandle, ldDst: number): void {
    const S = this.f(src), D = this.f(dst)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) D[r * ldDst + c] = S[r * ldSrc + c]
    }
  }

  axpy(n: number, alpha: number, x: BufferHandle, y: BufferHandle): void {
    const X = this.f(x), Y = this.f(y)
    for (let i = 0; i < n; i++) Y[i] += alpha * X[i]
  }

  scale(n: number, x: BufferHandle, alpha: number): void {
    const X = this.f(x)
    for (let i = 0; i < n; i++) X[i] *= alpha
  }

  mul(n: number, x: BufferHandle, y: BufferHandle): void {
    const X = this.f(x), Y = this.f(y)
    for (let i = 0; i < n; i++) Y[i] *= X[i]
  }

  addBias(rows: number, cols: number, x: BufferHandle, bias: BufferHandle): void {
    const X = this.f(x), b = this.f(bias)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) X[r * cols + c] += b[c]
    }
  }

  biasGrad(rows: number, cols: number, dy: BufferHandle, dBias: BufferHandle): void {
    const dY = this.f(dy), db = this.f(dBias)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) db[c] += dY[r * cols + c]
    }
  }

  activation(kind: Activation, n: number, x: BufferHandle, y: BufferHandle): void {
    const X = this.f(x), Y = this.f(y)
    for (let i = 0; i < n; i++) {
      const v = X[i]
      Y[i] = kind === 'tanh' ? Math.tanh(v) : kind === 'sigmoid' ? sigmoid(v) : kind === 'relu' ? (v > 0 ? v : 0) : v
    }
  }

  activationBackward(kind: Activation, n: number, y: BufferHandle, dy: BufferHandle, dx: BufferHandle): void {
    const Y = this.f(y), dY = this.f(dy), dX = this.f(dx)
    for (let i = 0; i < n; i++) {
      const v = Y[i]
      // forward: y = tanh(x) -> 1 - y²; y = σ(x) -> y (1 - y); y = relu(x) -> [y > 0]; identity -> 1
      const slope = kind === 'tanh' ? 1 - v * v : kind === 'sigmoid' ? v * (1 - v) : kind === 'relu' ? (v > 0 ? 1 : 0) : 1
      dX[i] = dY[i] * slope
    }
  }

  // ---- recurrent cells ------------------------------------------------------------------------
  // The equations, with the course note's names, are on top of each cell's file in src/cells/.

  rnnForward(B: number, H: number, z: BufferHandle, a: BufferHandle): void {
    const Z = this.f(z), A = this.f(a)
    for (let i = 0; i < B * H; i++) A[i] = Math.tanh(Z[i])
  }

  rnnBackward(B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dz: BufferHandle): void {
    const A = this.f(a), dOut = this.f(daOut), dNext = this.f(daNext), dZ = this.f(dz)
    // forward: a = tanh(z) -> dtanh = da * (1 - a²)
    for (let i = 0; i < B * H; i++) dZ[i] = (dOut[i] + dNext[i]) * (1 - A[i] * A[i])
  }

  lstmForward(
    B: number, H: number, z: BufferHandle, cPrev: BufferHandle, peep: BufferHandle | null,
    gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    const Z = this.f(z), Cp = this.f(cPrev), P = peep === null ? null : this.f(peep)
    const Gt = this.f(gates), Cn = this.f(c), A = this.f(a)
    for (let b = 0; b < B; b++) {
      const zr = b * 4 * H
      for (let j = 0; j < H; j++) {
        const cp = Cp[b * H + j]
        const u = sigmoid(Z[zr + j] + (P === null ? 0 : P[j] * cp)) // Γu = σ(Wu[a, x] + bu + pu*c<t-1>)
        const f = sigmoid(Z[zr + H + j] + (P === null ? 0 : P[H + j] * cp)) // Γf = σ(Wf[a, x] + bf + pf*c<t-1>)
        const cand = Math.tanh(Z[zr + 2 * H + j]) // c~ = tanh(Wc[a, x] + bc)
        const cn = u * cand + f * cp // c<t> = Γu*c~ + Γf*c<t-1>
        const o = sigmoid(Z[zr + 3 * H + j] + (P === null ? 0 : P[2 * H + j] * cn)) // Γo = σ(Wo[a, x] + bo + po*c<t>)
        Gt[zr + j] = u
        Gt[zr + H + j] = f
        Gt[zr + 2 * H + j] = cand
        Gt[zr + 3 * H + j] = o
        Cn[b * H + j] = cn
        A[b * H + j] = o * Math.tanh(cn) // a<t> = Γo*tanh(c<t>)
      }
    }
  }

  lstmBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    const Gt = this.f(gates), Cp = this.f(cPrev), Cn = this.f(c), P = peep === null ? null : this.f(peep)
    const dOut = this.f(daOut), dNext = this.f(daNext), dcN = this.f(dcNext)
    const dZ = this.f(dz), dCp = this.f(dcPrev), dP = dPeep === null ? null : this.f(dPeep)
    for (let b = 0; b < B; b++) {
      const zr = b * 4 * H
      for (let j = 0; j < H; j++) {
        const k = b * H + j
        const u = Gt[zr + j], f = Gt[zr + H + j], cand = Gt[zr + 2 * H + j], o = Gt[zr + 3 * H + j]
        const cp = Cp[k], tc = Math.tanh(Cn[k])
        const da = dOut[k] + dNext[k]
        // forward: a = Γo*tanh(c) -> dΓo = da * tanh(c), dz_o = dΓo * Γo(1-Γo)
        const dzo = da * tc * o * (1 - o)
        // forward: a = Γo*tanh(c), Γo sees c (peephole) -> dc = dc_next + da*Γo*(1-tanh²c) + dz_o*p_o
        const dct = dcN[k] + da * o * (1 - tc * tc) + (P === null ? 0 : dzo * P[2 * H + j])
        // forward: c = Γu*c~ + Γf*c<t-1>
        const dzu = dct * cand * u * (1 - u) // dΓu = dc*c~, through σ
        const dzf = dct * cp * f * (1 - f) // dΓf = dc*c<t-1>, through σ
        const dzc = dct * u * (1 - cand * cand) // dc~ = dc*Γu, through tanh
        dZ[zr + j] = dzu
        dZ[zr + H + j] = dzf
        dZ[zr + 2 * H + j] = dzc
        dZ[zr + 3 * H + j] = dzo
        // dc<t-1> = dc*Γf, plus the peephole paths into Γu and Γf
        dCp[k] = dct * f + (P === null ? 0 : dzu * P[j] + dzf * P[H + j])
        if (dP !== null) {
          dP[j] += dzu * cp
          dP[H + j] += dzf * cp
          dP[2 * H + j] += dzo * Cn[k]
        }
      }
    }
  }

  gruResetForward(B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle, rc: BufferHandle): void {
    const XW = this.f(xw), HW = this.f(hw), bH = this.f(bh), Cp = this.f(cPrev), RC = this.f(rc)
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const r = sigmoid(XW[b * 3 * H + j] + HW[b * 3 * H + j] + bH[j]) // Γr = σ(Wr[c<t-1>, x] + br)
        RC[b * H + j] = r * Cp[b * H + j]
      }
    }
  }

  gruForward(
    reset: GruReset, B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle,
    cPrev: BufferHandle, gates: BufferHandle, c: BufferHandle,
  ): void {
    const XW = this.f(xw), HW = this.f(hw), bH = this.f(bh), Cp = this.f(cPrev), Gt = this.f(gates), Cn = this.f(c)
    for (let b = 0; b < B; b++) {
      const zr = b * 3 * H
      for (let j = 0; j < H; j++) {
        const r = sigmoid(XW[zr + j] + HW[zr + j] + bH[j]) // Γr
        const u = sigmoid(XW[zr + H + j] + HW[zr + H + j] + bH[H + j]) // Γu
        const hc = HW[zr + 2 * H + j] + bH[2 * H + j]
        // before: c~ = tanh(Wcx x + bcx + Wcc (Γr*c<t-1>) + bcc)   after: c~ = tanh(Wcx x + bcx + Γr*(Wcc c<t-1> + bcc))
        const cand = Math.tanh(XW[zr + 2 * H + j] + (reset === 'after' ? r * hc : hc))
        const cp = Cp[b * H + j]
        Gt[zr + j] = r
        Gt[zr + H + j] = u
        Gt[zr + 2 * H + j] = cand
        Cn[b * H + j] = u * cand + (1 - u) * cp // c<t> = Γu*c~ + (1-Γu)*c<t-1>
      }
    }
  }

  gruBackward(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const Gt = this.f(gates), HW = this.f(hw), bH = this.f(bh), Cp = this.f(cPrev)
    const dOut = this.f(dcOut), dNext = this.f(dcNext), dXW = this.f(dxw), dHW = this.f(dhw), dCp = this.f(dcPrev)
    for (let b = 0; b < B; b++) {
      const zr = b * 3 * H
      for (let j = 0; j < H; j++) {
        const k = b * H + j
        const r = Gt[zr + j], u = Gt[zr + H + j], cand = Gt[zr + 2 * H + j], cp = Cp[k]
        const dc = dOut[k] + dNext[k]
        // forward: c = Γu*c~ + (1-Γu)*c<t-1> -> dc~ = dc*Γu, dΓu = dc*(c~ - c<t-1>), dc<t-1> = dc*(1-Γu)
        const dzc = dc * u * (1 - cand * cand) // through c~ = tanh(.)
        const dzu = dc * (cand - cp) * u * (1 - u) // through Γu = σ(.)
        dCp[k] = dc * (1 - u)
        dXW[zr + H + j] = dzu
        dHW[zr + H + j] = dzu
        dXW[zr + 2 * H + j] = dzc
        if (reset === 'after') {
          // forward: c~ = tanh(xc + Γr*hc), hc = Wcc c<t-1> + bcc -> dhc = dz_c*Γr, dΓr = dz_c*hc
          const hc = HW[zr + 2 * H + j] + bH[2 * H + j]
          const dzr = dzc * hc * r * (1 - r)
          dHW[zr + 2 * H + j] = dzc * r
          dXW[zr + j] = dzr
          dHW[zr + j] = dzr
        } else {
          // forward: c~ = tanh(xc + Wcc (Γr*c<t-1>) + bcc): the Γr path waits for gruResetBackward
          dHW[zr + 2 * H + j] = dzc
        }
      }
    }
  }

  gruResetBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, drc: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    const Gt = this.f(gates), Cp = this.f(cPrev), dRC = this.f(drc), dXW = this.f(dxw), dHW = this.f(dhw), dCp = this.f(dcPrev)
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const k = b * H + j
        const r = Gt[b * 3 * H + j]
        // forward: rc = Γr*c<t-1> -> dΓr = drc*c<t-1>, dc<t-1> += drc*Γr
        const dzr = dRC[k] * Cp[k] * r * (1 - r)
        dXW[b * 3 * H + j] = dzr
        dHW[b * 3 * H + j] = dzr
        dCp[k] += dRC[k] * r
      }
    }
  }

  // ---- recurrent cells, fused steps: the recurrent GEMM and the pointwise kernel above, composed --------
  // Their definition is ../composed-steps.ts, written once for every backend that composes them.

  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
    this.steps.rnnStep(B, H, xw, aPrev, wHh, a)
  }

  rnnBackwardStep(
    B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void {
    this.steps.rnnBackwardStep(B, H, a, daOut, daNext, dzNext, wHh, dz, daPrev)
  }

  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    this.steps.lstmStep(B, H, xw, aPrev, wHh, cPrev, peep, gates, c, a)
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

  // ---- padding ----------------------------------------------------------------------------------

  holdForward(B: number, H: number, mask: BufferHandle, prev: BufferHandle, out: BufferHandle): void {
    const M = this.f(mask), P = this.f(prev), O = this.f(out)
    for (let b = 0; b < B; b++) {
      if (M[b] !== 0) continue // mask is 0 or 1: real steps keep the cell's output
      for (let j = 0; j < H; j++) O[b * H + j] = P[b * H + j]
    }
  }

  holdBackward(B: number, H: number, mask: BufferHandle, d: BufferHandle, dHeld: BufferHandle): void {
    const M = this.f(mask), D = this.f(d), DH = this.f(dHeld)
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const k = b * H + j
        DH[k] += (1 - M[b]) * D[k] // forward: out = m*out + (1-m)*prev
        D[k] *= M[b]
      }
    }
  }

  // ---- pooling over time --------------------------------------------------------------------------

  poolForward(kind: Pooling, T: number, B: number, H: number, xs: BufferHandle, mask: BufferHandle | null, out: BufferHandle, argmax: BufferHandle | null): void {
    const X = this.f(xs), M = mask === null ? null : this.f(mask), O = this.f(out), A = argmax === null ? null : this.i(argmax)
    for (let b = 0; b < B; b++) {
      let count = 0
      for (let t = 0; t < T; t++) count += M === null ? 1 : M[t * B + b]
      for (let j = 0; j < H; j++) {
        let acc = kind === 'mean' ? 0 : -Infinity
        let best = 0
        for (let t = 0; t < T; t++) {
          if (M !== null && M[t * B + b] === 0) continue
          const v = X[(t * B + b) * H + j]
          if (kind === 'mean') acc += v
          else if (v > acc) {
            acc = v
            best = t
          }
        }
        // An all-padding row pools to 0 rather than NaN or -Infinity.
        O[b * H + j] = count === 0 ? 0 : kind === 'mean' ? acc / count : acc
        if (A !== null) A[b * H + j] = best
      }
    }
  }

  poolBackward(kind: Pooling, T: number, B: number, H: number, dOut: BufferHandle, mask: BufferHandle | null, argmax: BufferHandle | null, dxs: BufferHandle): void {
    const dO = this.f(dOut), M = mask === null ? null : this.f(mask), A = argmax === null ? null : this.i(argmax), dX = this.f(dxs)
    for (let b = 0; b < B; b++) {
      let count = 0
      for (let t = 0; t < T; t++) count += M === null ? 1 : M[t * B + b]
      for (let t = 0; t < T; t++) {
        const m = M === null ? 1 : M[t * B + b]
        for (let j = 0; j < H; j++) {
          const k = (t * B + b) * H + j
          // forward: mean = Σ m x / count -> dx = m * dout / count;  max -> dx = dout at the argmax
          if (kind === 'mean') dX[k] = count === 0 ? 0 : (m * dO[b * H + j]) / count
          else dX[k] = count > 0 && A![b * H + j] === t ? dO[b * H + j] : 0
        }
      }
    }
  }

  // ---- embedding ------------------------------------------------------------------------------

  gather(N: number, D: number, table: BufferHandle, ids: BufferHandle, out: BufferHandle): void {
    const W = this.f(table), I = this.i(ids), O = this.f(out)
    for (let r = 0; r < N; r++) {
      const row = I[r] * D
      for (let d = 0; d < D; d++) O[r * D + d] = W[row + d]
    }
  }

  scatterAdd(N: number, D: number, dOut: BufferHandle, ids: BufferHandle, dTable: BufferHandle): void {
    const dO = this.f(dOut), I = this.i(ids), dW = this.f(dTable)
    for (let r = 0; r < N; r++) {
      const row = I[r] * D
      for (let d = 0; d < D; d++) dW[row + d] += dO[r * D + d]
    }
  }

  // ---- losses and probabilities -------------------------------------------------------------------

  softmaxCrossEntropy(
    N: number, V: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    const Z = this.f(logits), Y = this.i(targets), M = mask === null ? null : this.f(mask)
    const L = this.f(losses), dZ = dLogits === null ? null : this.f(dLogits)
    for (let r = 0; r < N; r++) {
      const row = r * V
      let max = -Infinity
      for (let v = 0; v < V; v++) max = Math.max(max, Z[row + v])
      let sum = 0
      for (let v = 0; v < V; v++) sum += Math.exp(Z[row + v] - max)
      const logSum = max + Math.log(sum) // log Σ e^z, stable for any logits
      const m = M === null ? 1 : M[r]
      L[r] = m === 0 ? 0 : m * (logSum - Z[row + Y[r]]) // -log softmax(z)[y]
      if (dZ !== null) {
        const s = gradScale * m
        for (let v = 0; v < V; v++) dZ[row + v] = s * Math.exp(Z[row + v] - logSum)
        dZ[row + Y[r]] -= s // softmax - onehot
      }
    }
  }

  sigmoidCrossEntropy(
    n: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void {
    const Z = this.f(logits), Y = this.f(targets), M = mask === null ? null : this.f(mask)
    const L = this.f(losses), dZ = dLogits === null ? null : this.f(dLogits)
    for (let i = 0; i < n; i++) {
      const z = Z[i], y = Y[i], m = M === null ? 1 : M[i]
      // -(y log σ(z) + (1-y) log(1-σ(z))) = y softplus(-z) + (1-y) softplus(z), stable for any z
      L[i] = m === 0 ? 0 : m * (y * softplus(-z) + (1 - y) * softplus(z))
      if (dZ !== null) dZ[i] = gradScale * m * (sigmoid(z) - y)
    }
  }

  softmax(N: number, V: number, logits: BufferHandle, probs: BufferHandle, invTemperature: number): void {
    const Z = this.f(logits), P = this.f(probs)
    for (let r = 0; r < N; r++) {
      const row = r * V
      let max = -Infinity
      for (let v = 0; v < V; v++) max = Math.max(max, Z[row + v] * invTemperature)
      let sum = 0
      for (let v = 0; v < V; v++) {
        P[row + v] = Math.exp(Z[row + v] * invTemperature - max)
        sum += P[row + v]
      }
      for (let v = 0; v < V; v++) P[row + v] /= sum
    }
  }

  // ---- reductions, clipping, optimizers ---------------------------------------------------------

  sum(n: number, x: BufferHandle, out: BufferHandle): void {
    const X = this.f(x)
    let s = 0
    for (let i = 0; i < n; i++) s += X[i]
    this.f(out)[0] = s
  }

  sumSquares(n: number, x: BufferHandle, out: BufferHandle): void {
    const X = this.f(x)
    let s = 0
    for (let i = 0; i < n; i++) s += X[i] * X[i]
    this.f(out)[0] = s
  }

  clipByNorm(n: number, x: BufferHandle, sumSq: BufferHandle, maxNorm: number): void {
    const norm = Math.sqrt(this.f(sumSq)[0])
    if (!(norm > maxNorm)) return // also leaves NaN norms alone: the caller's guard sees them
    this.scale(n, x, maxNorm / norm)
  }

  clipByValue(n: number, x: BufferHandle, limit: number): void {
    const X = this.f(x)
    for (let i = 0; i < n; i++) X[i] = Math.min(limit, Math.max(-limit, X[i]))
  }

  sgdStep(n: number, p: BufferHandle, g: BufferHandle, velocity: BufferHandle, a: SgdArgs): void {
    const P = this.f(p), G = this.f(g), Vel = this.f(velocity)
    for (let i = 0; i < n; i++) {
      const grad = G[i] + a.weightDecay * P[i]
      Vel[i] = a.momentum * Vel[i] + grad // v = μ v + g
      P[i] -= a.lr * (a.nesterov ? grad + a.momentum * Vel[i] : Vel[i])
    }
  }

  adamStep(n: number, p: BufferHandle, g: BufferHandle, m: BufferHandle, v: BufferHandle, a: AdamArgs): void {
    const P = this.f(p), G = this.f(g), M = this.f(m), Vv = this.f(v)
    const c1 = 1 - Math.pow(a.beta1, a.step), c2 = 1 - Math.pow(a.beta2, a.step)
    for (let i = 0; i < n; i++) {
      const grad = a.decoupled ? G[i] : G[i] + a.weightDecay * P[i]
      M[i] = a.beta1 * M[i] + (1 - a.beta1) * grad // m = β1 m + (1-β1) g
      Vv[i] = a.beta2 * Vv[i] + (1 - a.beta2) * grad * grad // v = β2 v + (1-β2) g²
      const update = (M[i] / c1) / (Math.sqrt(Vv[i] / c2) + a.eps)
      P[i] -= a.lr * (update + (a.decoupled ? a.weightDecay * P[i] : 0))
    }
  }
}

function describe(buf: BufferHandle): string {
  return `${buf.dtype} buffer of backend '${buf.backend}'`
}
