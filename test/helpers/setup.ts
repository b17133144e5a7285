/** Shared test helpers: f64 oracle backend, random buffers, and comparison. */
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { Random } from '../../src/random.js'

export const f64 = (): Kernels => new ReferenceKernels('f64')
export const f32 = (): Kernels => new ReferenceKernels('f32')

/** Fills a new buffer of n values uniform in [-scale, scale). */
export function randomBuffer(k: Kernels, n: number, random: Random, scale = 1): BufferHandle {
  const buf = k.alloc(n)
  k.write(buf, Array.from({ length: n }, () => random.range(-scale, scale)))
  return buf
}

export function randomIds(k: Kernels, n: number, V: number, random: Random): BufferHandle {
  const buf = k.alloc(n, 'i32')
  k.write(buf, Array.from({ length: n }, () => random.int(V)))
  return buf
}

/** Largest |a-b| / max(|a|, |b|, floor). */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`)
  let worst = 0
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), floor)
    if (!(e <= worst)) worst = e
  }
  return worst
}

/** Largest |a - b| / max(|b|, 1e-3 · max|b|): errors relative to b, floored at a thousandth of b's largest value. */
export function scaledRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]))
  let worst = 0
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * scale))
  return worst
}

export { Random }
