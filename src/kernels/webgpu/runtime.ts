/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend's machinery under the kernels: GPU memory, the queue of pending work, and the
 * caches that make a dispatch cheap.
 *
 * Queueing: kernels record compute dispatches into one open compute pass of a pending command
 * encoder; nothing is submitted until the caller reads a buffer back (`read`), writes one
 * (`write`, which must land after the work queued before it), frees one, or MAX_PENDING dispatches
 * have accumulated. Inside a pass WebGPU orders the dispatches and makes each one's writes visible
 * to the next, so a whole training step runs as a few submits.
 *
 * Parameters: each dispatch's scalars (operand offsets, sizes, coefficients) go into its own 256-byte
 * slot of a host-side block; at submit the used slots are written to one uniform buffer with a
 * single writeBuffer, and each dispatch binds its slot by dynamic offset. Queue operations run in
 * order, so the next batch may reuse the same slots.
 *
 * Pipelines are created once per program variant (see program.ts); bind groups once per (variant,
 * set of GPUBuffers), so a training loop that reuses its workspaces builds none after its first step.
 *
 * Errors: every call that can fail on the device side (creating a buffer, pipeline or bind group,
 * writing, submitting) runs inside error scopes; the first error caught is kept and thrown, as a
 * RecurError, by the next read and by every call after it. (An error outside any scope would be
 * printed by Dawn, and logged by browsers, as well as being reported.)
 */
import { RecurError } from '../../errors.js'
import { generateShader, paramLayout, PARAM_SLOT_BYTES, type ProgramSpec } from './program.js'

// WebGPU's flag values (GPUBufferUsage, GPUMapMode, GPUShaderStage), spelled out so that the backend
// needs no globals from the `webgpu` package in Node.
const USAGE_MAP_READ = 0x0001
const USAGE_COPY_SRC = 0x0004
const USAGE_COPY_DST = 0x0008
const USAGE_UNIFORM = 0x0040
const USAGE_STORAGE = 0x0080
const MAP_READ = 0x0001
const STAGE_COMPUTE = 0x4

/**
 * Compiled program variants per device, shared by every runtime on it (a second backend on the same
 * device, as the tests make, compiles nothing twice). Bind group layouts with equal entries are
 * interchangeable in WebGPU, so a variant built with one runtime's params layout serves them all.
 */
const variantsByDevice = new WeakMap<GPUDevice, Map<string, Variant>>()

/** Dispatches recorded before the pending work is submitted without being asked. */
export const MAX_PENDING = 256
/** Bind groups kept before the cache is emptied (each pins its buffers until then). */
const MAX_BIND_GROUPS = 4096
/** Read-back staging buffers kept for reuse. */
const MAX_STAGING = 8

/** One GPUBuffer: what `alloc` creates and views share. */
export class Allocation {
  readonly buffer: GPUBuffer
  readonly id: number
  /** Cache keys of the bind groups that hold this buffer (dropped when it is freed). */
  readonly bindGroupKeys = new Set<string>()
  destroyed = false
  constructor(buffer: GPUBuffer, id: number) {
    this.buffer = buffer
    this.id = id
  }
}

interface Variant {
  pipeline: GPUComputePipeline
  layout: GPUBindGroupLayout
  /** Number of storage bindings. */
  bindings: number
}

/** An operand of a dispatch: an allocation and the element offset of the view. */
export interface Operand {
  readonly allocation: Allocation
  readonly offset: number
}

export class GpuRuntime {
  readonly device: GPUDevice
  private readonly queue: GPUQueue
  private readonly paramsBuffer: GPUBuffer
  private readonly paramsBlock = new ArrayBuffer(MAX_PENDING * PARAM_SLOT_BYTES)
  private readonly paramsU32 = new Uint32Array(this.paramsBlock)
  private readonly paramsI32 = new Int32Array(this.paramsBlock)
  private readonly paramsF32 = new Float32Array(this.paramsBlock)
  private readonly paramsLayout: GPUBindGroupLayout
  private readonly paramsBindGroup: GPUBindGroup
  private readonly variants: Map<string, Variant>
  private readonly layouts = new Map<string, ReturnType<typeof paramLayout>>()
  private readonly bindGroups = new Map<string, GPUBindGroup>()
  private readonly staging: GPUBuffer[] = []
  private encoder: GPUCommandEncoder | null = null
  private pass: GPUComputePassEncoder | null = null
  private pending = 0
  private nextId = 1
  /** The first error the device reported (validation, out of memory, loss); every later call throws it. */
  private failure: { message: string; hint: string } | null = null
  /** Error scopes popped since the last read, not yet settled. */
  private scopes: Promise<void>[] = []

  constructor(device: GPUDevice) {
    this.device = device
    this.queue = device.queue
    let variants = variantsByDevice.get(device)
    if (variants === undefined) {
      variants = new Map()
      variantsByDevice.set(device, variants)
    }
    this.variants = variants
    device.onuncapturederror = (event) => this.record((event as GPUUncapturedErrorEvent).error, false)
    void device.lost.then((info) => {
      this.failure ??= { message: `the GPU device was lost (${info.reason}): ${info.message}`, hint: 'Start again; the model\'s state on the GPU is gone' }
    })
    this.paramsBuffer = device.createBuffer({ size: this.paramsBlock.byteLength, usage: USAGE_UNIFORM | USAGE_COPY_DST })
    this.paramsLayout = device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PARAM_SLOT_BYTES } }],
    })
    this.paramsBindGroup = device.createBindGroup({
      layout: this.paramsLayout,
      entries: [{ binding: 0, resource: { buffer: this.paramsBuffer, offset: 0, size: PARAM_SLOT_BYTES } }],
    })
  }

  /** Keeps the first error the device reports. */
  private record(error: GPUError | null, outOfMemory: boolean): void {
    if (error === null) return
    this.failure ??= {
      message: error.message,
      hint: outOfMemory
        ? 'The GPU ran out of memory: use a smaller batch, sequence length or model'
        : 'This is a bug in recur\'s WebGPU backend or in the GPU driver; use --backend native or reference meanwhile',
    }
  }

  /** Runs device calls inside validation and out-of-memory error scopes (see the top of this file). */
  private scoped<T>(work: () => T): T {
    const device = this.device
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    try {
      return work()
    } finally {
      const validation = device.popErrorScope()
      const memory = device.popErrorScope()
      this.scopes.push(validation.then((e) => this.record(e, false)), memory.then((e) => this.record(e, true)))
    }
  }

  /** Waits for the errors of everything done so far to be known. */
  private async settle(): Promise<void> {
    const scopes = this.scopes
    this.scopes = []
    await Promise.all(scopes)
  }

  /** Throws the device's first reported error, if any. */
  check(): void {
    if (this.failure !== null) throw new RecurError('BACKEND', `webgpu: ${this.failure.message}`, this.failure.hint)
  }

  // ---- memory ---------------------------------------------------------------------------------------

  /** A zero-filled GPUBuffer of `bytes` (WebGPU zero-initialises every buffer). */
  allocate(bytes: number): Allocation {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16)
    const buffer = this.scoped(() => this.device.createBuffer({ size, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST }))
    return new Allocation(buffer, this.nextId++)
  }

  release(allocation: Allocation): void {
    if (allocation.destroyed) return
    this.flush() // pending commands may still use it
    for (const key of allocation.bindGroupKeys) this.bindGroups.delete(key)
    allocation.bindGroupKeys.clear()
    allocation.destroyed = true
    allocation.buffer.destroy()
  }

  /** Host data into elements [offset, offset + data.length) of an allocation, after all queued work. */
  write(allocation: Allocation, offset: number, data: Float32Array | Int32Array): void {
    this.check()
    if (data.length === 0) return
    this.flush()
    this.scoped(() => this.queue.writeBuffer(allocation.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength))
  }

  /** Elements [offset, offset + length) of an allocation, once all queued work has run. */
  async read(allocation: Allocation, offset: number, length: number): Promise<ArrayBuffer> {
    this.check()
    const bytes = length * 4
    if (bytes === 0) return new ArrayBuffer(0)
    const staging = this.takeStaging(bytes)
    const encoder = this.openEncoder()
    this.closePass()
    encoder.copyBufferToBuffer(allocation.buffer, offset * 4, staging, 0, bytes)
    this.submit()
    try {
      await staging.mapAsync(MAP_READ, 0, bytes)
    } catch (error) {
      await this.settle()
      this.check()
      throw new RecurError('BACKEND', `webgpu: reading a buffer back failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    const out = staging.getMappedRange(0, bytes).slice(0)
    staging.unmap()
    this.returnStaging(staging)
    await this.settle()
    this.check()
    return out
  }

  private takeStaging(bytes: number): GPUBuffer {
    let best = -1
    for (let i = 0; i < this.staging.length; i++) {
      if (this.staging[i].size >= bytes && (best < 0 || this.staging[i].size < this.staging[best].size)) best = i
    }
    if (best >= 0) return this.staging.splice(best, 1)[0]
    const size = Math.max(4096, 2 ** Math.ceil(Math.log2(bytes)))
    return this.scoped(() => this.device.createBuffer({ size, usage: USAGE_MAP_READ | USAGE_COPY_DST }))
  }

  private returnStaging(buffer: GPUBuffer): void {
    this.staging.push(buffer)
    if (this.staging.length > MAX_STAGING) {
      // Keep the small ones: drop the largest.
      this.staging.sort((a, b) => a.size - b.size)
      this.staging.pop()!.destroy()
    }
  }

  // ---- dispatch ------------------------------------------------------------------------------------

  /**
   * Records one dispatch of `spec` over `groups` workgroups. `operands` follow spec.operands (null for
   * an absent optional one); `params` follow spec.params.
   */
  dispatch(spec: ProgramSpec, operands: readonly (Operand | null)[], params: readonly number[], groups: readonly [number, number?, number?]): void {
    if (this.failure !== null) this.check()
    if (this.pending >= MAX_PENDING) this.flush()
    // Each distinct GPUBuffer gets one binding, in order of first use.
    const distinct: Allocation[] = []
    const slots: number[] = []
    for (const operand of operands) {
      if (operand === null) {
        slots.push(-1)
        continue
      }
      let slot = distinct.indexOf(operand.allocation)
      if (slot < 0) slot = distinct.push(operand.allocation) - 1
      slots.push(slot)
    }
    const variantKey = `${spec.name}|${slots.join(',')}`
    const variant = this.variant(spec, slots, variantKey)
    const bindGroup = this.bindGroup(variant, variantKey, distinct)
    this.writeParams(spec, operands, params)
    const pass = this.openPass()
    pass.setPipeline(variant.pipeline)
    pass.setBindGroup(0, this.paramsBindGroup, [this.pending * PARAM_SLOT_BYTES])
    pass.setBindGroup(1, bindGroup)
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1)
    this.pending++
  }

  /** Submits everything queued so far (without waiting for it). */
  flush(): void {
    if (this.encoder === null) return
    this.closePass()
    this.submit()
  }

  private writeParams(spec: ProgramSpec, operands: readonly (Operand | null)[], params: readonly number[]): void {
    let layout = this.layouts.get(spec.name)
    if (layout === undefined) {
      layout = paramLayout(spec)
      this.layouts.set(spec.name, layout)
    }
    const base = (this.pending * PARAM_SLOT_BYTES) / 4
    for (let i = 0; i < operands.length; i++) this.paramsU32[base + i] = operands[i]?.offset ?? 0
    for (let i = 0; i < params.length; i++) {
      const at = base + operands.length + i
      const type = layout[operands.length + i].type
      if (type === 'f32') this.paramsF32[at] = params[i]
      else if (type === 'i32') this.paramsI32[at] = params[i]
      else this.paramsU32[at] = params[i]
    }
  }

  private variant(spec: ProgramSpec, slots: readonly number[], key: string): Variant {
    const cached = this.variants.get(key)
    if (cached !== undefined) return cached
    return this.scoped(() => this.createVariant(spec, slots, key))
  }

  private createVariant(spec: ProgramSpec, slots: readonly number[], key: string): Variant {
    const code = generateShader(spec, slots)
    const bindings = Math.max(-1, ...slots) + 1
    const written = new Array<boolean>(bindings).fill(false)
    spec.operands.forEach((operand, i) => {
      if (slots[i] >= 0 && (operand.written === true || operand.atomic === true)) written[slots[i]] = true
    })
    const layout = this.device.createBindGroupLayout({
      entries: written.map((w, binding) => ({ binding, visibility: STAGE_COMPUTE, buffer: { type: w ? 'storage' as const : 'read-only-storage' as const } })),
    })
    const module = this.device.createShaderModule({ code, label: spec.name })
    const pipeline = this.device.createComputePipeline({
      label: spec.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.paramsLayout, layout] }),
      compute: { module, entryPoint: 'main' },
    })
    const variant = { pipeline, layout, bindings }
    this.variants.set(key, variant)
    return variant
  }

  private bindGroup(variant: Variant, variantKey: string, distinct: readonly Allocation[]): GPUBindGroup {
    let key = variantKey
    for (const allocation of distinct) key += `:${allocation.id}`
    const cached = this.bindGroups.get(key)
    if (cached !== undefined) return cached
    for (const allocation of distinct) {
      if (allocation.destroyed) throw new RecurError('BACKEND', 'webgpu: a kernel was given a buffer that was freed')
    }
    if (this.bindGroups.size >= MAX_BIND_GROUPS) this.clearBindGroups()
    const group = this.scoped(() => this.device.createBindGroup({
      layout: variant.layout,
      entries: distinct.map((allocation, binding) => ({ binding, resource: { buffer: allocation.buffer } })),
    }))
    this.bindGroups.set(key, group)
    for (const allocation of distinct) allocation.bindGroupKeys.add(key)
    return group
  }

  private clearBindGroups(): void {
    this.bindGroups.clear()
    // The keys left on live allocations name nothing now; deleting a missing key is harmless.
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder()
    return this.encoder
  }

  private openPass(): GPUComputePassEncoder {
    this.pass ??= this.openEncoder().beginComputePass()
    return this.pass
  }

  private closePass(): void {
    this.pass?.end()
    this.pass = null
  }

  private submit(): void {
    const encoder = this.encoder
    if (encoder === null) return
    const used = this.pending * PARAM_SLOT_BYTES
    this.scoped(() => {
      if (used > 0) this.queue.writeBuffer(this.paramsBuffer, 0, this.paramsBlock, 0, used)
      this.queue.submit([encoder.finish()])
    })
    this.encoder = null
    this.pending = 0
  }
}
