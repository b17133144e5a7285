/**
 * GEMM: C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, as a tiled WGSL program.
 *
 * A workgroup of 16 x 16 threads computes one TM x TN tile of C. Per step of TK = 16 along K it
 * loads the TM x TK block of op(A) and the TK x TN block of op(B) into workgroup memory (each thread
 * a few elements, read along the matrix's contiguous axis so neighbouring threads read neighbouring
 * addresses), then every thread accumulates its RM x 4 register block of C from them: rows
 * ty + r*16 (one workgroup-memory value each, the same for the whole row of threads) times the
 * 4 adjacent columns 4*tx .. 4*tx+3 (one vec4 load), as RM vec4 multiply-adds.
 * Elements outside the matrices load as 0 and outputs outside C are not written, so any M, N, K
 * works; lda, ldb, ldc are honoured, and beta = 0 never reads C (it may hold NaN garbage).
 *
 * transA / transB and the tile shape are compile-time constants of the program (one pipeline each):
 *   'square' 64 x 64 tiles, 4 x 4 per thread    the most work per load: large products
 *   'medium' 32 x 64 tiles, 2 x 4 per thread    twice the workgroups
 *   'thin'   16 x 64 tiles, 1 x 4 per thread    M <= 16 (the per-step products of a small batch,
 *                                                batch-1 sampling), or when nothing else gives the
 *                                                GPU enough workgroups
 * `gemmTile` takes the largest tile that still makes TARGET_WORKGROUPS workgroups: a per-step
 * recurrent product (B rows, 4H columns) has few 64 x 64 tiles, and a GPU with ~100 multiprocessors
 * would leave most of them idle.
 */
import type { ProgramSpec } from '../program.js'

export interface GemmTile {
  readonly name: 'square' | 'medium' | 'thin'
  /** Rows and columns of C per workgroup. */
  readonly TM: number
  readonly TN: number
  /** Rows of C per thread (its columns are always 4: one vec4). */
  readonly RM: number
}

export const GEMM_TILES: Record<GemmTile['name'], GemmTile> = {
  square: { name: 'square', TM: 64, TN: 64, RM: 4 },
  medium: { name: 'medium', TM: 32, TN: 64, RM: 2 },
  thin: { name: 'thin', TM: 16, TN: 64, RM: 1 },
}

/** Workgroups a product should have to occupy a large GPU (to be tuned on one). */
export const TARGET_WORKGROUPS = 128

/** Depth of one K step. */
const TK = 16
/** Threads per workgroup along each axis (16 x 16 = 256). */
const THREADS = 16

/** The tile shape for an (M,N) product: the largest with TARGET_WORKGROUPS tiles, else the thin one. */
export function gemmTile(M: number, N: number): GemmTile {
  if (M <= 16) return GEMM_TILES.thin
  for (const tile of [GEMM_TILES.square, GEMM_TILES.medium]) {
    if (Math.ceil(M / tile.TM) * Math.ceil(N / tile.TN) >= TARGET_WORKGROUPS) return tile
  }
  return GEMM_TILES.thin
}

export function gemmProgram(transA: boolean, transB: boolean, tile: GemmTile): ProgramSpec {
  const { TM, TN, RM } = tile
  const loadsA = (TM * TK) / (THREADS * THREADS)
  const loadsB = (TN * TK) / (THREADS * THREADS)
  // Where load e of this thread lands in the tile, following the stored matrix's contiguous axis.
  // A not transposed is (M,K) row-major: contiguous along k. Transposed it is (K,M): along i.
  const loadA = transA
    ? `let kk = e / ${TM}u; let ii = e % ${TM}u; let i = row0 + ii; let k = k0 + kk;
       var v = 0.0; if (i < prm.M && k < prm.K) { v = a_get(k * prm.lda + i); }`
    : `let ii = e / ${TK}u; let kk = e % ${TK}u; let i = row0 + ii; let k = k0 + kk;
       var v = 0.0; if (i < prm.M && k < prm.K) { v = a_get(i * prm.lda + k); }`
  // B not transposed is (K,N): contiguous along j. Transposed it is (N,K): along k.
  const loadB = transB
    ? `let jj = e / ${TK}u; let kk = e % ${TK}u; let j = col0 + jj; let k = k0 + kk;
       var v = 0.0; if (j < prm.N && k < prm.K) { v = b_get(j * prm.ldb + k); }`
    : `let kk = e / ${TN}u; let jj = e % ${TN}u; let j = col0 + jj; let k = k0 + kk;
       var v = 0.0; if (j < prm.N && k < prm.K) { v = b_get(k * prm.ldb + j); }`
  // Thread (lx, ly) owns rows ly + r*16 (r < RM) and the 4 adjacent columns 4*lx .. 4*lx+3: one
  // vec4 accumulator per row, fed by one vec4 load of the B tile per K step.
  const declare: string[] = []
  const update: string[] = [`let b = tileB[kk * ${TN / 4}u + lx];`]
  const store: string[] = []
  for (let r = 0; r < RM; r++) {
    declare.push(`var acc${r} = vec4f(0.0);`)
    update.push(`acc${r} += tileA[kk * ${TM}u + ly + ${r * THREADS}u] * b;`)
    store.push(`storeRow(row0 + ly + ${r * THREADS}u, col0 + 4u * lx, acc${r});`)
  }
  return {
    name: `gemm_${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}_${tile.name}`,
    operands: [{ name: 'a', type: 'f32' }, { name: 'b', type: 'f32' }, { name: 'c', type: 'f32', written: true }],
    params: [['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['lda', 'u32'], ['ldb', 'u32'], ['ldc', 'u32'], ['alpha', 'f32'], ['beta', 'f32']],
    body: /* wgsl */ `
var<workgroup> tileA: array<f32, ${TM * TK}>;       // [kk][i]
var<workgroup> tileB: array<vec4f, ${(TN * TK) / 4}>; // [kk][j / 4]

// C[i][j..j+3] = alpha * acc + beta * C[i][j..j+3] within C; beta = 0 overwrites without reading C.
fn storeRow(i: u32, j: u32, acc: vec4f) {
  if (i >= prm.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (j + c >= prm.N) { return; }
    let at = i * prm.ldc + j + c;
    var v = prm.alpha * acc[c];
    if (prm.beta != 0.0) { v = v + prm.beta * c_get(at); }
    c_set(at, v);
  }
}

@compute @workgroup_size(${THREADS}, ${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * ${TM}u;
  let col0 = wg.x * ${TN}u;
  let lx = lid.x;
  let ly = lid.y;
  ${declare.join('\n  ')}
  for (var k0 = 0u; k0 < prm.K; k0 += ${TK}u) {
    for (var l = 0u; l < ${loadsA}u; l++) {
      let e = li + l * ${THREADS * THREADS}u;
      ${loadA}
      tileA[kk * ${TM}u + ii] = v;
    }
    for (var l = 0u; l < ${loadsB}u; l++) {
      let e = li + l * ${THREADS * THREADS}u;
      ${loadB}
      tileB[kk * ${TN / 4}u + jj / 4u][jj % 4u] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      ${update.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${store.join('\n  ')}
}`,
  }
}
