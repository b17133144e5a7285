/**
 * A spy on a backend: counts the calls of some of its kernels, to check which kernels a cell or a
 * model runs (one fused step kernel per time step, the fallback's gemm, ...).
 */
import type { Kernels } from '../../src/kernels/types.js'

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
