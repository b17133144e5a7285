/**
 * The WebGPU backend against the f64 oracle: the full conformance grid (every kernel, forward and
 * backward), plus what the grid's shapes and placements do not reach:
 * - GEMM shapes at and around the tiles (16 x 64 thin, 32 x 64 medium and 64 x 64 square tiles, K
 *   steps of 16), long K, the batch-1 product, every transpose, alpha / beta, and the tile choice;
 * - operands that share one GPUBuffer at unaligned offsets (one binding for several operands);
 * - sizes past a dispatch's workgroups (grid-stride loops, rows per workgroup, two-pass sums);
 * - the queue: more dispatches than one submit holds, and a write landing after the work queued
 *   before it; an error the device reports coming back as a RecurError;
 * - refusals: buffers larger than the adapter binds, the `webgpu` package missing, the Vulkan check,
 *   and the registry's rule that a software adapter is used only when forced by name;
 * - the fused step kernels (WGSL of their own), against their composition on the reference backend
 *   (at the end), in a cell's placement and in the one that makes them fall back to the composition.
 *
 * Without a GPU this runs on Chromium's SwiftShader Vulkan driver (set here when VK_DRIVER_FILES is
 * unset and the driver is installed); where no adapter can be had, every test skips with the reason.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { RecurError } from '../../src/errors.js'
import { backendStatus, resolveBackend } from '../../src/kernels/registry.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { BufferHandle, Kernels } from '../../src/kernels/types.js'
import { WebGpuKernels } from '../../src/kernels/webgpu/index.js'
import { GEMM_TILES, gemmTile } from '../../src/kernels/webgpu/programs/gemm.js'
import { stepTile } from '../../src/kernels/webgpu/programs/steps.js'
import type { ProgramSpec } from '../../src/kernels/webgpu/program.js'
import { BASIC } from '../../src/kernels/webgpu/programs/basic.js'
import { startWebGpuNode, vulkanProblem } from '../../src/kernels/webgpu/node.js'
import { Random } from '../../src/random.js'
import { Bench, gemmCase, runConformance } from '../helpers/conformance.js'
import { countCalls } from '../helpers/count-calls.js'

/** Chromium's software Vulkan driver (Debian's chromium package). */
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json'
if (process.env['VK_DRIVER_FILES'] === undefined && existsSync(SWIFTSHADER)) process.env['VK_DRIVER_FILES'] = SWIFTSHADER

let started: Promise<WebGpuKernels> | null = null
/** The backend on whatever adapter there is, software included (this test forces it). */
const start = (): Promise<WebGpuKernels> => (started ??= startWebGpuNode({ allowSoftware: true }))

/** The backend, or the reason it cannot start here (the test then skips with it). */
async function backendOrReason(): Promise<WebGpuKernels | string> {
  try {
    return await start()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/**
 * On the software adapter each case costs a dispatch's round trip through a CPU emulation of the GPU
 * (milliseconds, more for the tiled GEMM), so the grid's 8788 GEMM cases are sampled: every 32nd, a
 * stride coprime with the grid's cycles of alpha / beta (7), padding (5) and sizes (13), so the 275
 * cases still meet every size on each axis, every coefficient pair and every padding under all four
 * transposes (the shapes below add the tile edges). Every other kernel runs its whole grid. On a GPU
 * (VK_DRIVER_FILES naming another driver, or unset): everything.
 */
const software = (process.env['VK_DRIVER_FILES'] ?? '').toLowerCase().includes('swiftshader')
runConformance('webgpu', start, { select: (kernel, index) => !software || kernel !== 'gemm' || index % 32 === 0 })

describe('webgpu: GEMM shapes beyond the grid, against the f64 oracle', () => {
  // Sized for the software adapter (a few tiles each); the device check runs W1-W4 for size.
  const shapes: [number, number, number][] = [
    [1, 130, 33], // batch-1 sampling: one row, two whole column tiles and a bit, two K steps and one more
    [16, 64, 16], // exactly one thin tile and one K step
    [33, 65, 40], // a medium tile plus a row, a column tile plus a column
    [129, 127, 17], // two square tiles plus a row, minus a column
    [65, 64, 257], // long K: 16 steps of 16 and one more
  ]
  const coefficients: [number, number][] = [[1, 0], [-0.5, 1], [2, -1], [0, 0.5]]
  /**
   * The grid's products are small, so the shape-based choice gives them the thin tile; the shapes
   * here run on it under every transpose, and on the square tile (A and B plain) and the medium one
   * (both transposed), forced on a second backend of the same device. The tiles share the loading
   * code, written from the tile's size, so the two runs take every loading path on a tile of their
   * own. (Each tile and transpose is one more pipeline, which the software adapter takes seconds to
   * compile.)
   */
  const runs: [keyof typeof GEMM_TILES | null, boolean, boolean][] = [
    [null, false, false], [null, false, true], [null, true, false], [null, true, true],
    ['square', false, false], ['medium', true, true],
  ]
  for (const [tile, transA, transB] of runs) {
    test(`${tile ?? 'chosen'} tile, ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, async (t) => {
      const k = await backendOrReason()
      if (typeof k === 'string') return t.skip(k)
      const backend = tile === null ? k : new WebGpuKernels(k.device, k.adapter, null, { gemmTile: tile })
      const oracle = new ReferenceKernels('f64')
      for (const [i, [m, n, K]] of shapes.entries()) {
        const [alpha, beta] = coefficients[i % coefficients.length]
        const pad = i % 2 === 0 ? [0, 0, 0] as const : [3, 1, 5] as const
        await gemmCase(transA, transB, m, n, K, alpha, beta, pad).run(new Bench(backend, oracle, new Random(100 + i)))
      }
    })
  }
  test('the tile follows the shape: square for large products, smaller ones to make enough workgroups', () => {
    assert.equal(gemmTile(1, 2048).name, 'thin') // batch-1 sampling
    assert.equal(gemmTile(64, 2048).name, 'thin') // W2's per-step product: 32 square tiles, 64 medium, 128 thin
    assert.equal(gemmTile(64, 4096).name, 'medium') // 64 square tiles, 128 medium
    assert.equal(gemmTile(64, 8192).name, 'square')
    assert.equal(gemmTile(8192, 2048).name, 'square') // W2's input projection
  })
})

test('webgpu: gemm with K = 0 is C = beta * C (beta = 0: zeros, whatever C held)', async (t) => {
  const k = await backendOrReason()
  if (typeof k === 'string') return t.skip(k)
  const a = k.alloc(3), b = k.alloc(3), c = k.alloc(6)
  for (const [beta, before, after] of [[0.5, 3, 1.5], [0, NaN, 0]] as const) {
    k.write(c, new Array<number>(6).fill(before))
    k.gemm({ transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a, lda: 0, b, ldb: 3, beta, c, ldc: 3 })
    assert.deepEqual([...(await k.read(c))], new Array<number>(6).fill(after))
  }
})

/** The same buffer of `n` values on both backends. */
function twin(k: Kernels, oracle: Kernels, values: number[]): [BufferHandle, BufferHandle] {
  const a = k.alloc(values.length), b = oracle.alloc(values.length)
  k.write(a, values)
  oracle.write(b, values.map((v) => Math.fround(v)))
  return [a, b]
}

async function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number): Promise<void> {
  assert.equal(got.length, want.length, `${what}: length`)
  for (let i = 0; i < want.length; i++) {
    const error = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]))
    if (!(error <= tolerance)) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`)
  }
}

describe('webgpu: operands sharing one GPUBuffer at unaligned offsets', () => {
  test('gemm, lstmForward, axpy and softmax with every operand a view of one buffer', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const oracle = new ReferenceKernels('f64')
    const random = new Random(7)
    const n = 20000
    const [mine, theirs] = twin(k, oracle, Array.from({ length: n }, () => random.range(-1, 1)))
    const both = (f: (kk: Kernels, whole: BufferHandle) => void) => {
      f(k, mine)
      f(oracle, theirs)
    }
    // C (37,45) at offset 9001 = A (37,29) at offset 3 times B^T, B (45,29) at offset 1113; beta = 1 reads C in place.
    both((kk, w) => kk.gemm({
      transA: false, transB: true, m: 37, n: 45, k: 29, alpha: 0.5,
      a: kk.view(w, 3, 37 * 29), lda: 29, b: kk.view(w, 1113, 45 * 29), ldb: 29, beta: 1, c: kk.view(w, 9001, 37 * 45), ldc: 45,
    }))
    // An LSTM step whose z, cPrev, peep, gates, c and a are all views of the buffer (one binding).
    const B = 3, H = 17
    both((kk, w) => kk.lstmForward(B, H, kk.view(w, 11001, B * 4 * H), kk.view(w, 11301, B * H), kk.view(w, 11401, 3 * H),
      kk.view(w, 12001, B * 4 * H), kk.view(w, 12301, B * H), kk.view(w, 12401, B * H)))
    both((kk, w) => kk.axpy(999, -1.5, kk.view(w, 13001, 999), kk.view(w, 14003, 999)))
    both((kk, w) => kk.softmax(5, 33, kk.view(w, 15001, 5 * 33), kk.view(w, 16005, 5 * 33), 0.7))
    await assertClose('the whole buffer', await k.read(mine), await oracle.read(theirs), 1e-5)
  })
})

describe('webgpu: sizes beyond the grid', () => {
  test('more elements or rows than a dispatch has workgroups: each invocation loops', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    // A backend limited to 3 workgroups per dispatch, as a large input meets the real limits.
    const few = new WebGpuKernels(k.device, k.adapter, null, { groupLimit: 3 })
    const n = 3 * 256 * 2 + 5 // two and a bit rounds of the grid-stride loop
    const host = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 2))
    const x = few.alloc(n), y = few.alloc(n)
    few.write(x, host)
    few.axpy(n, 0.5, x, y)
    const got = await few.read(y)
    for (let i = 0; i < n; i++) if (got[i] !== Math.fround(0.5 * host[i])) assert.fail(`axpy y[${i}]: ${got[i]}`)
    // 10 rows of softmax on 3 workgroups: rows 3, 6 and 9 are each workgroup's later rounds.
    const rows = 10
    const logits = few.alloc(rows * 2), probs = few.alloc(rows * 2)
    few.write(logits, Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? 0 : Math.log(3))))
    few.softmax(rows, 2, logits, probs, 1)
    const p = await few.read(probs)
    for (let r = 0; r < rows; r++) assert.ok(Math.abs(p[2 * r] - 0.25) < 1e-6 && Math.abs(p[2 * r + 1] - 0.75) < 1e-6, `row ${r}: ${p[2 * r]}, ${p[2 * r + 1]}`)
  })

  test('sums longer than one workgroup takes: two passes, within a few ulps of Σ|x|', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const n = 100_003 // 256 partial sums of 391 elements, the last one short
    const host = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 2))
    const x = k.alloc(n), out = k.alloc(2)
    k.write(x, host)
    k.sum(n, x, k.view(out, 0, 1))
    k.sumSquares(n, x, k.view(out, 1, 1))
    const [sum, squares] = await k.read(out)
    let want = 0, abs = 0, sq = 0
    for (const v of host) {
      want += v
      abs += Math.abs(v)
      sq += v * v
    }
    assert.ok(Math.abs(sum - want) <= 8 * 2 ** -23 * abs, `sum ${sum}, want ${want}`)
    assert.ok(Math.abs(squares - sq) <= 8 * 2 ** -23 * sq, `sumSquares ${squares}, want ${sq}`)
  })
})

describe('webgpu: the queue', () => {
  test('600 queued dispatches (more than one submit holds) before a read give the exact result', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const x = k.alloc(1000), y = k.alloc(1000)
    k.fill(1000, x, 1)
    for (let i = 0; i < 600; i++) k.axpy(1000, 0.5, x, y)
    const got = await k.read(y)
    assert.ok(got.every((v) => v === 300), `y[0] = ${got[0]}`)
  })

  test('a write lands after the work queued before it, and a read sees both', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const x = k.alloc(64), y = k.alloc(64)
    k.write(x, new Array<number>(64).fill(1))
    k.axpy(64, 1, x, y) // y = 1, queued
    k.write(x, new Array<number>(64).fill(5)) // must not overtake the queued axpy
    k.axpy(64, 1, x, y) // y = 6
    const [a, b] = await Promise.all([k.read(y), k.read(x)]) // two reads in flight at once
    assert.deepEqual([a[0], a[63], b[0]], [6, 6, 5])
  })

  test('a freed buffer leaves the others and their queued work intact', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const x = k.alloc(100), y = k.alloc(100)
    k.fill(100, x, 2)
    k.copy(1, 100, x, 0, y, 0)
    k.free(x)
    assert.deepEqual([...(await k.read(y))].slice(0, 3), [2, 2, 2])
  })
})

test('webgpu: an error the GPU reports (here a dispatch over its limits) comes back as a RecurError', async (t) => {
  const shared = await backendOrReason()
  if (typeof shared === 'string') return t.skip(shared)
  // A backend of its own: the error goes to every listener on its device.
  const k = await startWebGpuNode({ allowSoftware: true })
  const runtime = (k as unknown as { runtime: { dispatch(spec: ProgramSpec, operands: unknown[], params: number[], groups: [number]): void } }).runtime
  const x = k.alloc(4)
  runtime.dispatch(BASIC.scale, [x], [4, 2], [70_000]) // more workgroups than one dimension may have
  await assert.rejects(k.read(x), (e: unknown) => e instanceof RecurError && e.code === 'BACKEND' && /^webgpu: /.test(e.message))
  assert.throws(() => k.fill(4, x, 1), (e: unknown) => e instanceof RecurError && e.code === 'BACKEND', 'and every later call')
  k.device.destroy()
})

describe('webgpu: refusals', () => {
  test('a buffer larger than the adapter binds is refused by name, before any allocation', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const length = Math.floor(k.adapter.maxBindingBytes / 4) + 1
    assert.throws(() => k.alloc(length), (e: unknown) => e instanceof RecurError && e.code === 'BACKEND' && /exceeds the largest buffer this GPU binds/.test(e.message))
  })

  test('without the webgpu package the start says to install it', async () => {
    const absent = 'recur-no-such-package-webgpu' // a variable, so that bundlers leave the import alone
    const missing = () => import(absent) as Promise<never>
    await assert.rejects(startWebGpuNode({ load: missing, env: process.env }), (e: unknown) =>
      e instanceof RecurError && e.code === 'BACKEND' && /install the optional package webgpu/.test(e.message))
  })

  test('the Vulkan check: other systems pass; on Linux a loader and a driver file pass', () => {
    assert.equal(vulkanProblem({}, 'darwin'), null)
    const dir = mkdtempSync(join(tmpdir(), 'recur-vulkan-'))
    try {
      writeFileSync(join(dir, 'libvulkan.so.1'), '')
      writeFileSync(join(dir, 'icd.json'), '{}')
      assert.equal(vulkanProblem({ LD_LIBRARY_PATH: dir, VK_DRIVER_FILES: join(dir, 'icd.json') }, 'linux'), null)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the registry skips a software adapter unless forced, and says how to force it', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    if (!k.adapter.software) return t.skip(`the adapter is a GPU (${k.adapter.name})`)
    const automatic = await resolveBackend(undefined, {})
    assert.notEqual(automatic.name, 'webgpu')
    const status = (await backendStatus()).find((s) => s.name === 'webgpu')
    assert.equal(status?.state, 'unavailable')
    assert.match(status?.reason ?? '', /^software adapter \(SwiftShader.*force it with --backend webgpu \/ RECUR_BACKEND=webgpu$/)
    const forced = await resolveBackend('webgpu')
    assert.equal(forced.name, 'webgpu')
  })
})

/**
 * The fused step kernels (`rnnStep`, `lstmStep`, `gruStep` and backward twins: one dispatch per step
 * here, ./src/kernels/webgpu/programs/steps.ts) against the f64 reference backend's, which are their
 * two-kernel composition (src/kernels/composed-steps.ts), on shapes at the edges of the step tiles
 * (32 units x 8 rows, and 32 x 1 for B = 1): B = 1, H = 1, a whole tile, a tile plus one row and one
 * unit (H = 33 also makes the product's K = H, 3H, 4H end mid-stage of 16).
 *
 * Placement: every operand a view at an odd offset of ONE buffer, with guard values between them,
 * as in a cell's workspace (one binding for all, the fused path); the whole buffer is compared, so
 * outputs, untouched inputs and guards are checked at once. Then, on one shape, every operand a
 * buffer of its own: the backward steps then need more bindings than a kernel has (12 for the LSTM)
 * and run as their composition on the GPU (checked with a spy on gemm), which must agree too.
 *
 * Outputs start as NaN (a skipped element fails); dPeep, accumulated, starts random. Tolerance
 * 1e-5 relative to max(1, |want|): f32 sums of at most 4H = 132 products of values below 1 in
 * another order than the oracle's, against f64.
 */
describe('webgpu: fused step kernels against their composition on the reference backend', () => {
  type Role = 'in' | 'out' | 'acc'
  interface FusedCase {
    label: string
    /** Operands: name, length, role. An optional operand left out is passed as null. */
    operands: [string, number, Role][]
    call(k: Kernels, v: (name: string) => BufferHandle | null): void
  }
  const SHAPES: [number, number][] = [[1, 1], [1, 33], [3, 5], [8, 32], [9, 33]]

  function cases(B: number, H: number): FusedCase[] {
    const BH = B * H
    const list: FusedCase[] = [{
      label: 'rnnStep',
      operands: [['xw', BH, 'in'], ['aPrev', BH, 'in'], ['wHh', H * H, 'in'], ['a', BH, 'out']],
      call: (k, v) => k.rnnStep(B, H, v('xw')!, v('aPrev')!, v('wHh')!, v('a')!),
    }]
    for (const pending of [false, true]) {
      // dz of step t+1, whose product with W_hh the step adds to da: (B,H) for an RNN, (B,4H) for an LSTM.
      const dzNext = (G: number): [string, number, Role][] => (pending ? [['dzNext', G * BH, 'in']] : [])
      list.push({
        label: `rnnBackwardStep${pending ? ' with a pending product' : ''}`,
        operands: [['a', BH, 'in'], ['daOut', BH, 'in'], ['daNext', BH, 'in'], ...dzNext(1), ['wHh', H * H, 'in'], ['dz', BH, 'out'], ['daPrev', BH, 'out']],
        call: (k, v) => k.rnnBackwardStep(B, H, v('a')!, v('daOut')!, v('daNext')!, v('dzNext'), v('wHh')!, v('dz')!, v('daPrev')!),
      })
      for (const peephole of [false, true]) {
        const peep: [string, number, Role][] = peephole ? [['peep', 3 * H, 'in']] : []
        if (!pending) {
          list.push({
            label: `lstmStep${peephole ? ' with peepholes' : ''}`,
            operands: [['xw', 4 * BH, 'in'], ['aPrev', BH, 'in'], ['wHh', 4 * H * H, 'in'], ['cPrev', BH, 'in'], ...peep,
              ['gates', 4 * BH, 'out'], ['c', BH, 'out'], ['a', BH, 'out']],
            call: (k, v) => k.lstmStep(B, H, v('xw')!, v('aPrev')!, v('wHh')!, v('cPrev')!, v('peep'), v('gates')!, v('c')!, v('a')!),
          })
        }
        list.push({
          label: `lstmBackwardStep${peephole ? ' with peepholes' : ''}${pending ? ' with a pending product' : ''}`,
          operands: [['gates', 4 * BH, 'in'], ['cPrev', BH, 'in'], ['c', BH, 'in'], ...peep, ['daOut', BH, 'in'], ['daNext', BH, 'in'],
            ...dzNext(4), ['wHh', 4 * H * H, 'in'], ['dcNext', BH, 'in'], ['dz', 4 * BH, 'out'], ['daPrev', BH, 'out'], ['dcPrev', BH, 'out'],
            ...(peephole ? [['dPeep', 3 * H, 'acc'] as [string, number, Role]] : [])],
          call: (k, v) => k.lstmBackwardStep(B, H, v('gates')!, v('cPrev')!, v('c')!, v('peep'), v('daOut')!, v('daNext')!, v('dzNext'),
            v('wHh')!, v('dcNext')!, v('dz')!, v('daPrev')!, v('dcPrev')!, v('dPeep')),
        })
      }
      for (const reset of ['after', 'before'] as const) {
        if (!pending) {
          list.push({
            label: `gruStep, reset ${reset}`,
            operands: [['xw', 3 * BH, 'in'], ['cPrev', BH, 'in'], ['wHh', 3 * H * H, 'in'], ['bh', 3 * H, 'in'], ['hw', 3 * BH, 'out'],
              ...(reset === 'before' ? [['rc', BH, 'out'] as [string, number, Role]] : []), ['gates', 3 * BH, 'out'], ['c', BH, 'out']],
            call: (k, v) => k.gruStep(reset, B, H, v('xw')!, v('cPrev')!, v('wHh')!, v('bh')!, v('hw')!, v('rc'), v('gates')!, v('c')!),
          })
        }
        list.push({
          label: `gruBackwardStep, reset ${reset}${pending ? ' with a pending product' : ''}`,
          operands: [['gates', 3 * BH, 'in'], ['hw', 3 * BH, 'in'], ['bh', 3 * H, 'in'], ['cPrev', BH, 'in'], ['dcOut', BH, 'in'],
            ['dcNext', BH, 'in'], ...(pending ? [['dhwNext', 3 * BH, 'in'] as [string, number, Role]] : []), ['wHh', 3 * H * H, 'in'],
            ['dxw', 3 * BH, 'out'], ['dhw', 3 * BH, 'out'], ['dcPrev', BH, 'out']],
          call: (k, v) => k.gruBackwardStep(reset, B, H, v('gates')!, v('hw')!, v('bh')!, v('cPrev')!, v('dcOut')!, v('dcNext')!,
            v('dhwNext'), v('wHh')!, v('dxw')!, v('dhw')!, v('dcPrev')!),
        })
      }
    }
    return list
  }

  const GUARD = 4242.5

  /**
   * Places a case's operands on a backend, in one buffer (views at odd offsets between guards) or one
   * buffer each, with the same values on every backend; returns the views and a reader of everything.
   */
  function place(k: Kernels, c: FusedCase, host: Map<string, number[]>, separate: boolean): { v: (name: string) => BufferHandle | null; readAll: () => Promise<number[]> } {
    const views = new Map<string, BufferHandle>()
    if (separate) {
      for (const [name] of c.operands) {
        const buf = k.alloc(host.get(name)!.length)
        k.write(buf, host.get(name)!)
        views.set(name, buf)
      }
      const readAll = async () => (await Promise.all(c.operands.map(([name]) => k.read(views.get(name)!)))).flatMap((a) => [...a])
      return { v: (name) => views.get(name) ?? null, readAll }
    }
    const values: number[] = [GUARD]
    const offsets = new Map<string, number>()
    for (const [name] of c.operands) {
      offsets.set(name, values.length)
      values.push(...host.get(name)!, GUARD, GUARD)
    }
    const whole = k.alloc(values.length)
    k.write(whole, values)
    for (const [name, length] of c.operands) views.set(name, k.view(whole, offsets.get(name)!, length))
    return { v: (name) => views.get(name) ?? null, readAll: async () => [...(await k.read(whole))] }
  }

  async function check(gpu: Kernels, c: FusedCase, seed: number, separate: boolean): Promise<void> {
    const random = new Random(seed)
    const host = new Map<string, number[]>()
    for (const [name, length, role] of c.operands) {
      // Gates are activations (0..1 for σ, -1..1 for tanh): values in (0, 1) keep every factor in range.
      const value = () => (name === 'gates' ? random.range(0.05, 0.95) : random.range(-1, 1))
      host.set(name, Array.from({ length }, () => Math.fround(role === 'out' ? NaN : value())))
    }
    const oracle = new ReferenceKernels('f64')
    const mine = place(gpu, c, host, separate), theirs = place(oracle, c, host, separate)
    c.call(gpu, mine.v)
    c.call(oracle, theirs.v)
    await assertClose(`${c.label}${separate ? ', separate buffers' : ''}`, await mine.readAll(), await theirs.readAll(), 1e-5)
  }

  for (const [B, H] of SHAPES) {
    test(`B = ${B}, H = ${H}, every operand in one buffer`, async (t) => {
      const k = await backendOrReason()
      if (typeof k === 'string') return t.skip(k)
      for (const [i, c] of cases(B, H).entries()) await check(k, c, 1000 * B + 10 * H + i, false)
    })
  }

  test('B = 9, H = 33, every operand a buffer of its own: the LSTM and GRU backward steps fall back to the composition', async (t) => {
    const k = await backendOrReason()
    if (typeof k === 'string') return t.skip(k)
    const spied = new WebGpuKernels(k.device, k.adapter)
    const gemms = countCalls(spied, ['gemm'])
    for (const [i, c] of cases(9, 33).filter((c) => /^(lstm|gru)BackwardStep/.test(c.label)).entries()) {
      const before = gemms.get('gemm')!
      await check(spied, c, 77 + i, true)
      const fallback = /^(lstm|gru)BackwardStep.*pending/.test(c.label)
      assert.equal(gemms.get('gemm')! - before, fallback ? 1 : 0, `${c.label}: ${fallback ? 'one gemm (the composition)' : 'no gemm (fused)'}`)
    }
  })

  test('the step tile follows the batch: one row for batch-1 sampling', () => {
    assert.equal(stepTile(1).name, 'single')
    assert.equal(stepTile(2).name, 'batch')
    assert.equal(stepTile(64).name, 'batch')
  })
})
