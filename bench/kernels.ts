/**
 * Kernel benchmark of the native backend.
 *
 * 1. GEMM GFLOP/s at the shapes workloads W1 and W2 use (../shared/bench/WORKLOADS.md) and at
 *    2048^3, on 1 and 2 threads, as a percentage of the machine's OpenBLAS sgemm ceiling at 2048^3
 *    (../shared/bench/peers.md: 182 GFLOP/s on 1 thread, 353 on 2), plus each workload's GEMM mix
 *    per training step weighted by its FLOPs (the figure the W2 target is about).
 * 2. A quick end-to-end check: W1 (LSTM 2x256, B 32, T 64) training tokens/s with LanguageModel +
 *    LanguageModelTrainer on the native backend and on the reference backend (a few steps only:
 *    the reference takes seconds per step), and optionally other workloads on native.
 *
 * Every GEMM is checked before it is timed (a few entries against a float64 dot product). The
 * machine may be shared: each figure is the median over repetitions, with the best beside it.
 *
 * With --openblas the ceiling is measured in the same sitting rather than taken from peers.md:
 * numpy's `a @ b` (OpenBLAS, float32, 2048^3, OPENBLAS_NUM_THREADS = the thread count,
 * OPENBLAS_CORETYPE unset) just before and just after the table, through python3; the percentages
 * are then of the mean of the two medians. (A shared machine moves both figures by 15% and more
 * from one minute to the next: compare a kernel with the ceiling measured beside it.)
 *
 * usage: node --import tsx bench/kernels.ts [--isa scalar|avx2|avx512] [--threads 1,2] [--only gemm|e2e]
 *        [--shapes W1|W2|all] [--openblas] [--reference-steps N] [--workloads W1,W3,W4] [--json]
 */
import { spawnSync } from 'node:child_process'
import { NativeKernels, type NativeIsa } from '../src/kernels/native/index.js'
import { ReferenceKernels } from '../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../src/kernels/types.js'
import { Random } from '../src/random.js'
import { WORKLOADS, runWorkload } from '../src/bench/workloads.js'

/** OpenBLAS 0.3.21 sgemm at 2048^3, AVX-512 kernel, on this kind of machine (peers.md). */
const CEILING: Record<number, number> = { 1: 182, 2: 353 }

interface Shape {
  label: string
  transA: boolean
  transB: boolean
  m: number
  n: number
  k: number
  beta: number
  /** Calls per training step of the workload (0: not part of a workload). */
  perStep: number
}

/** The GEMMs of one training step of an L=2 LSTM language model with one-hot input (layer 1 is a lookup). */
function workloadShapes(id: 'W1' | 'W2'): Shape[] {
  const w = WORKLOADS[id]
  const { B, T, H } = w
  const N = B * T, G = 4, V = 84
  const s = (label: string, transA: boolean, transB: boolean, m: number, n: number, k: number, beta: number, perStep: number): Shape =>
    ({ label: `${id} ${label}`, transA, transB, m, n, k, beta, perStep })
  return [
    s('step forward   z += a<t-1> W_hh^T', false, true, B, G * H, H, 1, 2 * T),
    s('step backward  da = dz W_hh', false, false, B, H, G * H, 0, 2 * T),
    s('input projection (layer 2)', false, true, N, G * H, H, 0, 1),
    s('weight gradients dW_ih, dW_hh', true, false, G * H, H, N, 1, 3),
    s('input gradient dxs (layer 2)', false, false, N, H, G * H, 0, 1),
    s('output projection', false, true, N, V, H, 0, 1),
    s('output weight gradient', true, false, V, H, N, 1, 1),
    s('output input gradient', false, false, N, H, V, 0, 1),
  ]
}

const CUBE: Shape = { label: '2048^3 (the ceiling\'s shape)', transA: false, transB: false, m: 2048, n: 2048, k: 2048, beta: 0, perStep: 0 }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** numpy's float32 `a @ b` at 2048^3: median and best GFLOP/s of 7 products after a warm-up. */
const NUMPY_CUBE = `
import json, time, numpy as np
n = 2048
a = np.random.default_rng(1).random((n, n), dtype=np.float32); b = a.T.copy()
a @ b
rates = []
for _ in range(7):
    t = time.perf_counter(); a @ b; rates.append(2 * n ** 3 / (time.perf_counter() - t) / 1e9)
rates.sort()
print(json.dumps({"median": rates[len(rates) // 2], "best": rates[-1]}))
`

/** OpenBLAS sgemm at 2048^3 on `threads` threads, measured now through python3 + numpy; null (with the reason printed) if it cannot run. */
function openblasCube(threads: number, out: (line: string) => void): { median: number; best: number } | null {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) }
  delete env.OPENBLAS_CORETYPE
  const run = spawnSync('python3', ['-c', NUMPY_CUBE], { env, encoding: 'utf8', timeout: 120_000 })
  if (run.status !== 0) {
    out(`(OpenBLAS ceiling not measured: python3 with numpy failed: ${(run.stderr || String(run.error ?? '')).trim().split('\n').at(-1)})`)
    return null
  }
  return JSON.parse(run.stdout) as { median: number; best: number }
}

function randomBuffer(k: Kernels, n: number, random: Random): { buf: BufferHandle; host: Float32Array } {
  const host = Float32Array.from({ length: n }, () => random.range(-1, 1))
  const buf = k.alloc(n)
  k.write(buf, host)
  return { buf, host }
}

/** Times one shape: checks a few entries, then repetitions of enough calls to last ~25 ms each. */
async function timeGemm(k: Kernels, s: Shape, budgetMs: number): Promise<{ median: number; best: number }> {
  const random = new Random(1)
  const { transA, transB, m, n, k: K } = s
  const A = randomBuffer(k, m * K, random), Bm = randomBuffer(k, K * n, random), C = randomBuffer(k, m * n, random)
  const lda = transA ? m : K, ldb = transB ? K : n
  const call = (beta: number) => k.gemm({ transA, transB, m, n, k: K, alpha: 1, a: A.buf, lda, b: Bm.buf, ldb, beta, c: C.buf, ldc: n })
  // Check: C = op(A) op(B) at a few entries, against float64 dot products.
  call(0)
  const c = await k.read(C.buf)
  for (const [i, j] of [[0, 0], [m - 1, n - 1], [m >> 1, n >> 1], [m - 1, 0]]) {
    let want = 0, scale = 0
    for (let p = 0; p < K; p++) {
      const term = (transA ? A.host[p * lda + i] : A.host[i * lda + p]) * (transB ? Bm.host[j * ldb + p] : Bm.host[p * ldb + j])
      want += term
      scale += Math.abs(term)
    }
    if (!(Math.abs(c[i * n + j] - want) <= (K + 2) * 2 ** -23 * scale)) throw new Error(`${s.label}: C[${i},${j}] = ${c[i * n + j]}, expected ${want}`)
  }
  const flops = 2 * m * n * K
  // Calls per repetition: about 25 ms of work at ~100 GFLOP/s.
  const calls = Math.max(1, Math.round(2.5e9 / flops))
  const rates: number[] = []
  const start = performance.now()
  for (let rep = 0; rep < 3 || (performance.now() - start < budgetMs && rep < 200); rep++) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) call(s.beta)
    rates.push((flops * calls) / ((performance.now() - t0) / 1000) / 1e9)
  }
  for (const b of [A, Bm, C]) k.free(b.buf)
  return { median: median(rates), best: Math.max(...rates) }
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json')
  const only = flag(argv, 'only')
  const isa = flag(argv, 'isa') as NativeIsa | undefined
  const threadCounts = (flag(argv, 'threads') ?? '1,2').split(',').map(Number)
  const which = flag(argv, 'shapes') ?? 'all'
  const sitting = argv.includes('--openblas')
  const out = (line: string) => void (json ? null : process.stdout.write(`${line}\n`))
  const results: Record<string, unknown>[] = []

  if (only !== 'e2e') {
    const shapes = [
      ...(which === 'all' || which === 'W1' ? workloadShapes('W1') : []),
      ...(which === 'all' || which === 'W2' ? workloadShapes('W2') : []),
      ...(which === 'all' ? [CUBE] : []),
    ]
    for (const threads of threadCounts) {
      const k = new NativeKernels({ threads, ...(isa === undefined ? {} : { isa }) })
      const before = sitting ? openblasCube(threads, out) : null
      const rows: string[] = []
      const ceilingRow = (when: string, r: { median: number; best: number }) =>
        `${`OpenBLAS (numpy) 2048^3, measured ${when}`.padEnd(63)} ${r.median.toFixed(1).padStart(8)} ${r.best.toFixed(1).padStart(7)}`
      const mix = new Map<string, { flops: number; seconds: number }>()
      const timed: { s: Shape; median: number; best: number }[] = []
      for (const s of shapes) timed.push({ s, ...(await timeGemm(k, s, 400)) })
      const after = sitting && before !== null ? openblasCube(threads, out) : null
      const ceiling = before !== null && after !== null ? (before.median + after.median) / 2 : CEILING[threads]
      const source = before !== null && after !== null ? 'measured in this sitting' : 'peers.md'
      out(`\nGEMM, native ${k.isa}, ${threads} thread${threads > 1 ? 's' : ''} (OpenBLAS ceiling ${ceiling === undefined ? '?' : ceiling.toFixed(0)} GFLOP/s, ${source})`)
      out(`${'shape'.padEnd(44)} ${'M x N x K'.padEnd(18)} ${'GFLOP/s'.padStart(8)} ${'best'.padStart(7)} ${'% ceil'.padStart(7)}`)
      if (before !== null) rows.push(ceilingRow('before', before))
      for (const { s, ...r } of timed) {
        const pct = ceiling === undefined ? NaN : (100 * r.median) / ceiling
        const dims = `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'} ${s.m}x${s.n}x${s.k}`
        rows.push(`${s.label.padEnd(44)} ${dims.padEnd(18)} ${r.median.toFixed(1).padStart(8)} ${r.best.toFixed(1).padStart(7)} ${pct.toFixed(0).padStart(6)}%`)
        results.push({ kind: 'gemm', isa: k.isa, threads, shape: s.label, transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, gflops: r.median, best: r.best, percentOfCeiling: pct })
        if (s.perStep > 0) {
          const id = s.label.slice(0, 2)
          const flops = 2 * s.m * s.n * s.k * s.perStep
          const acc = mix.get(id) ?? { flops: 0, seconds: 0 }
          mix.set(id, { flops: acc.flops + flops, seconds: acc.seconds + flops / (r.median * 1e9) })
        }
      }
      if (after !== null) rows.push(ceilingRow('after', after))
      for (const row of rows) out(row)
      for (const [id, { flops, seconds }] of mix) {
        const rate = flops / seconds / 1e9
        const pct = (100 * rate) / (ceiling ?? NaN)
        out(`${`${id} GEMM mix of a training step (FLOP-weighted)`.padEnd(63)} ${rate.toFixed(1).padStart(8)} ${''.padStart(7)} ${pct.toFixed(0).padStart(6)}%   ${(seconds * 1000).toFixed(1)} ms of GEMM per step`)
        results.push({ kind: 'gemm-mix', workload: id, isa: k.isa, threads, gflops: rate, percentOfCeiling: pct, gemmMsPerStep: seconds * 1000 })
      }
      if (before !== null && after !== null) results.push({ kind: 'openblas', threads, before, after, ceiling })
    }
  }

  if (only !== 'gemm') {
    const referenceSteps = Number(flag(argv, 'reference-steps') ?? 3)
    const workloads = (flag(argv, 'workloads') ?? 'W1').split(',')
    out('\nEnd to end (LanguageModel + LanguageModelTrainer), tokens/s: median of the workload\'s timed steps')
    const native = new NativeKernels(isa === undefined ? {} : { isa })
    for (const id of workloads) {
      const w = WORKLOADS[id]
      if (w === undefined) throw new Error(`unknown workload ${id}`)
      const r = await runWorkload(w, native)
      out(`${id} native ${native.isa} x${native.threads}: ${Math.round(r.tokensPerSecond as number).toLocaleString('en')} tokens/s` +
        (w.task === 'train' ? ` (${(r['msPerStep'] as { median: number }).median.toFixed(1)} ms/step, ${(r['gflops'] as number).toFixed(1)} GFLOP/s)` : ''))
      results.push({ kind: 'e2e', ...r, isa: native.isa, threads: native.threads })
      if (id === 'W1' && referenceSteps > 0) {
        // The reference backend: the same workload, a few steps (its first step included: nothing to warm up in JS loops).
        const ref = await runWorkload({ ...w, first: 1, last: referenceSteps }, new ReferenceKernels('f32'), { steps: referenceSteps })
        const ratio = (r.tokensPerSecond as number) / (ref.tokensPerSecond as number)
        out(`${id} reference (${referenceSteps} steps): ${Math.round(ref.tokensPerSecond as number).toLocaleString('en')} tokens/s; native is ${ratio.toFixed(0)}x faster`)
        results.push({ kind: 'e2e', ...ref })
      }
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(results)}\n`)
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2))
