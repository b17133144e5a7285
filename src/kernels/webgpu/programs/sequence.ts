/**
 * Programs over the batch and time axes: holding the state through padded steps, pooling over
 * time, the embedding lookup and its gradient, and the losses and probabilities (one workgroup per
 * row of logits, with workgroup reductions for the row's maximum and sum of exponentials).
 */
import { elementwise, f32In, f32Out, i32In, i32Out, optionalIn, WORKGROUP, type ProgramSpec } from '../program.js'

// ---- padding --------------------------------------------------------------------------------------------

// out (B,H) = prev where mask[b] = 0 (a selection: bits copied)
export const HOLD_FORWARD = elementwise('holdForward', [f32In('mask'), f32In('prev'), f32Out('out')], [['H', 'u32']], `
    if (mask_get(i / prm.H) == 0.0) { out_setBits(i, prev_bits(i)); }`)

// forward: out = m*out + (1-m)*prev -> dHeld += (1-m)*d, d = m*d
export const HOLD_BACKWARD = elementwise('holdBackward', [f32In('mask'), f32Out('d'), f32Out('dHeld')], [['H', 'u32']], `
    let m = mask_get(i / prm.H);
    let d = d_get(i);
    dHeld_set(i, dHeld_get(i) + (1.0 - m) * d);
    d_set(i, d * m);`)

// ---- pooling over time: xs (T,B,H), mask (T,B) or null --------------------------------------------------------

const POOL_COUNT = /* wgsl */ `
// The number of real (unmasked) steps of row b.
fn stepCount(b: u32) -> f32 {
  var count = 0.0;
  for (var t = 0u; t < prm.T; t++) { count += mask_get(t * prm.B + b); }
  return count;
}`

// out (B,H) = mean or max over the real steps; argmax (B,H) = the step of each maximum. An all-padding row gives 0.
export const POOL_FORWARD = elementwise('poolForward',
  [f32In('xs'), optionalIn('mask', '1.0'), f32Out('out'), { name: 'argmax', type: 'i32', written: true, optional: true }],
  [['T', 'u32'], ['B', 'u32'], ['H', 'u32'], ['isMax', 'u32']], `
    let b = i / prm.H;
    let j = i % prm.H;
    let count = stepCount(b);
    var acc = 0.0;
    var best = 0u;
    var found = false;
    for (var t = 0u; t < prm.T; t++) {
      if (mask_get(t * prm.B + b) == 0.0) { continue; }
      let v = xs_get((t * prm.B + b) * prm.H + j);
      if (prm.isMax == 0u) {
        acc += v;
      } else if (!found || v > acc) {
        acc = v;
        best = t;
        found = true;
      }
    }
    if (count == 0.0) { out_set(i, 0.0); } else if (prm.isMax == 0u) { out_set(i, acc / count); } else { out_set(i, acc); }
    argmax_set(i, i32(best));`, POOL_COUNT)

// dxs (T,B,H): mean spreads m * dOut / count over the real steps; max sends dOut to the argmax step.
export const POOL_BACKWARD = elementwise('poolBackward',
  [f32In('dOut'), optionalIn('mask', '1.0'), { name: 'argmax', type: 'i32', optional: true }, f32Out('dxs')],
  [['T', 'u32'], ['B', 'u32'], ['H', 'u32'], ['isMax', 'u32']], `
    let b = i / prm.H;
    let j = i % prm.H;
    let count = stepCount(b);
    let d = dOut_get(i);
    for (var t = 0u; t < prm.T; t++) {
      let m = mask_get(t * prm.B + b);
      var v = 0.0;
      if (prm.isMax == 0u) {
        if (count != 0.0) { v = (m * d) / count; }
      } else if (count > 0.0 && argmax_get(i) == i32(t)) {
        v = d;
      }
      dxs_set((t * prm.B + b) * prm.H + j, v);
    }`, POOL_COUNT)

// ---- embedding --------------------------------------------------------------------------------------------

// out (N,D) = table (V,D) rows at ids (N); i runs over N*D
export const GATHER = elementwise('gather', [f32In('table'), i32In('ids'), f32Out('out')], [['D', 'u32']], `
    let r = i / prm.D;
    out_setBits(i, table_bits(u32(ids_get(r)) * prm.D + i % prm.D));`)

// dTable (V,D) rows at ids += dOut (N,D); repeated ids add up through atomic compare-exchange
export const SCATTER_ADD = elementwise('scatterAdd',
  [f32In('dOut'), i32In('ids'), { name: 'dTable', type: 'f32', atomic: true }], [['D', 'u32']], `
    let r = i / prm.D;
    dTable_add(u32(ids_get(r)) * prm.D + i % prm.D, dOut_get(i));`)

// ---- losses and probabilities -----------------------------------------------------------------------------

/** Threads per row of the row-wise programs: narrow rows (most vocabularies) leave fewer idle. */
export function rowThreads(V: number): number {
  return V <= 128 ? 64 : WORKGROUP
}

/** A row reduction (max and sum) over `threads` invocations, shared by the row programs. */
function rowReductions(threads: number): string {
  return /* wgsl */ `
var<workgroup> scratch: array<f32, ${threads}>;
fn rowMax(li: u32, v: f32) -> f32 {
  scratch[li] = v;
  workgroupBarrier();
  for (var half = ${threads / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { scratch[li] = max(scratch[li], scratch[li + half]); }
    workgroupBarrier();
  }
  let m = scratch[0];
  workgroupBarrier();
  return m;
}
fn rowSum(li: u32, v: f32) -> f32 {
  scratch[li] = v;
  workgroupBarrier();
  for (var half = ${threads / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { scratch[li] += scratch[li + half]; }
    workgroupBarrier();
  }
  let s = scratch[0];
  workgroupBarrier();
  return s;
}`
}

/**
 * losses (N) = -mask * log softmax(logits)[target]; dLogits (N,V) = gradScale * mask * (softmax - onehot)
 * when given. One workgroup per row (rows beyond the grid loop), log Σ e^z taken around the row's max.
 */
export function softmaxCrossEntropyProgram(threads: number): ProgramSpec {
  return {
    name: `softmaxCrossEntropy_${threads}`,
    operands: [f32In('logits'), i32In('targets'), optionalIn('mask', '1.0'), f32Out('losses'), { name: 'dLogits', type: 'f32', written: true, optional: true }],
    params: [['N', 'u32'], ['V', 'u32'], ['gradScale', 'f32']],
    body: /* wgsl */ `${rowReductions(threads)}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let V = prm.V;
  for (var r = wg.x; r < prm.N; r += nwg.x) {
    let row = r * V;
    var m = bitcast<f32>(0xff7fffffu); // -FLT_MAX
    for (var v = li; v < V; v += ${threads}u) { m = max(m, logits_get(row + v)); }
    let zmax = rowMax(li, m);
    var s = 0.0;
    for (var v = li; v < V; v += ${threads}u) { s += exp(logits_get(row + v) - zmax); }
    let logSum = log(rowSum(li, s)); // log Σ e^(z - max)
    let weight = mask_get(r);
    let tgt = u32(targets_get(r));
    if (li == 0u) {
      // -log softmax(z)[y] = log Σ e^(z - max) + (max - z_y)
      var loss = 0.0;
      if (weight != 0.0) { loss = weight * (logSum + (zmax - logits_get(row + tgt))); }
      losses_set(r, loss);
    }
    if (HAS_DLOGITS) {
      let scale = prm.gradScale * weight;
      for (var v = li; v < V; v += ${threads}u) {
        let p = exp(logits_get(row + v) - zmax - logSum);
        dLogits_set(row + v, scale * p - select(0.0, scale, v == tgt)); // softmax - onehot
      }
    }
  }
}`,
  }
}

/** probs (N,V) = softmax(logits * invTemperature) per row. */
export function softmaxProgram(threads: number): ProgramSpec {
  return {
    name: `softmax_${threads}`,
    operands: [f32In('logits'), f32Out('probs')],
    params: [['N', 'u32'], ['V', 'u32'], ['invTemperature', 'f32']],
    body: /* wgsl */ `${rowReductions(threads)}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let V = prm.V;
  for (var r = wg.x; r < prm.N; r += nwg.x) {
    let row = r * V;
    var m = bitcast<f32>(0xff7fffffu); // -FLT_MAX
    for (var v = li; v < V; v += ${threads}u) { m = max(m, logits_get(row + v) * prm.invTemperature); }
    let zmax = rowMax(li, m);
    var s = 0.0;
    for (var v = li; v < V; v += ${threads}u) {
      let e = exp(logits_get(row + v) * prm.invTemperature - zmax);
      probs_set(row + v, e);
      s += e;
    }
    let total = rowSum(li, s);
    for (var v = li; v < V; v += ${threads}u) { probs_set(row + v, probs_get(row + v) / total); }
  }
}`,
  }
}

// losses = -mask * (y log σ(z) + (1-y) log(1-σ(z))) = mask * (y softplus(-z) + (1-y) softplus(z)); dLogits = gradScale * mask * (σ(z) - y)
export const SIGMOID_CROSS_ENTROPY = elementwise('sigmoidCrossEntropy',
  [f32In('logits'), f32In('targets'), optionalIn('mask', '1.0'), f32Out('losses'), { name: 'dLogits', type: 'f32', written: true, optional: true }],
  [['gradScale', 'f32']], `
    let z = logits_get(i);
    let y = targets_get(i);
    let m = mask_get(i);
    var loss = 0.0;
    if (m != 0.0) { loss = m * (y * softplus(-z) + (1.0 - y) * softplus(z)); }
    losses_set(i, loss);
    if (HAS_DLOGITS) { dLogits_set(i, prm.gradScale * m * (sigmoid(z) - y)); }`)
