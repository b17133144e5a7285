/**
 * Element-wise programs: fill, copy, axpy, scale, mul, bias, activations, clipping, the optimizer
 * steps, and the reductions (sum, sum of squares, bias gradient). Shapes and = / += as in
 * ../../types.ts; each statement runs for one index i of a grid-stride loop (see `elementwise`).
 */
import { elementwise, f32In, f32Out, WORKGROUP, type ProgramSpec } from '../program.js'

/** Activation codes, shared by the host side. */
export const ACTIVATION_CODES = { identity: 0, tanh: 1, sigmoid: 2, relu: 3 } as const

const ACTIVATE = /* wgsl */ `
fn activate(kind: u32, x: f32) -> f32 {
  switch kind {
    case 1u: { return tanhf(x); }
    case 2u: { return sigmoid(x); }
    case 3u: { return select(0.0, x, bitcast<i32>(x) > 0); } // bits: a denormal x > 0 counts as positive
    default: { return x; }
  }
}
// f'(x) written from y = f(x): tanh 1 - y², sigmoid y (1 - y), relu [y > 0], identity 1.
fn slope(kind: u32, y: f32) -> f32 {
  switch kind {
    case 1u: { return 1.0 - y * y; }
    case 2u: { return y * (1.0 - y); }
    case 3u: { return select(0.0, 1.0, bitcast<i32>(y) > 0); }
    default: { return 1.0; }
  }
}`

export const BASIC = {
  // x = value (as bits, so any float is stored exactly)
  fill: elementwise('fill', [f32Out('x')], [['bits', 'u32']], 'x_setBits(i, prm.bits);'),
  // dst (rows,cols) = src, row strides ldSrc / ldDst; i runs over rows*cols
  copy: elementwise('copy', [f32In('src'), f32Out('dst')], [['cols', 'u32'], ['ldSrc', 'u32'], ['ldDst', 'u32']], `
    let r = i / prm.cols;
    let c = i % prm.cols;
    dst_setBits(r * prm.ldDst + c, src_bits(r * prm.ldSrc + c));`),
  // y += alpha * x
  axpy: elementwise('axpy', [f32In('x'), f32Out('y')], [['alpha', 'f32']], 'y_set(i, y_get(i) + prm.alpha * x_get(i));'),
  // x *= alpha
  scale: elementwise('scale', [f32Out('x')], [['alpha', 'f32']], 'x_set(i, x_get(i) * prm.alpha);'),
  // y *= x
  mul: elementwise('mul', [f32In('x'), f32Out('y')], [], 'y_set(i, y_get(i) * x_get(i));'),
  // x (rows,cols) += bias (cols); i runs over rows*cols
  addBias: elementwise('addBias', [f32Out('x'), f32In('bias')], [['cols', 'u32']], 'x_set(i, x_get(i) + bias_get(i % prm.cols));'),
  // y = f(x)
  activation: elementwise('activation', [f32In('x'), f32Out('y')], [['kind', 'u32']], 'y_set(i, activate(prm.kind, x_get(i)));', ACTIVATE),
  // dx = dy * f'(x), from y
  activationBackward: elementwise('activationBackward', [f32In('y'), f32In('dy'), f32Out('dx')], [['kind', 'u32']],
    'dx_set(i, dy_get(i) * slope(prm.kind, y_get(i)));', ACTIVATE),
  // x *= min(1, maxNorm / sqrt(sumSq[0])): scaled only when sumSq > maxNorm² (so a NaN norm leaves x alone)
  clipByNorm: elementwise('clipByNorm', [f32Out('x'), f32In('sumSq')], [['maxNorm', 'f32'], ['maxNormSq', 'f32']], `
    let s = sumSq_get(0u);
    if (isNan(s) || !(s > prm.maxNormSq)) { break; }
    x_set(i, x_get(i) * clipScale(s));`, /* wgsl */ `
// maxNorm / sqrt(s): inverseSqrt refined by one Newton step, to within an ulp or so of the quotient.
fn clipScale(s: f32) -> f32 {
  if (isInf(s)) { return 0.0; }
  var r = inverseSqrt(s);
  r = r * (1.5 - 0.5 * s * r * r);
  return prm.maxNorm * r;
}`),
  // x = clamp(x, -limit, limit)
  clipByValue: elementwise('clipByValue', [f32Out('x')], [['limit', 'f32']], 'x_set(i, min(prm.limit, max(-prm.limit, x_get(i))));'),
  // SGD with momentum: v = μ v + g (+ decay p); p -= lr (nesterov ? g + μ v : v)
  sgdStep: elementwise('sgdStep', [f32Out('p'), f32In('g'), f32Out('velocity')],
    [['lr', 'f32'], ['momentum', 'f32'], ['weightDecay', 'f32'], ['nesterov', 'u32']], `
    let w = p_get(i);
    let grad = g_get(i) + prm.weightDecay * w;
    let v = prm.momentum * velocity_get(i) + grad;
    velocity_set(i, v);
    var step = v;
    if (prm.nesterov != 0u) { step = grad + prm.momentum * v; }
    p_set(i, w - prm.lr * step);`),
  // Adam / AdamW: m = β1 m + (1-β1) g, v = β2 v + (1-β2) g², p -= lr (m̂ / (sqrt(v̂) + ε) + decoupled decay)
  adamStep: elementwise('adamStep', [f32Out('p'), f32In('g'), f32Out('m'), f32Out('v')],
    [['lr', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['oneMinusBeta1', 'f32'], ['oneMinusBeta2', 'f32'], ['eps', 'f32'],
      ['weightDecay', 'f32'], ['decoupled', 'u32'], ['invCorrection1', 'f32'], ['invCorrection2', 'f32']], `
    // 1 - β comes from the host: in f32, 1 - f32(0.999) is off by 1e-5 relative.
    let w = p_get(i);
    var grad = g_get(i);
    if (prm.decoupled == 0u) { grad = grad + prm.weightDecay * w; }
    let m = prm.beta1 * m_get(i) + prm.oneMinusBeta1 * grad;
    let v = prm.beta2 * v_get(i) + prm.oneMinusBeta2 * grad * grad;
    m_set(i, m);
    v_set(i, v);
    var update = (m * prm.invCorrection1) / (sqrt(v * prm.invCorrection2) + prm.eps);
    if (prm.decoupled != 0u) { update = update + prm.weightDecay * w; }
    p_set(i, w - prm.lr * update);`),
} satisfies Record<string, ProgramSpec>

/** Partial sums per workgroup of a reduction pass. */
export const REDUCE_GROUPS = 256

/**
 * out[wg] = Σ x (square = 0) or Σ x² (square = 1) over the indices [wg*chunk, min(n, (wg+1)*chunk)):
 * each thread sums a strided share, then the workgroup adds its 256 partials as a tree. One
 * workgroup covers a small n; a large one takes two passes (partials, then their sum).
 */
export const REDUCE: ProgramSpec = {
  name: 'reduce',
  operands: [f32In('x'), f32Out('out')],
  params: [['n', 'u32'], ['chunk', 'u32'], ['square', 'u32']],
  body: /* wgsl */ `
var<workgroup> partial: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let start = wg.x * prm.chunk;
  let end = min(prm.n, start + prm.chunk);
  var s = 0.0;
  for (var i = start + li; i < end; i += ${WORKGROUP}u) {
    let v = x_get(i);
    s += select(v, v * v, prm.square != 0u);
  }
  partial[li] = s;
  workgroupBarrier();
  for (var half = ${WORKGROUP / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u) { out_set(wg.x, partial[0]); }
}`,
}

/** Columns of the bias gradient per workgroup, and row lanes per column. */
export const BIAS_COLUMNS = 64
const BIAS_LANES = WORKGROUP / BIAS_COLUMNS

/**
 * dBias (cols) += Σ over rows of dy (rows,cols): a workgroup owns 64 consecutive columns (so a row's
 * loads are contiguous), its 4 lanes per column sum every 4th row, and the lanes are added at the end.
 */
export const BIAS_GRAD: ProgramSpec = {
  name: 'biasGrad',
  operands: [f32In('dy'), f32Out('dBias')],
  params: [['rows', 'u32'], ['cols', 'u32']],
  body: /* wgsl */ `
var<workgroup> partial: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${BIAS_COLUMNS}, ${BIAS_LANES})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let col = wg.x * ${BIAS_COLUMNS}u + lid.x;
  var s = 0.0;
  if (col < prm.cols) {
    for (var r = lid.y; r < prm.rows; r += ${BIAS_LANES}u) { s += dy_get(r * prm.cols + col); }
  }
  partial[lid.y * ${BIAS_COLUMNS}u + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < prm.cols) {
    var total = dBias_get(col);
    for (var l = 0u; l < ${BIAS_LANES}u; l++) { total += partial[l * ${BIAS_COLUMNS}u + lid.x]; }
    dBias_set(col, total);
  }
}`,
}
