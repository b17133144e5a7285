/**
 * The fused pointwise step of each recurrent cell, forward and backward, for one time step:
 * one invocation per (b, j) of the (B,H) state, i = b*H + j (the equations and their names are on
 * top of each cell's file in src/cells/). The LSTM backward with peepholes accumulates dPeep (3H)
 * over the batch, so that variant gives each invocation one column j and loops over b.
 *
 * The math of one unit is a WGSL function (`lstmForwardAt`, `gruForwardAt`, ...) that takes the
 * recurrent product as an argument, so that the fused step programs (./steps.ts), which compute the
 * product in the same dispatch, run the very same lines after it.
 */
import { elementwise, f32In, f32Out, optionalIn, WORKGROUP, type OperandSpec, type ProgramSpec } from '../program.js'

// ---- RNN: a<t> = tanh(z) ------------------------------------------------------------------------------

export const RNN_FORWARD = elementwise('rnnForward', [f32In('z'), f32Out('a')], [], 'a_set(i, tanhf(z_get(i)));')

// forward: a = tanh(z) -> dz = (daOut + daNext) * (1 - a²)
export const RNN_BACKWARD = elementwise('rnnBackward', [f32In('a'), f32In('daOut'), f32In('daNext'), f32Out('dz')], [], `
    let a = a_get(i);
    dz_set(i, (daOut_get(i) + daNext_get(i)) * (1.0 - a * a));`)

// ---- LSTM: z = [u f c~ o] (B,4H) --------------------------------------------------------------------------

/** The LSTM forward of unit (b, j) from its pre-activations z = [u f c~ o]: writes gates, c<t>, a<t>. */
export const LSTM_FORWARD_STEP = /* wgsl */ `
fn lstmForwardAt(b: u32, j: u32, z: vec4f) {
  let H = prm.H;
  let i = b * H + j;
  let zr = b * 4u * H;
  let cp = cPrev_get(i);
  let gu = sigmoid(z.x + peep_get(j) * cp);              // Γu = σ(Wu[a, x] + bu + pu*c<t-1>)
  let gf = sigmoid(z.y + peep_get(H + j) * cp);          // Γf = σ(Wf[a, x] + bf + pf*c<t-1>)
  let cand = tanhf(z.z);                                 // c~ = tanh(Wc[a, x] + bc)
  let cn = gu * cand + gf * cp;                          // c<t> = Γu*c~ + Γf*c<t-1>
  let go = sigmoid(z.w + peep_get(2u * H + j) * cn);     // Γo = σ(Wo[a, x] + bo + po*c<t>)
  gates_set(zr + j, gu);
  gates_set(zr + H + j, gf);
  gates_set(zr + 2u * H + j, cand);
  gates_set(zr + 3u * H + j, go);
  c_set(i, cn);
  a_set(i, go * tanhf(cn));                              // a<t> = Γo*tanh(c<t>)
}`

export const LSTM_FORWARD = elementwise('lstmForward',
  [f32In('z'), f32In('cPrev'), optionalIn('peep', '0.0'), f32Out('gates'), f32Out('c'), f32Out('a')], [['H', 'u32']], `
    let H = prm.H;
    let zr = (i / H) * 4u * H + i % H;
    lstmForwardAt(i / H, i % H, vec4f(z_get(zr), z_get(zr + H), z_get(zr + 2u * H), z_get(zr + 3u * H)));`, LSTM_FORWARD_STEP)

/**
 * The LSTM backward of one element (b, j), with daRec the part of da that the caller computed (the
 * fused step's dz<t+1> W_hh, else 0); returns [dz_u, dz_f, dz_o] for the peephole gradient.
 */
export const LSTM_BACKWARD_STEP = /* wgsl */ `
fn lstmBackwardAt(b: u32, j: u32, daRec: f32) -> vec3f {
  let H = prm.H;
  let k = b * H + j;
  let zr = b * 4u * H;
  let gu = gates_get(zr + j);
  let gf = gates_get(zr + H + j);
  let cand = gates_get(zr + 2u * H + j);
  let go = gates_get(zr + 3u * H + j);
  let cp = cPrev_get(k);
  let tc = tanhf(c_get(k));
  let da = daOut_get(k) + daNext_get(k) + daRec;
  // forward: a = Γo*tanh(c) -> dΓo = da * tanh(c), dz_o = dΓo * Γo(1-Γo)
  let dzo = da * tc * go * (1.0 - go);
  // forward: a = Γo*tanh(c), Γo sees c (peephole) -> dc = dc_next + da*Γo*(1-tanh²c) + dz_o*p_o
  let dct = dcNext_get(k) + da * go * (1.0 - tc * tc) + dzo * peep_get(2u * H + j);
  // forward: c = Γu*c~ + Γf*c<t-1>
  let dzu = dct * cand * gu * (1.0 - gu);   // dΓu = dc*c~, through σ
  let dzf = dct * cp * gf * (1.0 - gf);     // dΓf = dc*c<t-1>, through σ
  let dzc = dct * gu * (1.0 - cand * cand); // dc~ = dc*Γu, through tanh
  dz_set(zr + j, dzu);
  dz_set(zr + H + j, dzf);
  dz_set(zr + 2u * H + j, dzc);
  dz_set(zr + 3u * H + j, dzo);
  // dc<t-1> = dc*Γf, plus the peephole paths into Γu and Γf
  dcPrev_set(k, dct * gf + dzu * peep_get(j) + dzf * peep_get(H + j));
  return vec3f(dzu, dzf, dzo);
}`

export const LSTM_BACKWARD_OPERANDS = [
  f32In('gates'), f32In('cPrev'), f32In('c'), optionalIn('peep', '0.0'), f32In('daOut'), f32In('daNext'), f32In('dcNext'),
  f32Out('dz'), f32Out('dcPrev'),
]

/** Without a peephole gradient: one invocation per element. */
export const LSTM_BACKWARD = elementwise('lstmBackward', LSTM_BACKWARD_OPERANDS, [['H', 'u32']],
  '    _ = lstmBackwardAt(i / prm.H, i % prm.H, 0.0);', LSTM_BACKWARD_STEP)

/**
 * dPeep (3H) += Σ_b [dz_u c<t-1>, dz_f c<t-1>, dz_o c<t>]: one invocation per column j, looping
 * over the batch; `dzAt` is a WGSL expression of (b, j) giving [dz_u, dz_f, dz_o].
 */
export function peepholeGradientProgram(name: string, operands: readonly OperandSpec[], dzAt: string, helpers: string): ProgramSpec {
  return {
    name,
    operands: [...operands, f32Out('dPeep')],
    params: [['B', 'u32'], ['H', 'u32']],
    body: /* wgsl */ `${helpers}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let H = prm.H;
  for (var j = gid.x; j < H; j += nwg.x * ${WORKGROUP}u) {
    var du = 0.0;
    var df = 0.0;
    var dout = 0.0;
    for (var b = 0u; b < prm.B; b++) {
      let d = ${dzAt};
      du += d.x * cPrev_get(b * H + j);
      df += d.y * cPrev_get(b * H + j);
      dout += d.z * c_get(b * H + j);
    }
    dPeep_set(j, dPeep_get(j) + du);
    dPeep_set(H + j, dPeep_get(H + j) + df);
    dPeep_set(2u * H + j, dPeep_get(2u * H + j) + dout);
  }
}`,
  }
}

/** With dPeep (3H) +=: one invocation per column j, computing the backward of (b, j) as it loops over b. */
export const LSTM_BACKWARD_PEEP = peepholeGradientProgram('lstmBackwardPeep', LSTM_BACKWARD_OPERANDS, 'lstmBackwardAt(b, j, 0.0)', LSTM_BACKWARD_STEP)

// ---- GRU: xw, hw (B,3H) = [r u c~] blocks; bh (3H) = b_hh ---------------------------------------------------

/** Γr = σ(xw_r + hw_r + bh_r) and rc = Γr * c<t-1> for unit (b, j), hr = hw_r its recurrent product. */
export const GRU_RESET_FORWARD_STEP = /* wgsl */ `
fn gruResetAt(b: u32, j: u32, hr: f32) {
  let i = b * prm.H + j;
  let r = sigmoid(xw_get(b * 3u * prm.H + j) + hr + bh_get(j));
  rc_set(i, r * cPrev_get(i));
}`

export const GRU_RESET_FORWARD = elementwise('gruResetForward',
  [f32In('xw'), f32In('hw'), f32In('bh'), f32In('cPrev'), f32Out('rc')], [['H', 'u32']],
  '    gruResetAt(i / prm.H, i % prm.H, hw_get((i / prm.H) * 3u * prm.H + i % prm.H));', GRU_RESET_FORWARD_STEP)

/** The GRU forward of unit (b, j) from its recurrent products h = [hr hu hc] (hw's blocks, without b_hh). */
export const GRU_FORWARD_STEP = /* wgsl */ `
fn gruForwardAt(b: u32, j: u32, h: vec3f, after: bool) {
  let H = prm.H;
  let i = b * H + j;
  let zr = b * 3u * H;
  let r = sigmoid(xw_get(zr + j) + h.x + bh_get(j));                // Γr
  let gu = sigmoid(xw_get(zr + H + j) + h.y + bh_get(H + j));       // Γu
  let hc = h.z + bh_get(2u * H + j);
  // before: c~ = tanh(Wcx x + bcx + Wcc (Γr*c<t-1>) + bcc)   after: c~ = tanh(Wcx x + bcx + Γr*(Wcc c<t-1> + bcc))
  let cand = tanhf(xw_get(zr + 2u * H + j) + select(hc, r * hc, after));
  let cp = cPrev_get(i);
  gates_set(zr + j, r);
  gates_set(zr + H + j, gu);
  gates_set(zr + 2u * H + j, cand);
  c_set(i, gu * cand + (1.0 - gu) * cp);                           // c<t> = Γu*c~ + (1-Γu)*c<t-1>
}`

export const GRU_FORWARD = elementwise('gruForward',
  [f32In('xw'), f32In('hw'), f32In('bh'), f32In('cPrev'), f32Out('gates'), f32Out('c')], [['H', 'u32'], ['after', 'u32']], `
    let H = prm.H;
    let zr = (i / H) * 3u * H + i % H;
    gruForwardAt(i / H, i % H, vec3f(hw_get(zr), hw_get(zr + H), hw_get(zr + 2u * H)), prm.after != 0u);`, GRU_FORWARD_STEP)

/** The GRU backward of unit (b, j), with dcRec the part of dc that the caller computed (else 0). */
export const GRU_BACKWARD_STEP = /* wgsl */ `
fn gruBackwardAt(b: u32, j: u32, dcRec: f32, after: bool) {
  let H = prm.H;
  let i = b * H + j;
  let zr = b * 3u * H;
  let r = gates_get(zr + j);
  let gu = gates_get(zr + H + j);
  let cand = gates_get(zr + 2u * H + j);
  let cp = cPrev_get(i);
  let dc = dcOut_get(i) + dcNext_get(i) + dcRec;
  // forward: c = Γu*c~ + (1-Γu)*c<t-1> -> dc~ = dc*Γu, dΓu = dc*(c~ - c<t-1>), dc<t-1> = dc*(1-Γu)
  let dzc = dc * gu * (1.0 - cand * cand); // through c~ = tanh(.)
  let dzu = dc * (cand - cp) * gu * (1.0 - gu); // through Γu = σ(.)
  dcPrev_set(i, dc * (1.0 - gu));
  dxw_set(zr + H + j, dzu);
  dhw_set(zr + H + j, dzu);
  dxw_set(zr + 2u * H + j, dzc);
  if (after) {
    // forward: c~ = tanh(xc + Γr*hc), hc = Wcc c<t-1> + bcc -> dhc = dz_c*Γr, dΓr = dz_c*hc
    let hc = hw_get(zr + 2u * H + j) + bh_get(2u * H + j);
    let dzr = dzc * hc * r * (1.0 - r);
    dhw_set(zr + 2u * H + j, dzc * r);
    dxw_set(zr + j, dzr);
    dhw_set(zr + j, dzr);
  } else {
    // forward: c~ = tanh(xc + Wcc (Γr*c<t-1>) + bcc): the Γr path waits for gruResetBackward
    dhw_set(zr + 2u * H + j, dzc);
  }
}`

export const GRU_BACKWARD_OPERANDS = [
  f32In('gates'), f32In('hw'), f32In('bh'), f32In('cPrev'), f32In('dcOut'), f32In('dcNext'), f32Out('dxw'), f32Out('dhw'), f32Out('dcPrev'),
]

export const GRU_BACKWARD = elementwise('gruBackward', GRU_BACKWARD_OPERANDS, [['H', 'u32'], ['after', 'u32']],
  '    gruBackwardAt(i / prm.H, i % prm.H, 0.0, prm.after != 0u);', GRU_BACKWARD_STEP)

/** forward: rc = Γr*c<t-1> -> dΓr = drc*c<t-1>, dc<t-1> += drc*Γr, for unit (b, j). */
export const GRU_RESET_BACKWARD_STEP = /* wgsl */ `
fn gruResetBackwardAt(b: u32, j: u32, drc: f32) {
  let i = b * prm.H + j;
  let r = gates_get(b * 3u * prm.H + j);
  let dzr = drc * cPrev_get(i) * r * (1.0 - r);
  dxw_set(b * 3u * prm.H + j, dzr);
  dhw_set(b * 3u * prm.H + j, dzr);
  dcPrev_set(i, dcPrev_get(i) + drc * r);
}`

export const GRU_RESET_BACKWARD = elementwise('gruResetBackward',
  [f32In('gates'), f32In('cPrev'), f32In('drc'), f32Out('dxw'), f32Out('dhw'), f32Out('dcPrev')], [['H', 'u32']],
  '    gruResetBackwardAt(i / prm.H, i % prm.H, drc_get(i));', GRU_RESET_BACKWARD_STEP)
