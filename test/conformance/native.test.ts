/**
 * The native backend on every instruction set this CPU runs (scalar, AVX2+FMA, AVX-512): the full
 * conformance grid against the f64 oracle for each (the registry's default is also run by
 * kernels.test.ts), plus what the grid's small shapes do not reach:
 * - the threaded paths: with 2 threads every kernel gives bit-for-bit the result of 1 thread (the
 *   split never changes an element's arithmetic), except the two reductions, whose partial sums
 *   follow the split; those are held to the oracle instead;
 * - GEMM shapes of the models (the per-step product with its transposed orientation, the
 *   batch-1 matrix-vector product, several cache blocks of K, M and N), against the oracle;
 * - the accuracy of the vectorised exp / tanh / sigmoid over a dense sweep, which the cell
 *   kernels' tolerances rely on.
 * An instruction set the CPU lacks is skipped with the reason.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { NATIVE_ISAS, NativeKernels, type NativeIsa } from '../../src/kernels/native/index.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { Random } from '../../src/random.js'
import { Bench, gemmCase, runConformance } from '../helpers/conformance.js'

/** The backend for one instruction set, or the reason it cannot start here. */
function make(isa: NativeIsa, threads = 2): NativeKernels | string {
  try {
    return new NativeKernels({ isa, threads })
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

for (const isa of NATIVE_ISAS) {
  runConformance(`native (${isa})`, () => {
    const k = make(isa)
    if (typeof k === 'string') throw new Error(k)
    return k
  })
}

// ---- threads: 2 threads give what 1 thread gives -------------------------------------------------------------

interface Call {
  label: string
  /** Allocates inputs on k (same seed on both), runs the kernel, returns the outputs to compare. */
  run(k: Kernels, r: Random): BufferHandle[]
}

function input(k: Kernels, r: Random, n: number, lo = -1, hi = 1): BufferHandle {
  const buf = k.alloc(n)
  k.write(buf, Array.from({ length: n }, () => r.range(lo, hi)))
  return buf
}

function ids(k: Kernels, r: Random, n: number, V: number): BufferHandle {
  const buf = k.alloc(n, 'i32')
  k.write(buf, Array.from({ length: n }, () => r.int(V)))
  return buf
}

function gates(k: Kernels, r: Random, B: number, G: number, H: number): BufferHandle {
  return input(k, r, B * G * H, 0.01, 0.99)
}

const [B, H, N, V] = [48, 520, 4096, 83] // H: 520 = 512 + 8 leftovers, split between threads in whole vectors

const calls: Call[] = [
  ...([[false, false], [false, true], [true, false], [true, true]] as const).flatMap(([transA, transB]) =>
    // The last three are large enough (over 2^27 multiply-adds) for 2 threads to pack the shared
    // operand together and deal the rest in parts (native/gemm.h), split along M, along N, and
    // computed transposed; 1 thread packs block by block.
    ([[64, 1030, 260], [300, 200, 300], [1, 2048, 512], [2, 700, 300], [200, 83, 260], [530, 517, 520], [517, 530, 520], [200, 1400, 520]] as const).map(([m, n, K]): Call => ({
      label: `gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${m}x${n}x${K}`,
      run: (k, r) => {
        const a = input(k, r, m * K), b = input(k, r, K * n), c = input(k, r, m * n)
        k.gemm({ transA, transB, m, n, k: K, alpha: 0.75, a, lda: transA ? m : K, b, ldb: transB ? K : n, beta: 0.5, c, ldc: n })
        return [c]
      },
    }))),
  { label: 'fill', run: (k, r) => { const x = input(k, r, N * 40); k.fill(N * 40 - 3, x, 0.25); return [x] } },
  { label: 'copy', run: (k, r) => { const s = input(k, r, N * 40), d = input(k, r, N * 40); k.copy(N, 39, s, 40, d, 40); return [d] } },
  { label: 'axpy', run: (k, r) => { const x = input(k, r, N * 40), y = input(k, r, N * 40); k.axpy(N * 40 - 5, -0.5, x, y); return [y] } },
  { label: 'scale', run: (k, r) => { const x = input(k, r, N * 40); k.scale(N * 40 - 5, x, 1.5); return [x] } },
  { label: 'mul', run: (k, r) => { const x = input(k, r, N * 40), y = input(k, r, N * 40); k.mul(N * 40 - 5, x, y); return [y] } },
  { label: 'addBias', run: (k, r) => { const x = input(k, r, N * 1030), b = input(k, r, 1030); k.addBias(N, 1030, x, b); return [x] } },
  { label: 'biasGrad', run: (k, r) => { const dy = input(k, r, N * 1030), db = input(k, r, 1030); k.biasGrad(N, 1030, dy, db); return [db] } },
  ...(['tanh', 'sigmoid', 'relu', 'identity'] as const).flatMap((kind): Call[] => [
    { label: `activation ${kind}`, run: (k, r) => { const x = input(k, r, N * 40, -6, 6), y = input(k, r, N * 40); k.activation(kind, N * 40 - 3, x, y); return [y] } },
    { label: `activationBackward ${kind}`, run: (k, r) => { const y = input(k, r, N * 40), dy = input(k, r, N * 40), dx = input(k, r, N * 40); k.activationBackward(kind, N * 40 - 3, y, dy, dx); return [dx] } },
  ]),
  { label: 'rnnForward', run: (k, r) => { const z = input(k, r, B * H, -3, 3), a = input(k, r, B * H); k.rnnForward(B, H, z, a); return [a] } },
  { label: 'rnnBackward', run: (k, r) => { const a = input(k, r, B * H), o = input(k, r, B * H), n = input(k, r, B * H), dz = input(k, r, B * H); k.rnnBackward(B, H, a, o, n, dz); return [dz] } },
  ...[false, true].flatMap((peephole): Call[] => [
    {
      label: `lstmForward${peephole ? ' peephole' : ''}`,
      run: (k, r) => {
        const z = input(k, r, B * 4 * H, -3, 3), cp = input(k, r, B * H, -2, 2), p = peephole ? input(k, r, 3 * H, -0.5, 0.5) : null
        const g = input(k, r, B * 4 * H), c = input(k, r, B * H), a = input(k, r, B * H)
        k.lstmForward(B, H, z, cp, p, g, c, a)
        return [g, c, a]
      },
    },
    {
      label: `lstmBackward${peephole ? ' peephole' : ''}`,
      run: (k, r) => {
        const g = gates(k, r, B, 4, H), cp = input(k, r, B * H, -2, 2), c = input(k, r, B * H, -2, 2), p = peephole ? input(k, r, 3 * H, -0.5, 0.5) : null
        const o = input(k, r, B * H), n = input(k, r, B * H), dcn = input(k, r, B * H)
        const dz = input(k, r, B * 4 * H), dcp = input(k, r, B * H), dp = peephole ? input(k, r, 3 * H) : null
        k.lstmBackward(B, H, g, cp, c, p, o, n, dcn, dz, dcp, dp)
        return dp === null ? [dz, dcp] : [dz, dcp, dp]
      },
    },
  ]),
  ...(['after', 'before'] as const).flatMap((reset): Call[] => [
    {
      label: `gruForward ${reset}`,
      run: (k, r) => {
        const xw = input(k, r, B * 3 * H, -3, 3), hw = input(k, r, B * 3 * H, -2, 2), bh = input(k, r, 3 * H), cp = input(k, r, B * H)
        const g = input(k, r, B * 3 * H), c = input(k, r, B * H)
        k.gruForward(reset, B, H, xw, hw, bh, cp, g, c)
        return [g, c]
      },
    },
    {
      label: `gruBackward ${reset}`,
      run: (k, r) => {
        const g = gates(k, r, B, 3, H), hw = input(k, r, B * 3 * H, -2, 2), bh = input(k, r, 3 * H), cp = input(k, r, B * H)
        const o = input(k, r, B * H), n = input(k, r, B * H), dxw = input(k, r, B * 3 * H), dhw = input(k, r, B * 3 * H), dcp = input(k, r, B * H)
        k.gruBackward(reset, B, H, g, hw, bh, cp, o, n, dxw, dhw, dcp)
        return [dxw, dhw, dcp]
      },
    },
  ]),
  {
    label: 'gruResetForward',
    run: (k, r) => {
      const xw = input(k, r, B * 3 * H, -3, 3), hw = input(k, r, B * 3 * H), bh = input(k, r, 3 * H), cp = input(k, r, B * H), rc = input(k, r, B * H)
      k.gruResetForward(B, H, xw, hw, bh, cp, rc)
      return [rc]
    },
  },
  {
    label: 'gruResetBackward',
    run: (k, r) => {
      const g = gates(k, r, B, 3, H), cp = input(k, r, B * H), drc = input(k, r, B * H)
      const dxw = input(k, r, B * 3 * H), dhw = input(k, r, B * 3 * H), dcp = input(k, r, B * H)
      k.gruResetBackward(B, H, g, cp, drc, dxw, dhw, dcp)
      return [dxw, dhw, dcp]
    },
  },
  { label: 'gather', run: (k, r) => { const t = input(k, r, V * 1024), i = ids(k, r, N, V), o = input(k, r, N * 1024); k.gather(N, 1024, t, i, o); return [o] } },
  { label: 'scatterAdd', run: (k, r) => { const d = input(k, r, N * 1024), i = ids(k, r, N, V), t = input(k, r, V * 1024); k.scatterAdd(N, 1024, d, i, t); return [t] } },
  {
    label: 'softmaxCrossEntropy',
    run: (k, r) => {
      const z = input(k, r, N * V, -4, 4), t = ids(k, r, N, V), m = input(k, r, N, 0, 1), l = input(k, r, N), d = input(k, r, N * V)
      k.softmaxCrossEntropy(N, V, z, t, m, l, d, 1 / N)
      return [l, d]
    },
  },
  { label: 'softmax', run: (k, r) => { const z = input(k, r, N * V, -4, 4), p = input(k, r, N * V); k.softmax(N, V, z, p, 0.8); return [p] } },
  { label: 'clipByNorm', run: (k, r) => { const x = input(k, r, N * 40), s = k.alloc(1); k.write(s, [N * 40]); k.clipByNorm(N * 40, x, s, 3); return [x] } },
  { label: 'clipByValue', run: (k, r) => { const x = input(k, r, N * 40, -2, 2); k.clipByValue(N * 40, x, 0.5); return [x] } },
  {
    label: 'sgdStep',
    run: (k, r) => {
      const p = input(k, r, N * 40), g = input(k, r, N * 40), v = input(k, r, N * 40)
      k.sgdStep(N * 40, p, g, v, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true })
      return [p, v]
    },
  },
  {
    label: 'adamStep',
    run: (k, r) => {
      const p = input(k, r, N * 40), g = input(k, r, N * 40), m = input(k, r, N * 40, -0.1, 0.1), v = input(k, r, N * 40, 0, 0.01)
      k.adamStep(N * 40, p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step: 7 })
      return [p, m, v]
    },
  },
]

describe('native: 2 threads give bit-for-bit the result of 1 thread', () => {
  for (const isa of NATIVE_ISAS) {
    test(isa, async (t) => {
      const one = make(isa, 1), two = make(isa, 2)
      if (typeof one === 'string' || typeof two === 'string') return t.skip(String(one))
      for (const call of calls) {
        const a = call.run(one, new Random(7)), b = call.run(two, new Random(7))
        for (let i = 0; i < a.length; i++) {
          const x: Float32Array | Float64Array = await one.read(a[i])
          const y: Float32Array | Float64Array = await two.read(b[i])
          for (let j = 0; j < x.length; j++) {
            if (!Object.is(x[j], y[j])) assert.fail(`${isa} ${call.label}: output ${i}[${j}] is ${x[j]} on 1 thread, ${y[j]} on 2`)
          }
        }
      }
    })
  }
})

describe('native: model-sized GEMMs and the threaded reductions against the f64 oracle', () => {
  const shapes: [boolean, boolean, number, number, number][] = [
    [false, true, 32, 1024, 256], // per-step recurrent product (computed transposed)
    [false, true, 33, 770, 300], // ... with leftovers everywhere
    [false, false, 32, 256, 1024], // its backward
    [false, true, 1, 2048, 512], // batch-1 matrix-vector product (sampling)
    [false, true, 3, 1000, 257], // thin: the dot-product form
    [true, false, 300, 130, 700], // weight gradient, several K blocks
    [false, true, 700, 83, 300], // output projection
    [true, true, 100, 90, 80],
    [false, false, 250, 2100, 40], // several N blocks
  ]
  for (const isa of NATIVE_ISAS) {
    test(isa, async (t) => {
      const k = make(isa, 2)
      if (typeof k === 'string') return t.skip(k)
      const oracle = new ReferenceKernels('f64')
      for (const [i, [transA, transB, m, n, K]] of shapes.entries()) {
        for (const [alpha, beta, pad] of [[1, 1, [0, 0, 0]], [-0.5, 0, [3, 1, 5]]] as const) {
          await gemmCase(transA, transB, m, n, K, alpha, beta, pad).run(new Bench(k, oracle, new Random(i)))
        }
      }
      // sum and sumSquares over a split range: partial sums in double, a few ulps of the total.
      const n = 1_000_003
      const x = new Float64Array(n).map((_, j) => Math.fround(Math.sin(j) * 2))
      const buf = k.alloc(n), out = k.alloc(1)
      k.write(buf, x)
      k.sum(n, buf, out)
      const sum = x.reduce((s, v) => s + v, 0), abs = x.reduce((s, v) => s + Math.abs(v), 0)
      assert.ok(Math.abs((await k.read(out))[0] - sum) <= 8 * 2 ** -23 * abs, 'sum')
      k.sumSquares(n, buf, out)
      const sq = x.reduce((s, v) => s + v * v, 0)
      assert.ok(Math.abs((await k.read(out))[0] - sq) <= 8 * 2 ** -23 * sq, 'sumSquares')
    })
  }
})

// ---- accuracy of the vectorised transcendental functions -----------------------------------------------------------

describe('native: tanh and sigmoid within 2 ulps of 1 (absolute) on [-20, 20] in steps of 2^-12, and at the extremes', () => {
  const xs: number[] = []
  for (let x = -20; x <= 20; x += 2 ** -12) xs.push(x)
  xs.push(1e-40, -1e-40, 0, -0, 88.5, -88.5, 100, -100, 1e4, -1e4, 3e38, -3e38)
  const sigmoid = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))
  for (const isa of NATIVE_ISAS) {
    test(isa, async (t) => {
      const k = make(isa, 1)
      if (typeof k === 'string') return t.skip(k)
      const x = k.alloc(xs.length), y = k.alloc(xs.length)
      k.write(x, xs)
      const inputs = Float64Array.from(await k.read(x))
      for (const [kind, f] of [['tanh', Math.tanh], ['sigmoid', sigmoid]] as const) {
        k.activation(kind, xs.length, x, y)
        const got = await k.read(y)
        let worst = 0, at = 0
        for (let i = 0; i < xs.length; i++) {
          const err = Math.abs(got[i] - f(inputs[i])) / 2 ** -23
          if (!(err <= worst)) [worst, at] = [err, inputs[i]]
        }
        assert.ok(worst <= 2, `${isa} ${kind}: ${worst.toFixed(2)} ulps at x = ${at}`)
      }
    })
  }
})
