/**
 * The optional fused step kernels of the `Kernels` interface (`rnnStep`, `lstmStep`, `gruStep` and
 * their backward twins), written as the two-kernel compositions their comments in
 * src/kernels/types.ts state: the oracle the WebGPU conformance test holds the WGSL programs to,
 * and, on `FusedReference`, a CPU backend that takes the cells' fused path (test/cells/fused-steps).
 *
 * They allocate their temporaries per call: fine for tests, not for a backend.
 */
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, GruReset, Kernels } from '../../src/kernels/types.js'

/** out (B,H) = carry + dzNext (B,K; row stride ld) times W's first K rows (W rows of stride H), a new buffer. */
function withProduct(k: Kernels, B: number, H: number, K: number, ld: number, carry: BufferHandle, dzNext: BufferHandle | null, W: BufferHandle): BufferHandle {
  const out = k.alloc(B * H)
  k.copy(1, B * H, carry, 0, out, 0)
  if (dzNext !== null) k.gemm({ transA: false, transB: false, m: B, n: H, k: K, alpha: 1, a: dzNext, lda: ld, b: W, ldb: H, beta: 1, c: out, ldc: H })
  return out
}

/** z (B,G*H) = xw + aPrev W^T, a new buffer. */
function preActivations(k: Kernels, B: number, H: number, G: number, xw: BufferHandle, aPrev: BufferHandle, W: BufferHandle): BufferHandle {
  const z = k.alloc(B * G * H)
  k.copy(1, B * G * H, xw, 0, z, 0)
  k.gemm({ transA: false, transB: true, m: B, n: G * H, k: H, alpha: 1, a: aPrev, lda: H, b: W, ldb: H, beta: 1, c: z, ldc: G * H })
  return z
}

export function composedRnnStep(k: Kernels, B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
  k.rnnForward(B, H, preActivations(k, B, H, 1, xw, aPrev, wHh), a)
}

export function composedRnnBackwardStep(
  k: Kernels, B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
  wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
): void {
  k.rnnBackward(B, H, a, daOut, withProduct(k, B, H, H, H, daNext, dzNext, wHh), dz)
  k.fill(B * H, daPrev, 0)
}

export function composedLstmStep(
  k: Kernels, B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
  peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
): void {
  k.lstmForward(B, H, preActivations(k, B, H, 4, xw, aPrev, wHh), cPrev, peep, gates, c, a)
}

export function composedLstmBackwardStep(
  k: Kernels, B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
  daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
  dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
): void {
  const da = withProduct(k, B, H, 4 * H, 4 * H, daNext, dzNext, wHh)
  k.lstmBackward(B, H, gates, cPrev, c, peep, daOut, da, dcNext, dz, dcPrev, dPeep)
  k.fill(B * H, daPrev, 0)
}

export function composedGruStep(
  k: Kernels, reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
  hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
): void {
  if (reset === 'after') {
    k.gemm({ transA: false, transB: true, m: B, n: 3 * H, k: H, alpha: 1, a: cPrev, lda: H, b: wHh, ldb: H, beta: 0, c: hw, ldc: 3 * H })
  } else {
    k.gemm({ transA: false, transB: true, m: B, n: 2 * H, k: H, alpha: 1, a: cPrev, lda: H, b: wHh, ldb: H, beta: 0, c: hw, ldc: 3 * H })
    k.gruResetForward(B, H, xw, hw, bh, cPrev, rc!)
    k.gemm({
      transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: rc!, lda: H, b: k.view(wHh, 2 * H * H, H * H), ldb: H,
      beta: 0, c: k.view(hw, 2 * H, hw.length - 2 * H), ldc: 3 * H,
    })
  }
  k.gruForward(reset, B, H, xw, hw, bh, cPrev, gates, c)
}

export function composedGruBackwardStep(
  k: Kernels, reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
  dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
  dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
): void {
  const dc = withProduct(k, B, H, reset === 'after' ? 3 * H : 2 * H, 3 * H, dcNext, dhwNext, wHh)
  k.gruBackward(reset, B, H, gates, hw, bh, cPrev, dcOut, dc, dxw, dhw, dcPrev)
  if (reset === 'before') {
    const drc = k.alloc(B * H)
    k.gemm({
      transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: k.view(dhw, 2 * H, dhw.length - 2 * H), lda: 3 * H,
      b: k.view(wHh, 2 * H * H, H * H), ldb: H, beta: 0, c: drc, ldc: H,
    })
    k.gruResetBackward(B, H, gates, cPrev, drc, dxw, dhw, dcPrev)
  }
}

/** The reference backend with the fused step kernels, as their compositions (the cells then take their fused path). */
export class FusedReference extends ReferenceKernels {
  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void {
    composedRnnStep(this, B, H, xw, aPrev, wHh, a)
  }

  rnnBackwardStep(
    B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void {
    composedRnnBackwardStep(this, B, H, a, daOut, daNext, dzNext, wHh, dz, daPrev)
  }

  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void {
    composedLstmStep(this, B, H, xw, aPrev, wHh, cPrev, peep, gates, c, a)
  }

  lstmBackwardStep(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void {
    composedLstmBackwardStep(this, B, H, gates, cPrev, c, peep, daOut, daNext, dzNext, wHh, dcNext, dz, daPrev, dcPrev, dPeep)
  }

  gruStep(
    reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
    hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
  ): void {
    composedGruStep(this, reset, B, H, xw, cPrev, wHh, bh, hw, rc, gates, c)
  }

  gruBackwardStep(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void {
    composedGruBackwardStep(this, reset, B, H, gates, hw, bh, cPrev, dcOut, dcNext, dhwNext, wHh, dxw, dhw, dcPrev)
  }
}

/** Counts the calls of `names` on `k` from now on (each method replaced by a counting wrapper). */
export function countCalls(k: Kernels, names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>(names.map((name) => [name, 0]))
  const methods = k as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>
  for (const name of names) {
    const original = methods[name]
    if (original === undefined) continue
    methods[name] = (...args: unknown[]) => {
      counts.set(name, counts.get(name)! + 1)
      return original.apply(k, args)
    }
  }
  return counts
}
