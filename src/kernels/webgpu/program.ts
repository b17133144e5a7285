/**
 * Compute programs of the WebGPU backend: a kernel's WGSL body plus a declaration of its operands
 * and scalar parameters, from which `generateShader` writes the full shader module for one
 * variant.
 *
 * Why variants: a kernel's operands are views (a GPUBuffer plus an element offset). WebGPU forbids
 * a dispatch to bind overlapping ranges of one buffer when any of them is writable, so two operands
 * that live in the same GPUBuffer (an in-place activation, two views of one workspace) must share
 * one binding. The backend therefore binds each distinct GPUBuffer once, and the variant records
 * which binding each operand reads: `slots[i]` is operand i's binding, or -1 for an absent optional
 * operand. The body never names bindings; it reads and writes operands through accessors:
 *
 *   x_get(i) -> f32 (or i32)     element i of operand x (offset added)
 *   x_set(i, v)                  element i = v             (written operands only)
 *   x_bits(i) -> u32             the raw bits, and x_setBits(i, bits), for exact copies
 *   x_add(i, v)                  element i += v atomically (operands declared `atomic`)
 *   HAS_X                        whether an optional operand is present
 *
 * Every binding is declared as `array<u32>` (or `array<atomic<u32>>`) and the accessors bitcast,
 * so operands of either type can share a binding, and copies move bits, not floats (NaN payloads,
 * -0 and denormals survive). Element offsets travel in the uniform block as `prm.o_<name>`, next to
 * the kernel's own scalars `prm.<param>`; the block is one 256-byte slot of the backend's params
 * buffer (at most 64 scalars).
 */

/** Element type of an operand as the body sees it. */
export type OperandType = 'f32' | 'i32'

/** Type of a scalar parameter in the uniform block. */
export type ParamType = 'u32' | 'i32' | 'f32'

export interface OperandSpec {
  readonly name: string
  readonly type: OperandType
  /** Written by the program: its binding must be read_write. */
  readonly written?: boolean
  /** May be null; then x_get returns `fallback` and HAS_X is false. */
  readonly optional?: boolean
  /** What x_get returns for an absent optional operand (WGSL expression). Default 0. */
  readonly fallback?: string
  /** Accumulated with atomic compare-exchange (float += from many invocations at once). */
  readonly atomic?: boolean
}

export interface ProgramSpec {
  /** Unique name of the program (including its compile-time configuration). */
  readonly name: string
  readonly operands: readonly OperandSpec[]
  /** Scalar parameters, in the order `dispatch` receives them. */
  readonly params: readonly (readonly [string, ParamType])[]
  /** WGSL: helper functions and the entry point `main`. */
  readonly body: string
}

/**
 * Storage buffers one kernel binds at most: the device is requested with this limit (WebGPU's
 * default is 8). lstmBackward with peepholes binds 10; a fused backward step given more distinct
 * buffers than this runs as its two-kernel composition instead.
 */
export const STORAGE_BUFFERS_NEEDED = 10

/** The uniform slot of one dispatch, in bytes (also the dynamic-offset alignment). */
export const PARAM_SLOT_BYTES = 256
export const MAX_SCALARS = PARAM_SLOT_BYTES / 4

/** The scalar layout of a program's uniform block: operand offsets first, then its parameters. */
export function paramLayout(spec: ProgramSpec): { name: string; type: ParamType }[] {
  const layout = [
    ...spec.operands.map((o) => ({ name: `o_${o.name}`, type: 'u32' as ParamType })),
    ...spec.params.map(([name, type]) => ({ name, type })),
  ]
  if (layout.length > MAX_SCALARS) throw new Error(`webgpu program ${spec.name}: ${layout.length} scalars exceed the ${MAX_SCALARS} of a params slot`)
  return layout
}

/** Math shared by the programs, written for fp32 accuracy and for inputs of any size. */
export const WGSL_MATH = /* wgsl */ `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isInf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
// σ(x) without overflow: exp of a non-positive argument only.
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// tanh(x) = (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x; tanh(20) is 1 in f32, so |x| is capped
// there (WGSL's own tanh is specified through sinh/cosh and may overflow to NaN).
fn tanhf(x: f32) -> f32 {
  let e = exp(-2.0 * min(abs(x), 20.0));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}
// log(1 + t) for t >= 0, accurate for small t (WGSL has no log1p).
fn log1pf(t: f32) -> f32 {
  let w = 1.0 + t;
  if (w == 1.0) { return t; }
  return log(w) * (t / (w - 1.0));
}
// log(1 + e^x) without overflow.
fn softplus(x: f32) -> f32 { return max(x, 0.0) + log1pf(exp(-abs(x))); }
`

/** Shader source of one variant; `slots[i]` is operand i's binding (-1: absent optional operand). */
export function generateShader(spec: ProgramSpec, slots: readonly number[]): string {
  const layout = paramLayout(spec)
  const lines: string[] = []
  lines.push(`struct Params { ${layout.map((p) => `${p.name}: ${p.type},`).join(' ')} }`)
  lines.push('@group(0) @binding(0) var<uniform> prm: Params;')
  const bindings = bindingModes(spec, slots)
  for (const [slot, mode] of bindings) {
    const element = mode.atomic ? 'atomic<u32>' : 'u32'
    lines.push(`@group(1) @binding(${slot}) var<storage, ${mode.written ? 'read_write' : 'read'}> b${slot}: array<${element}>;`)
  }
  spec.operands.forEach((operand, i) => lines.push(...accessors(operand, slots[i], bindings.get(slots[i]))))
  lines.push(WGSL_MATH, spec.body)
  return lines.join('\n')
}

interface BindingMode {
  written: boolean
  atomic: boolean
}

/** Per binding: whether any operand on it is written, or accumulated atomically. */
function bindingModes(spec: ProgramSpec, slots: readonly number[]): Map<number, BindingMode> {
  const modes = new Map<number, BindingMode>()
  spec.operands.forEach((operand, i) => {
    const slot = slots[i]
    if (slot < 0) return
    const mode = modes.get(slot) ?? { written: false, atomic: false }
    mode.written ||= operand.written === true || operand.atomic === true
    mode.atomic ||= operand.atomic === true
    modes.set(slot, mode)
  })
  return modes
}

/** The accessor functions of one operand on its binding. */
function accessors(operand: OperandSpec, slot: number, mode: BindingMode | undefined): string[] {
  const { name, type } = operand
  const has = `const HAS_${name.toUpperCase()} = ${slot >= 0};`
  if (slot < 0 || mode === undefined) {
    const out = [has, `fn ${name}_get(i: u32) -> ${type} { return ${type}(${operand.fallback ?? '0'}); }`]
    if (operand.written === true) out.push(`fn ${name}_set(i: u32, v: ${type}) {}`)
    if (operand.atomic === true) out.push(`fn ${name}_add(i: u32, v: f32) {}`)
    return out
  }
  const at = `b${slot}[prm.o_${name} + i]`
  const out = [has]
  if (mode.atomic) {
    out.push(`fn ${name}_bits(i: u32) -> u32 { return atomicLoad(&${at}); }`)
    if (operand.written === true || operand.atomic === true) out.push(`fn ${name}_setBits(i: u32, v: u32) { atomicStore(&${at}, v); }`)
  } else {
    out.push(`fn ${name}_bits(i: u32) -> u32 { return ${at}; }`)
    if (operand.written === true) out.push(`fn ${name}_setBits(i: u32, v: u32) { ${at} = v; }`)
  }
  out.push(`fn ${name}_get(i: u32) -> ${type} { return bitcast<${type}>(${name}_bits(i)); }`)
  if (operand.written === true || operand.atomic === true) out.push(`fn ${name}_set(i: u32, v: ${type}) { ${name}_setBits(i, bitcast<u32>(v)); }`)
  if (operand.atomic === true) {
    // += by compare-exchange: retry until no other invocation changed the element in between.
    out.push(`fn ${name}_add(i: u32, v: f32) {
  var old = atomicLoad(&${at});
  loop {
    let r = atomicCompareExchangeWeak(&${at}, old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`)
  }
  return out
}

// ---- building blocks for the bodies --------------------------------------------------------------------

/** Threads per workgroup of the one-dimensional programs. */
export const WORKGROUP = 256

/**
 * An element-wise program: `statement` runs once per index `i` in [0, prm.n) over a grid-stride
 * loop, so any n fits in a bounded number of workgroups.
 */
export function elementwise(name: string, operands: readonly OperandSpec[], params: readonly (readonly [string, ParamType])[], statement: string, helpers = ''): ProgramSpec {
  return {
    name,
    operands,
    params: [['n', 'u32'], ...params],
    body: `${helpers}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < prm.n; i += stride) {
${statement}
  }
}`,
  }
}

/** Shorthands for operand declarations. */
export const f32In = (name: string): OperandSpec => ({ name, type: 'f32' })
export const f32Out = (name: string): OperandSpec => ({ name, type: 'f32', written: true })
export const i32In = (name: string): OperandSpec => ({ name, type: 'i32' })
export const i32Out = (name: string): OperandSpec => ({ name, type: 'i32', written: true })
export const optionalIn = (name: string, fallback: string): OperandSpec => ({ name, type: 'f32', optional: true, fallback })
