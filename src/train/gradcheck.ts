/**
 * Numerical gradient checking: compares analytic gradients with central differences
 *
 *   dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / 2ε
 *
 * Use it with the float64 reference backend (`new ReferenceKernels('f64')`), where the
 * difference quotient is accurate to ~1e-9 with ε = 1e-6; in float32 rounding swamps it.
 * The error of each element is |analytic - numeric| / max(|analytic|, |numeric|, floor): relative
 * where gradients are large, absolute (scaled by 1/floor) where both are near zero.
 */
import type { BufferHandle, Kernels } from '../kernels/types.js'
import { Random } from '../random.js'

export interface GradientCheckTarget {
  name: string
  /** The values to perturb (a parameter, an input sequence, an initial state). */
  value: BufferHandle
  /** Where the analytic gradient of `value` is found after `gradient()` runs. */
  grad: () => BufferHandle
}

export interface GradientCheckOptions {
  /** Step ε. Default 1e-6. */
  epsilon?: number
  /** Check at most this many elements per target, drawn at random. Default: all. */
  maxElements?: number
  /** Denominator floor of the relative error. Default 1e-6. */
  floor?: number
  seed?: number
}

export interface GradientCheckResult {
  name: string
  checked: number
  /** Largest relative error over the checked elements, and where. */
  maxRelativeError: number
  worstIndex: number
  analytic: number
  numeric: number
}

/**
 * Checks every target. `loss` runs the forward pass and returns the loss; `gradient` runs forward
 * and backward so that each target's `grad()` holds dL/dvalue (it must zero accumulated gradients
 * itself). Values are restored afterwards.
 */
export async function gradientCheck(
  k: Kernels,
  targets: readonly GradientCheckTarget[],
  loss: () => Promise<number>,
  gradient: () => Promise<void>,
  options: GradientCheckOptions = {},
): Promise<GradientCheckResult[]> {
  const eps = options.epsilon ?? 1e-6
  const floor = options.floor ?? 1e-6
  const random = new Random(options.seed ?? 7)
  await gradient()
  const analytic = await Promise.all(targets.map(async (t) => Float64Array.from(await k.read(t.grad()))))
  const results: GradientCheckResult[] = []
  for (const [ti, target] of targets.entries()) {
    const values = Float64Array.from(await k.read(target.value))
    let indices = [...values.keys()]
    if (options.maxElements !== undefined && indices.length > options.maxElements) {
      for (let i = indices.length - 1; i > 0; i--) {
        const j = random.int(i + 1)
        ;[indices[i], indices[j]] = [indices[j], indices[i]]
      }
      indices = indices.slice(0, options.maxElements)
    }
    const result: GradientCheckResult = { name: target.name, checked: indices.length, maxRelativeError: 0, worstIndex: -1, analytic: 0, numeric: 0 }
    for (const i of indices) {
      const original = values[i]
      values[i] = original + eps
      k.write(target.value, values)
      const plus = await loss()
      values[i] = original - eps
      k.write(target.value, values)
      const minus = await loss()
      values[i] = original
      k.write(target.value, values)
      const numeric = (plus - minus) / (2 * eps)
      const a = analytic[ti][i]
      const error = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor)
      if (!(error <= result.maxRelativeError)) {
        Object.assign(result, { maxRelativeError: error, worstIndex: i, analytic: a, numeric })
      }
    }
    results.push(result)
  }
  return results
}
