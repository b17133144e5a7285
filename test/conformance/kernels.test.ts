/**
 * Every registered backend x every kernel x the shape grid, against the f64 reference oracle
 * (the harness is test/helpers/conformance.ts). A new backend needs no line here: registering it
 * is enough. Below, the harness is itself tested: backends with one planted, typical bug each must
 * fail it, so a green run means something.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backendNames, resolveBackend } from '../../src/kernels/registry.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Activation, BufferHandle, DType, GemmArgs, Kernels } from '../../src/kernels/types.js'
import { checkKernel, conformanceCases, KERNEL_METHODS, runConformance, type KernelMethod } from '../helpers/conformance.js'

// webgpu has its own file (webgpu.test.ts), which starts it on Chromium's SwiftShader driver when the
// machine has no GPU; here it could only be skipped, kernel by kernel.
for (const name of backendNames()) if (name !== 'webgpu') runConformance(name, () => resolveBackend(name))

test('the registry lists the reference backend, which the harness always runs', () => {
  assert.ok(backendNames().includes('reference'), `backends: ${backendNames().join(', ')}`)
})

test('the harness has cases for every kernel of the interface', () => {
  // The Record<KernelMethod, ...> type makes a missing kernel a compile error; this checks the runtime side.
  const oracle = new ReferenceKernels('f64') as unknown as Record<string, unknown>
  for (const kernel of KERNEL_METHODS) {
    assert.equal(typeof oracle[kernel], 'function', `${kernel} is not a method of the reference backend`)
    assert.ok(conformanceCases()[kernel].length > 0, `${kernel} has no cases`)
  }
})

// ---- the harness catches planted bugs ------------------------------------------------------------------

/** The typed array behind a reference handle (test-only access to plant bugs). */
const data = (buf: BufferHandle): Float32Array => (buf as unknown as { data: Float32Array }).data

/** gemm that computes beta*C even when beta = 0, so NaN garbage in C leaks into the result. */
class NanLeakGemm extends ReferenceKernels {
  override gemm(g: GemmArgs): void {
    const C = data(g.c)
    for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) C[i * g.ldc + j] *= g.beta
    super.gemm({ ...g, beta: 1 })
  }
}

/** gemm whose vector loop forgets the scalar leftover column when n = 16q + 1 (n > 16). */
class TailBugGemm extends ReferenceKernels {
  override gemm(g: GemmArgs): void {
    const skipLast = g.n > 16 && g.n % 16 === 1
    super.gemm(skipLast ? { ...g, n: g.n - 1 } : g)
  }
}

/** gemm that assumes C is packed (ldc = n). */
class PackedCGemm extends ReferenceKernels {
  override gemm(g: GemmArgs): void {
    super.gemm({ ...g, ldc: g.n })
  }
}

/** gemm accurate to 2^-13 only (like a bf16/tf32 path): within any loose tolerance, not within (K+2)·eps. */
class LowPrecisionGemm extends ReferenceKernels {
  override gemm(g: GemmArgs): void {
    super.gemm(g)
    const C = data(g.c)
    for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) C[i * g.ldc + j] *= 1 + 2 ** -13
  }
}

/** copy that moves whole strided rows, so it writes the destination's padding. */
class WideCopy extends ReferenceKernels {
  override copy(rows: number, cols: number, src: BufferHandle, ldSrc: number, dst: BufferHandle, ldDst: number): void {
    const S = data(src), D = data(dst)
    const width = Math.min(ldSrc, ldDst)
    for (let r = 0; r < rows; r++) for (let c = 0; c < width && r * ldDst + c < D.length; c++) D[r * ldDst + c] = S[r * ldSrc + c]
  }
}

/** scatterAdd that writes (=) instead of accumulating: repeated ids and old gradients are lost. */
class OverwritingScatter extends ReferenceKernels {
  override scatterAdd(N: number, D: number, dOut: BufferHandle, ids: BufferHandle, dTable: BufferHandle): void {
    const I = (ids as unknown as { data: Int32Array }).data
    for (let r = 0; r < N; r++) this.fill(D, this.view(dTable, I[r] * D, D), 0)
    super.scatterAdd(N, D, dOut, ids, dTable)
  }
}

/** lstmBackward that writes dPeep (=) where the contract says +=. */
class OverwritingPeepholeGrad extends ReferenceKernels {
  override lstmBackward(...args: Parameters<Kernels['lstmBackward']>): void {
    const dPeep = args[11]
    if (dPeep !== null) this.fill(dPeep.length, dPeep, 0)
    super.lstmBackward(...args)
  }
}

/** lstmBackwardStep that drops the pending product dz<t+1> W_hh from its incoming gradient. */
class DroppedPendingProduct extends ReferenceKernels {
  override lstmBackwardStep(...args: Parameters<Kernels['lstmBackwardStep']>): void {
    args[8] = null // dzNext
    super.lstmBackwardStep(...args)
  }
}

/** rnnStep as the old two-kernel step: the recurrent product added into xw in place, which is read only. */
class InPlaceRnnStep extends ReferenceKernels {
  override rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
    this.gemm({ transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: aPrev, lda: H, b: wHh, ldb: H, beta: 1, c: xw, ldc: H })
    this.rnnForward(B, H, xw, a)
  }
}

/** The textbook BCE, -(y log σ(z) + (1-y) log(1-σ(z))): log(0) at |z| = 1e4. */
class NaiveBinaryCrossEntropy extends ReferenceKernels {
  override sigmoidCrossEntropy(...args: Parameters<Kernels['sigmoidCrossEntropy']>): void {
    super.sigmoidCrossEntropy(...args)
    const [n, logits, targets, mask, losses] = args
    const Z = data(logits), Y = data(targets), L = data(losses), M = mask === null ? null : data(mask)
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-Z[i]))
      L[i] = -(M === null ? 1 : M[i]) * (Y[i] * Math.log(s) + (1 - Y[i]) * Math.log(1 - s))
    }
  }
}

/** tanh as (e^2x - 1)/(e^2x + 1): Infinity/Infinity = NaN for large x. */
class NaiveTanh extends ReferenceKernels {
  override activation(kind: Activation, n: number, x: BufferHandle, y: BufferHandle): void {
    if (kind !== 'tanh') return super.activation(kind, n, x, y)
    const X = data(x), Y = data(y)
    for (let i = 0; i < n; i++) {
      const e = Math.exp(2 * X[i])
      Y[i] = (e - 1) / (e + 1)
    }
  }
}

/** A pooling allocator that hands freed memory back without zeroing it. */
class DirtyPool extends ReferenceKernels {
  private readonly pool = new Map<string, BufferHandle>()
  override alloc(length: number, dtype: DType = 'f32'): BufferHandle {
    const key = `${dtype}:${length}`
    const reused = this.pool.get(key)
    if (reused !== undefined) {
      this.pool.delete(key)
      return reused
    }
    return super.alloc(length, dtype)
  }
  override free(buf: BufferHandle): void {
    this.pool.set(`${buf.dtype}:${buf.length}`, buf)
  }
}

/** holdBackward that adds the held rows' gradient but forgets to clear them in d. */
class LeakyHold extends ReferenceKernels {
  override holdBackward(B: number, H: number, mask: BufferHandle, d: BufferHandle, dHeld: BufferHandle): void {
    const M = data(mask), D = data(d), DH = data(dHeld)
    for (let i = 0; i < B * H; i++) DH[i] += (1 - M[Math.floor(i / H)]) * D[i]
  }
}

/** clipByNorm that scales whenever the norm is not below maxNorm, so a NaN norm turns x into NaN. */
class NanClip extends ReferenceKernels {
  override clipByNorm(n: number, x: BufferHandle, sumSq: BufferHandle, maxNorm: number): void {
    const norm = Math.sqrt(data(sumSq)[0])
    if (norm <= maxNorm) return
    this.scale(n, x, maxNorm / norm)
  }
}

const planted: [string, KernelMethod, () => Kernels, RegExp][] = [
  ['gemm lets NaN garbage through beta = 0', 'gemm', () => new NanLeakGemm(), /NaN/],
  ['gemm drops the leftover column at n = 17, 33, 65', 'gemm', () => new TailBugGemm(), /n=(17|33|65)\b/],
  ['gemm ignores ldc', 'gemm', () => new PackedCGemm(), /ld=width\+\[\d+,\d+,[1-9]/],
  ['gemm is accurate to 2^-13 only', 'gemm', () => new LowPrecisionGemm(), /error .* > tolerance/],
  ['copy writes the destination padding', 'copy', () => new WideCopy(), /dst\[/],
  ['scatterAdd overwrites', 'scatterAdd', () => new OverwritingScatter(), /dTable/],
  ['lstmBackward overwrites dPeep', 'lstmBackward', () => new OverwritingPeepholeGrad(), /dPeep/],
  ['lstmBackwardStep drops the pending product', 'lstmBackwardStep', () => new DroppedPendingProduct(), /pending product.*dz\[/],
  ['rnnStep writes its input xw', 'rnnStep', () => new InPlaceRnnStep(), /xw is an input/],
  ['sigmoid cross-entropy is computed naively', 'sigmoidCrossEntropy', () => new NaiveBinaryCrossEntropy(), /±1e4.*not finite|not finite/],
  ['tanh overflows', 'activation', () => new NaiveTanh(), /tanh/],
  ['alloc hands out dirty memory', 'alloc', () => new DirtyPool(), /alloc/],
  ['holdBackward leaves the held rows in d', 'holdBackward', () => new LeakyHold(), /d\[/],
  ['clipByNorm scales by a NaN norm', 'clipByNorm', () => new NanClip(), /NaN/],
]

for (const [bug, kernel, make, where] of planted) {
  test(`the harness fails a backend whose ${bug}`, async () => {
    const failures = await checkKernel(make(), kernel, { stopAfter: 1 })
    assert.equal(failures.length, 1, `${kernel}: no case failed`)
    assert.match(failures[0], where)
  })
}

test('the harness passes the f32 reference backend on the kernels the planted bugs touch (control)', async () => {
  for (const kernel of new Set(planted.map(([, kernel]) => kernel))) {
    if (kernel === 'gemm') continue // the full run above covers it; no need to pay for it twice
    assert.deepEqual(await checkKernel(new ReferenceKernels('f32'), kernel), [])
  }
})
