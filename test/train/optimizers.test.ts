/**
 * Optimizers, learning-rate schedules and gradient clipping against values worked out by hand on
 * tiny vectors (the arithmetic is in the comments). The store is float64, so the comparisons are
 * to 1e-12: the hand values are exact decimals, the kernel's result is off by a few ulps at most.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RecurError } from '../../src/errors.js'
import type { Kernels } from '../../src/kernels/types.js'
import { ParamBuilder, type ParamStore } from '../../src/params.js'
import { clipGradients, Optimizer, scheduledLr, type OptimizerOptions, type ScheduleOptions } from '../../src/train/optimizers.js'
import { f32, f64, Random } from '../helpers/setup.js'

/** A store of two parameters, a (2) and b (size - 2), so "global" means across parameters. */
function store(k: Kernels, values: number[]): ParamStore {
  const params = new ParamBuilder()
  params.add('a', [2], { kind: 'zeros' })
  if (values.length > 2) params.add('b', [values.length - 2], { kind: 'zeros' })
  const s = params.build(k, new Random(1))
  k.write(s.values, values)
  return s
}

async function near(k: Kernels, what: string, buf: Parameters<Kernels['read']>[0], want: readonly number[], tol = 1e-12): Promise<void> {
  const got = [...(await k.read(buf))]
  assert.equal(got.length, want.length, `${what}: length`)
  got.forEach((g, i) => {
    if (Number.isNaN(want[i])) assert.ok(Number.isNaN(g), `${what}[${i}]: got ${g}, want NaN`)
    else assert.ok(Math.abs(g - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `${what}[${i}]: got ${g}, want ${want[i]}`)
  })
}

/** One optimizer over p, stepping through the given gradients; returns it after the last step. */
async function steps(options: OptimizerOptions, p: number[], grads: number[][], check: (k: Kernels, s: ParamStore, step: number) => Promise<void>): Promise<Optimizer> {
  const k = f64()
  const s = store(k, p)
  const optimizer = new Optimizer(s, options)
  for (const [i, g] of grads.entries()) {
    k.write(s.grads, g)
    optimizer.update()
    await check(k, s, i + 1)
  }
  return optimizer
}

// ---- SGD ---------------------------------------------------------------------------------------------------

const P = [1, -2, 0.5]
const G1 = [0.1, -0.2, 0.3]
const G2 = [0.2, 0.1, -0.1]

test('SGD without momentum: p -= lr g', async () => {
  await steps({ kind: 'sgd', lr: 0.1, momentum: 0 }, P, [G1], async (k, s) => {
    await near(k, 'p', s.values, [0.99, -1.98, 0.47])
  })
})

test('SGD with momentum 0.9: v = 0.9 v + g, p -= lr v, two steps', async () => {
  const optimizer = await steps({ kind: 'sgd', lr: 0.1, momentum: 0.9 }, P, [G1, G2], async (k, s, step) => {
    // step 1: v = g1 = [0.1, -0.2, 0.3];  p = [1 - 0.01, -2 + 0.02, 0.5 - 0.03]
    // step 2: v = 0.9 [0.1, -0.2, 0.3] + [0.2, 0.1, -0.1] = [0.29, -0.08, 0.17];  p -= 0.1 v
    await near(k, `p after step ${step}`, s.values, step === 1 ? [0.99, -1.98, 0.47] : [0.961, -1.972, 0.453])
  })
  const state = await optimizer.getState()
  assert.equal(state.step, 2)
  assert.equal(state.moments.length, 1)
  // Moments come back as float32 (the checkpoint format), hence 1e-7.
  ;[0.29, -0.08, 0.17].forEach((v, i) => assert.ok(Math.abs(state.moments[0][i] - v) < 1e-7, `velocity[${i}] = ${state.moments[0][i]}`))
})

test('SGD momentum defaults to 0.9', () => {
  const optimizer = new Optimizer(store(f64(), P), { kind: 'sgd', lr: 0.1 })
  assert.equal(optimizer.options.momentum, 0.9)
  assert.equal(optimizer.options.nesterov, false)
  assert.equal(optimizer.options.weightDecay, 0)
})

test('SGD with Nesterov momentum: p -= lr (g + 0.9 v), two steps', async () => {
  await steps({ kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }, P, [G1, G2], async (k, s, step) => {
    // step 1: v = g1;  p -= 0.1 * 1.9 g1 = [0.019, -0.038, 0.057]
    // step 2: v = [0.29, -0.08, 0.17];  g2 + 0.9 v = [0.461, 0.028, 0.053];  p -= 0.1 of that
    await near(k, `p after step ${step}`, s.values, step === 1 ? [0.981, -1.962, 0.443] : [0.9349, -1.9648, 0.4377])
  })
})

test('SGD weight decay adds λ p to the gradient (L2)', async () => {
  await steps({ kind: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0.1 }, [1, -2], [[0.5, 0]], async (k, s) => {
    // grad = g + 0.1 p = [0.6, -0.2];  p -= 0.1 grad
    await near(k, 'p', s.values, [0.94, -1.98])
  })
})

test('update(lr) uses the scheduled rate it is given, not the base rate', async () => {
  const k = f64()
  const s = store(k, [1, 1])
  const optimizer = new Optimizer(s, { kind: 'sgd', lr: 1, momentum: 0 })
  k.write(s.grads, [1, -1])
  optimizer.update(0.25)
  await near(k, 'p', s.values, [0.75, 1.25])
})

// ---- Adam and AdamW ------------------------------------------------------------------------------------------
// β1 = 0.5, β2 = 0.75, ε = 0.1 keep the hand arithmetic exact.

const ADAM = { beta1: 0.5, beta2: 0.75, eps: 0.1, lr: 0.1 }

test('Adam: two steps with bias correction', async () => {
  const optimizer = await steps({ kind: 'adam', ...ADAM, weightDecay: 0 }, [1, -1, 3], [[0.4, -0.4, 0], [-0.6, 0.6, 0]], async (k, s, step) => {
    if (step === 1) {
      // m = 0.5 * 0.4 = 0.2, v = 0.25 * 0.16 = 0.04; m̂ = 0.2 / 0.5 = 0.4, v̂ = 0.04 / 0.25 = 0.16
      // update = 0.4 / (sqrt(0.16) + 0.1) = 0.8; p = 1 - 0.1 * 0.8. A zero gradient moves nothing.
      await near(k, 'p after step 1', s.values, [0.92, -0.92, 3])
    } else {
      // m = 0.5 * 0.2 + 0.5 * -0.6 = -0.2, v = 0.75 * 0.04 + 0.25 * 0.36 = 0.12
      // 1 - β1² = 0.75, 1 - β2² = 0.4375: update = (-0.2 / 0.75) / (sqrt(0.12 / 0.4375) + 0.1)
      const update = (-0.2 / 0.75) / (Math.sqrt(0.12 / 0.4375) + 0.1)
      await near(k, 'p after step 2', s.values, [0.92 - 0.1 * update, -0.92 + 0.1 * update, 3])
    }
  })
  const state = await optimizer.getState()
  assert.equal(state.step, 2)
  ;[[-0.2, 0.2, 0], [0.12, 0.12, 0]].forEach((want, j) => want.forEach((w, i) => assert.ok(Math.abs(state.moments[j][i] - w) < 1e-7, `moment ${j}[${i}]`)))
})

test('Adam with weight decay adds λ p to the gradient (L2, coupled)', async () => {
  await steps({ kind: 'adam', ...ADAM, weightDecay: 0.5 }, [1, 2], [[0.4, 0.4]], async (k, s) => {
    // grad = 0.4 + 0.5 p = [0.9, 1.4]; step 1 of Adam moves by lr * grad / (|grad| + ε)
    await near(k, 'p', s.values, [1 - 0.1 * (0.9 / 1.0), 2 - 0.1 * (1.4 / 1.5)])
  })
})

test('AdamW decays the weights directly: p -= lr (update + λ p)', async () => {
  await steps({ kind: 'adamw', ...ADAM, weightDecay: 0.5 }, [1, 2], [[0.4, 0.4]], async (k, s) => {
    // update = 0.4 / (0.4 + 0.1) = 0.8 for both; decay 0.5 p
    await near(k, 'p', s.values, [1 - 0.1 * (0.8 + 0.5), 2 - 0.1 * (0.8 + 1)])
  })
})

test('Adam defaults (β1 0.9, β2 0.999, ε 1e-8): the first step moves every weight by about lr', async () => {
  await steps({ kind: 'adam', lr: 0.01 }, [1, 1, 1], [[0.1, -3, 1e-4]], async (k, s) => {
    // bias correction makes m̂ = g and v̂ = g², so the step is lr * g / (|g| + 1e-8)
    await near(k, 'p', s.values, [1 - 0.01 * (0.1 / (0.1 + 1e-8)), 1 + 0.01 * (3 / (3 + 1e-8)), 1 - 0.01 * (1e-4 / (1e-4 + 1e-8))])
  })
  const adamw = new Optimizer(store(f64(), [0, 0]), { kind: 'adamw', lr: 0.01 })
  assert.deepEqual([adamw.options.beta1, adamw.options.beta2, adamw.options.eps, adamw.options.weightDecay], [0.9, 0.999, 1e-8, 0.01])
})

test('an optimizer resumed from getState() continues exactly where it stopped', async () => {
  // Dyadic values, so the float32 moments of the state hold them exactly.
  const gradients = [[0.5, -0.25], [-0.25, 0.5], [0.125, 0.5]]
  const k = f64()
  const straight = store(k, [1, -1])
  const a = new Optimizer(straight, { kind: 'adam', ...ADAM })
  for (const g of gradients) {
    k.write(straight.grads, g)
    a.update()
  }
  const interrupted = store(k, [1, -1])
  const b = new Optimizer(interrupted, { kind: 'adam', ...ADAM })
  for (const g of gradients.slice(0, 2)) {
    k.write(interrupted.grads, g)
    b.update()
  }
  const resumed = new Optimizer(interrupted, { kind: 'adam', ...ADAM })
  resumed.setState(await b.getState())
  k.write(interrupted.grads, gradients[2])
  resumed.update()
  assert.deepEqual([...await k.read(interrupted.values)], [...await k.read(straight.values)])
  // An Adam state (two moment buffers) does not fit SGD (one).
  const adamState = await b.getState()
  assert.throws(() => new Optimizer(interrupted, { kind: 'sgd', lr: 1 }).setState(adamState), (e: unknown) => {
    assert.ok(e instanceof RecurError)
    assert.equal(e.code, 'FORMAT')
    assert.match(e.message, /2 moment buffers, 'sgd' needs 1/)
    return true
  })
})

test('an optimizer refuses a learning rate that is not a positive finite number', () => {
  for (const lr of [0, -0.1, NaN, Infinity]) {
    assert.throws(() => new Optimizer(store(f64(), [1, 1]), { kind: 'adam', lr }), (e: unknown) => {
      assert.ok(e instanceof RecurError)
      assert.equal(e.code, 'RANGE')
      assert.match(e.message, /lr must be a positive number, got/)
      assert.ok(e.message.includes(String(lr)), e.message)
      return true
    })
  }
})

// ---- schedules -------------------------------------------------------------------------------------------------
// Convention (src/train/optimizers.ts): `step` is 1-based and the warm-up reaches the base rate at
// step = warmup; after it, t = step - warmup, 'step' decays by γ^floor(t / every) and 'cosine' uses
// progress t / (total - warmup). So without warm-up the first decay happens at step = every (PyTorch's
// StepLR, stepped after each optimizer step, would apply it from step every + 1).

function lrs(base: number, s: ScheduleOptions, at: number[]): number[] {
  return at.map((step) => scheduledLr(base, step, s))
}

function closeAll(got: number[], want: number[]): void {
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1e-12 * Math.max(1, Math.abs(want[i])), `[${i}]: got ${g}, want ${want[i]}`))
}

test('schedule constant: the base rate at every step', () => {
  closeAll(lrs(0.01, { kind: 'constant' }, [1, 2, 100, 1e6]), [0.01, 0.01, 0.01, 0.01])
})

test('schedule warm-up: linear from 0 to the base rate at step = warmup, then the schedule', () => {
  closeAll(lrs(0.01, { kind: 'constant', warmup: 10 }, [1, 5, 9, 10, 11, 500]), [0.001, 0.005, 0.009, 0.01, 0.01, 0.01])
})

test('schedule step: multiply by gamma every `every` steps', () => {
  // Step s has s-1 steps behind it (PyTorch's convention): the first decay is at step every + 1.
  closeAll(lrs(1, { kind: 'step', every: 10, gamma: 0.5 }, [1, 9, 10, 11, 20, 21, 36]), [1, 1, 1, 0.5, 0.5, 0.25, 0.125])
  // After a warm-up of 5, the decays count from its end.
  closeAll(lrs(1, { kind: 'step', warmup: 5, every: 10, gamma: 0.1 }, [1, 5, 15, 16, 26]), [0.2, 1, 1, 0.1, 0.01])
  // Defaults: gamma 0.1 every 1000 steps.
  closeAll(lrs(1, { kind: 'step' }, [1000, 1001, 2001]), [1, 0.1, 0.01])
})

test('schedule cosine: from the base rate down to minFactor at `total`, then flat', () => {
  const s: ScheduleOptions = { kind: 'cosine', warmup: 10, total: 110, minFactor: 0.1 }
  // t = step - 10 - 1 completed steps over a span of 100: progress 0.25 -> 0.1 + 0.9 * (1 + cos(π/4)) / 2; 0.5 -> 0.1 + 0.45
  closeAll(lrs(1, s, [5, 10, 11, 36, 61, 111, 1000]), [0.5, 1, 1, 0.1 + 0.45 * (1 + Math.SQRT1_2), 0.55, 0.1, 0.1])
  // Without a floor it reaches 0 at `total` and stays there.
  closeAll(lrs(2, { kind: 'cosine', total: 100 }, [1, 51, 101, 150]), [2, 1, 0, 0])
})

// ---- clipping ----------------------------------------------------------------------------------------------------

async function clip(k: Kernels, grads: number[], options: Parameters<typeof clipGradients>[1]): Promise<{ after: number[]; sumSq: number }> {
  const s = store(k, grads.map(() => 0))
  k.write(s.grads, grads)
  const sumSq = k.alloc(1)
  clipGradients(s, options, sumSq)
  return { after: [...await k.read(s.grads)], sumSq: (await k.read(sumSq))[0] }
}

const norm = (v: number[]): number => Math.sqrt(v.reduce((a, x) => a + x * x, 0))

test('clip by global norm: above maxNorm, the norm afterwards is maxNorm and the direction is kept', async () => {
  const k = f64()
  // Global over both parameters: a = [3, 0], b = [4]: norm 5.
  const { after, sumSq } = await clip(k, [3, 0, 4], { maxNorm: 1 })
  assert.equal(sumSq, 25, 'sumSq holds the squared norm before clipping')
  closeAll(after, [0.6, 0, 0.8])
  assert.ok(Math.abs(norm(after) - 1) < 1e-15)
  // The same in float32, to its precision.
  const single = await clip(f32(), [3, 0, 4, -12, 0.5], { maxNorm: 2.5 })
  assert.ok(Math.abs(norm(single.after) - 2.5) < 2.5 * 4e-7, `norm after ${norm(single.after)}`)
})

test('clip by global norm: at or below maxNorm, the gradients are left exactly as they were', async () => {
  const k = f64()
  for (const maxNorm of [5, 6, 1e9]) {
    const { after } = await clip(k, [3, 0, 4], { maxNorm })
    assert.deepEqual(after, [3, 0, 4])
  }
  const zero = await clip(k, [0, 0, 0], { maxNorm: 1 })
  assert.deepEqual(zero.after, [0, 0, 0])
})

test('clip by global norm: a NaN gradient leaves everything alone, and the NaN shows in sumSq', async () => {
  for (const k of [f64(), f32()]) {
    const { after, sumSq } = await clip(k, [NaN, 1, 2], { maxNorm: 1 })
    assert.ok(Number.isNaN(after[0]))
    assert.deepEqual(after.slice(1), [1, 2])
    assert.ok(Number.isNaN(sumSq))
  }
})

test('clip by value: every element clamped to [-value, value]', async () => {
  const { after, sumSq } = await clip(f64(), [3, -4, 0.5, -0.25, 1, -1], { value: 1 })
  assert.deepEqual(after, [1, -1, 0.5, -0.25, 1, -1])
  assert.equal(sumSq, 9 + 16 + 0.25 + 0.0625 + 2)
})

test('clip by norm, then by value', async () => {
  // [3, 4] scaled to norm 1 is [0.6, 0.8]; clamping to 0.7 then gives [0.6, 0.7].
  const { after } = await clip(f64(), [3, 4], { maxNorm: 1, value: 0.7 })
  closeAll(after, [0.6, 0.7])
  const none = await clip(f64(), [3, 4], {})
  assert.deepEqual(none.after, [3, 4])
  assert.equal(none.sumSq, 25)
})
