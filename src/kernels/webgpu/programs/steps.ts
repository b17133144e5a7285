/**
 * Fused recurrent steps: a time step's recurrent product and the cell's pointwise math in one
 * dispatch (the `rnnStep`, `lstmStep`, `gruStep` kernels and their backward twins; the reference
 * and native backends compose them from their GEMM and pointwise kernels, src/kernels/composed-steps.ts).
 *
 * A workgroup owns a tile of UJ hidden units and UB batch rows, one thread per (row b, unit j). Its
 * threads first accumulate the product for their (b, j), staging both factors through workgroup
 * memory TK values of K at a time as the GEMM programs do; then each thread runs the cell's math for
 * its (b, j) with the functions of ./cells.ts. The gate math of unit j needs the products of all G
 * gate columns of j and nothing else, so no other workgroup is involved:
 *
 *   forward   acc[g] = Σ_k x[b,k] W[g*H + j, k]     x = a<t-1> (B,H), W = W_hh (G*H, H): x W^T
 *   backward  acc[0] = Σ_k x[b,k] W[k, j]           x = dz<t+1> (B,K), W = W_hh's first K rows: x W
 *
 * Rows and units outside the matrices load zeros and write nothing, so any B, H and K work; every
 * thread takes part in the loads and barriers. K = 0 (no pending product) skips the product.
 *
 * Persistent kernel for batch-1 sampling (the issue asks to consider keeping W_hh in workgroup
 * memory across steps): not done. W4's W_hh is 4 MiB per layer (4 * 512 * 512 floats); a workgroup
 * may hold 16 KiB (WebGPU's guarantee; 32-64 KiB on real GPUs), so the weights would have to be
 * spread over hundreds of resident workgroups that wait for each other between steps, and WebGPU
 * offers no grid-wide barrier and no guarantee that workgroups run concurrently (a spin-wait may
 * deadlock). A layer's W_hh fits a large GPU's L2 cache anyway, so re-reading it each step costs
 * cache bandwidth, not memory bandwidth. What the fused step gives that case: one dispatch per layer
 * per sampled token, with the batch-1 tile below.
 */
import { f32In, f32Out, optionalIn, type OperandSpec, type ParamType, type ProgramSpec } from '../program.js'
import {
  GRU_BACKWARD_OPERANDS, GRU_BACKWARD_STEP, GRU_FORWARD_STEP, GRU_RESET_BACKWARD_STEP, GRU_RESET_FORWARD_STEP,
  LSTM_BACKWARD_OPERANDS, LSTM_BACKWARD_STEP, LSTM_FORWARD_STEP, peepholeGradientProgram,
} from './cells.js'

/** A fused step's tile: UB batch rows x UJ hidden units per workgroup, TK values of K per stage. */
export interface StepTile {
  readonly name: 'batch' | 'single'
  readonly UB: number
  readonly UJ: number
  readonly TK: number
}

/**
 * 'batch' for B > 1: 256 threads, each W value loaded into workgroup memory serves 8 rows.
 * 'single' for batch-1 sampling: one row, so workgroups of 32 threads (the 'batch' tile would leave
 * 7 of its 8 rows idle); H / 32 of them per dispatch, each reading its units' G*32 rows of W_hh once.
 * Workgroup memory: (UB + G*UJ) * TK floats, 8.5 KiB for an LSTM's 'batch' tile (the limit is 16).
 */
export const STEP_TILES: Record<StepTile['name'], StepTile> = {
  batch: { name: 'batch', UB: 8, UJ: 32, TK: 16 },
  single: { name: 'single', UB: 1, UJ: 32, TK: 16 },
}

export function stepTile(B: number): StepTile {
  return B === 1 ? STEP_TILES.single : STEP_TILES.batch
}

/** The product a fused step computes before its pointwise math. */
export interface StepProduct {
  /** 'forward': G columns per unit of x W^T; 'backward': one column of x W. */
  readonly direction: 'forward' | 'backward'
  /** Gate columns per unit (forward); 1 for backward. */
  readonly G: number
  /** Operand names of the left factor x (rows of stride prm.ldx) and of W (rows of stride H). */
  readonly x: string
  readonly w: string
}

/**
 * The program of one fused step: `operands` as the pointwise math names them, `product`'s factors
 * among them, and `epilogue`, WGSL run by each thread whose (b, j) is inside (B,H), with `acc[g]`
 * holding its products. Scalars: B, H, K (the product's depth), ldx, then `params`.
 */
export function stepProgram(
  name: string, tile: StepTile, product: StepProduct, operands: readonly OperandSpec[],
  params: readonly (readonly [string, ParamType])[], epilogue: string, helpers: string,
): ProgramSpec {
  const { UB, UJ, TK } = tile
  const { G, x, w } = product
  const threads = UB * UJ
  const forward = product.direction === 'forward'
  // W's tile: forward [g][kk][jj] from rows g*H + j (contiguous along k); backward [kk][jj] from rows k.
  const loadW = forward
    ? `for (var e = li; e < ${G * UJ * TK}u; e += ${threads}u) {
      let kk = e % ${TK}u;
      let u = (e / ${TK}u) % ${UJ}u;
      let g = e / ${TK * UJ}u;
      let jw = j0 + u;
      let k = k0 + kk;
      var v = 0.0;
      if (jw < H && k < prm.K) { v = ${w}_get((g * H + jw) * H + k); }
      tileW[(g * ${TK}u + kk) * ${UJ}u + u] = v;
    }`
    : `for (var e = li; e < ${UJ * TK}u; e += ${threads}u) {
      let kk = e / ${UJ}u;
      let u = e % ${UJ}u;
      let jw = j0 + u;
      let k = k0 + kk;
      var v = 0.0;
      if (jw < H && k < prm.K) { v = ${w}_get(k * H + jw); }
      tileW[kk * ${UJ}u + u] = v;
    }`
  const update: string[] = []
  for (let g = 0; g < G; g++) update.push(`acc[${g}] += xk * tileW[(${g * TK}u + kk) * ${UJ}u + lid.x];`)
  return {
    name: `${name}_${tile.name}`,
    operands,
    params: [['B', 'u32'], ['H', 'u32'], ['K', 'u32'], ['ldx', 'u32'], ...params],
    body: /* wgsl */ `${helpers}
var<workgroup> tileX: array<f32, ${UB * TK}>;     // [kk][bb]
var<workgroup> tileW: array<f32, ${G * TK * UJ}>; // [g][kk][jj]

@compute @workgroup_size(${UJ}, ${UB})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let H = prm.H;
  let j0 = wg.x * ${UJ}u;
  let b0 = wg.y * ${UB}u;
  let j = j0 + lid.x;
  let b = b0 + lid.y;
  var acc: array<f32, ${G}>;
  for (var k0 = 0u; k0 < prm.K; k0 += ${TK}u) {
    for (var e = li; e < ${UB * TK}u; e += ${threads}u) {
      let bb = e / ${TK}u;
      let kk = e % ${TK}u;
      let row = b0 + bb;
      let k = k0 + kk;
      var v = 0.0;
      if (row < prm.B && k < prm.K) { v = ${x}_get(row * prm.ldx + k); }
      tileX[kk * ${UB}u + bb] = v;
    }
    ${loadW}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      let xk = tileX[kk * ${UB}u + lid.y];
      ${update.join('\n      ')}
    }
    workgroupBarrier();
  }
  if (b < prm.B && j < H) {
${epilogue}
  }
}`,
  }
}

/** The fused step programs of one tile (see the cells' files in src/cells/ for the equations). */
export interface StepPrograms {
  /** a = tanh(xw + aPrev W_hh^T). */
  rnn: ProgramSpec
  /** da = daOut + daNext + dzNext W_hh; dz = da (1 - a²); daPrev = 0. */
  rnnBackward: ProgramSpec
  /** z = xw + aPrev W_hh^T, then the LSTM forward of each unit. */
  lstm: ProgramSpec
  /** The LSTM backward with da = daOut + daNext + dzNext W_hh; daPrev = 0. */
  lstmBackward: ProgramSpec
  /** GRU 'after': hw = cPrev W_hh^T, then the GRU forward. */
  gruAfter: ProgramSpec
  /** GRU 'before', first dispatch: hw[r u] = cPrev W_ru^T, then rc = Γr * cPrev. */
  gruReset: ProgramSpec
  /** GRU 'before', second dispatch: hw[c~] = rc W_cc^T, then the GRU forward. */
  gruCandidate: ProgramSpec
  /** The GRU backward with dc = dcOut + dcNext + dhwNext W_hh (prm.after: 'after' or 'before'). */
  gruBackward: ProgramSpec
  /** GRU 'before', second dispatch: drc = dhw[c~] W_cc, then the reset-gate backward. */
  gruResetBackward: ProgramSpec
}

export function stepPrograms(tile: StepTile): StepPrograms {
  const forward = (G: number, x = 'aPrev', w = 'wHh'): StepProduct => ({ direction: 'forward', G, x, w })
  const backward = (x: string, w = 'wHh'): StepProduct => ({ direction: 'backward', G: 1, x, w })
  const at = '    let i = b * H + j;'
  return {
    rnn: stepProgram('rnnStep', tile, forward(1), [f32In('xw'), f32In('aPrev'), f32In('wHh'), f32Out('a')], [], `${at}
    a_set(i, tanhf(xw_get(i) + acc[0]));`, ''),
    rnnBackward: stepProgram('rnnBackwardStep', tile, backward('dzNext'),
      [f32In('a'), f32In('daOut'), f32In('daNext'), optionalIn('dzNext', '0.0'), f32In('wHh'), f32Out('dz'), f32Out('daPrev')], [], `${at}
    let a = a_get(i);
    dz_set(i, (daOut_get(i) + daNext_get(i) + acc[0]) * (1.0 - a * a)); // forward: a = tanh(z)
    daPrev_set(i, 0.0);`, ''),
    lstm: stepProgram('lstmStep', tile, forward(4),
      [f32In('xw'), f32In('aPrev'), f32In('wHh'), f32In('cPrev'), optionalIn('peep', '0.0'), f32Out('gates'), f32Out('c'), f32Out('a')], [], `
    let zr = b * 4u * H + j;
    lstmForwardAt(b, j, vec4f(xw_get(zr) + acc[0], xw_get(zr + H) + acc[1], xw_get(zr + 2u * H) + acc[2], xw_get(zr + 3u * H) + acc[3]));`,
      LSTM_FORWARD_STEP),
    lstmBackward: stepProgram('lstmBackwardStep', tile, backward('dzNext'),
      [...LSTM_BACKWARD_OPERANDS, optionalIn('dzNext', '0.0'), f32In('wHh'), f32Out('daPrev')], [], `
    _ = lstmBackwardAt(b, j, acc[0]);
    daPrev_set(b * H + j, 0.0);`, LSTM_BACKWARD_STEP),
    gruAfter: stepProgram('gruStep', tile, forward(3, 'cPrev'),
      [f32In('xw'), f32In('cPrev'), f32In('wHh'), f32In('bh'), f32Out('hw'), f32Out('gates'), f32Out('c')], [], `
    let zr = b * 3u * H + j;
    hw_set(zr, acc[0]);
    hw_set(zr + H, acc[1]);
    hw_set(zr + 2u * H, acc[2]);
    gruForwardAt(b, j, vec3f(acc[0], acc[1], acc[2]), true);`, GRU_FORWARD_STEP),
    gruReset: stepProgram('gruResetStep', tile, forward(2, 'cPrev'),
      [f32In('xw'), f32In('cPrev'), f32In('wHh'), f32In('bh'), f32Out('hw'), f32Out('rc')], [], `
    let zr = b * 3u * H + j;
    hw_set(zr, acc[0]);
    hw_set(zr + H, acc[1]);
    gruResetAt(b, j, acc[0]);`, GRU_RESET_FORWARD_STEP),
    gruCandidate: stepProgram('gruCandidateStep', tile, forward(1, 'rc', 'wCand'),
      [f32In('xw'), f32In('rc'), f32In('wCand'), f32In('bh'), f32In('cPrev'), f32Out('hw'), f32Out('gates'), f32Out('c')], [], `
    let zr = b * 3u * H + j;
    hw_set(zr + 2u * H, acc[0]);
    gruForwardAt(b, j, vec3f(hw_get(zr), hw_get(zr + H), acc[0]), false);`, GRU_FORWARD_STEP),
    gruBackward: stepProgram('gruBackwardStep', tile, backward('dhwNext'),
      [...GRU_BACKWARD_OPERANDS, optionalIn('dhwNext', '0.0'), f32In('wHh')], [['after', 'u32']], `
    gruBackwardAt(b, j, acc[0], prm.after != 0u);`, GRU_BACKWARD_STEP),
    gruResetBackward: stepProgram('gruResetBackwardStep', tile, backward('dhwCand', 'wCand'),
      [f32In('gates'), f32In('cPrev'), f32In('dhwCand'), f32In('wCand'), f32Out('dxw'), f32Out('dhw'), f32Out('dcPrev')], [], `
    gruResetBackwardAt(b, j, acc[0]);`, GRU_RESET_BACKWARD_STEP),
  }
}

/** dPeep (3H) += Σ_b [dz_u c<t-1>, dz_f c<t-1>, dz_o c<t>], reading the dz (B,4H) a fused step wrote. */
export const LSTM_PEEP_GRAD = peepholeGradientProgram('lstmPeepGrad', [f32In('dz'), f32In('cPrev'), f32In('c')],
  'vec3f(dz_get(b * 4u * H + j), dz_get(b * 4u * H + H + j), dz_get(b * 4u * H + 3u * H + j))', '')
