/// <reference types="@webgpu/types" />
/**
 * Starting the WebGPU backend from a GPU object (navigator.gpu in a browser, Dawn's in Node):
 * pick the adapter, read what it offers, refuse what the kernels cannot use, create the device.
 *
 * Feature detection, recorded in the backend's `adapter` and `description`:
 * - limits: the largest storage binding and buffer (requested at the adapter's maximum: that is the
 *   largest buffer the backend allocates; `alloc` refuses larger ones by name), storage buffers per
 *   kernel (the LSTM backward with peepholes binds 10, above WebGPU's default of 8, so fewer is a
 *   refusal), workgroup size and memory (the kernels stay within WebGPU's defaults: 256 threads,
 *   16 KiB);
 * - features: `shader-f16` and `subgroups` are noted, not requested: the kernels are fp32 and use
 *   workgroup-memory reductions, which every adapter has.
 * A software adapter (SwiftShader, llvmpipe) is refused unless `allowSoftware`: it computes the right
 * numbers far more slowly than the native CPU backend, so it is used only when forced by name.
 */
import { RecurError } from '../../errors.js'
import { WebGpuKernels, type AdapterSummary } from './index.js'
import { STORAGE_BUFFERS_NEEDED } from './program.js'

export { STORAGE_BUFFERS_NEEDED }

export interface WebGpuStartOptions {
  /** Accept a software adapter; the registry sets this when the backend is forced by name. */
  allowSoftware?: boolean
}

/** Requests an adapter and a device from `gpu` and starts the backend on them. */
export async function startWebGpu(gpu: GPU, options: WebGpuStartOptions = {}, owner: unknown = gpu): Promise<WebGpuKernels> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (adapter === null) throw new RecurError('BACKEND', 'no WebGPU adapter: the GPU driver offers none (or this GPU is blocklisted)')
  const summary = summarizeAdapter(adapter)
  if (summary.software && options.allowSoftware !== true) {
    throw new RecurError(
      'BACKEND',
      `software adapter (${summary.name}), far slower than the native CPU backend, is not chosen automatically; force it with --backend webgpu / RECUR_BACKEND=webgpu`,
    )
  }
  if (summary.maxStorageBuffersPerStage < STORAGE_BUFFERS_NEEDED) {
    throw new RecurError(
      'BACKEND',
      `the WebGPU adapter ${summary.name} binds ${summary.maxStorageBuffersPerStage} storage buffers per kernel; recur's kernels need ${STORAGE_BUFFERS_NEEDED}`,
    )
  }
  const limits = adapter.limits
  const device = await adapter.requestDevice({
    label: 'recur',
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: STORAGE_BUFFERS_NEEDED,
    },
  })
  return new WebGpuKernels(device, summary, owner)
}

/** What the backend needs to know about an adapter. */
export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
  const vendor = info.vendor ?? '', architecture = info.architecture ?? ''
  const name = info.description || [vendor, architecture, info.device].filter((s) => s !== '' && s !== undefined).join(' ') || 'unnamed adapter'
  const words = `${vendor} ${architecture} ${info.device ?? ''} ${info.description ?? ''}`
  const fallback = info.isFallbackAdapter === true || (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true
  const limits = adapter.limits
  return {
    name,
    vendor,
    architecture,
    software: fallback || /swiftshader|llvmpipe|lavapipe|software/i.test(words),
    maxBindingBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    maxStorageBuffersPerStage: limits.maxStorageBuffersPerShaderStage,
    maxWorkgroupInvocations: limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupStorageBytes: limits.maxComputeWorkgroupStorageSize,
    features: [...adapter.features].filter((f) => f === 'shader-f16' || f === 'subgroups'),
  }
}

/** The browser's start: navigator.gpu, in a page or a worker. */
export async function startWebGpuBrowser(options: WebGpuStartOptions = {}): Promise<WebGpuKernels> {
  const gpu = browserGpu()
  if (gpu === undefined) throw new RecurError('BACKEND', 'this browser offers no WebGPU (navigator.gpu is missing)')
  return startWebGpu(gpu, options)
}

/** navigator.gpu where there is one. */
export function browserGpu(): GPU | undefined {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu
}
