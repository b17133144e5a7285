/**
 * The backend registry: backends register with a priority and a lazy `start`; `resolveBackend`
 * starts the best one that works, remembers why any other failed, and lets a user force one by
 * name (the `backend` option of the API, `--backend` of the CLI, or the RECUR_BACKEND variable).
 * A backend may decline to be chosen automatically yet start when forced (the WebGPU backend on a
 * software adapter): its `start` is told which of the two it is.
 */
import { RecurError } from '../errors.js'
import type { Kernels } from './types.js'
import { ReferenceKernels } from './reference/index.js'
import { browserGpu, startWebGpuBrowser } from './webgpu/start.js'

/** What a backend's `start` is told. */
export interface StartContext {
  /** Whether the user asked for this backend by name (rather than the registry trying the best). */
  forced: boolean
}

export interface BackendEntry {
  name: string
  /** Higher is preferred. */
  priority: number
  /** One line for `recur info --backends`. */
  description: string
  /**
   * Starts the backend; may throw (e.g. a native addon that is not built). Called at most once
   * unless it fails when tried automatically, in which case forcing it by name tries again.
   */
  start: (context: StartContext) => Kernels | Promise<Kernels>
}

/** What the registry knows about one backend, for `recur info --backends`. */
export interface BackendStatus {
  name: string
  priority: number
  description: string
  state: 'ready' | 'unavailable' | 'not started'
  /** Why it is unavailable, when it is. */
  reason?: string
}

interface Slot {
  entry: BackendEntry
  /** The start tried automatically, and the one forced by name. */
  started: { auto?: Promise<Kernels>; forced?: Promise<Kernels> }
  kernels?: Kernels
  failure?: string
}

const slots = new Map<string, Slot>()

/** Registers (or replaces) a backend. */
export function registerBackend(entry: BackendEntry): void {
  slots.set(entry.name, { entry, started: {} })
}

/**
 * The native backend's start: a dynamic import of its Node-only loader, behind a specifier that
 * bundlers leave alone, so that a browser build never pulls in the addon loader or node: modules
 * (there, this start fails with a reason and the next backend is used).
 */
async function startNative(): Promise<Kernels> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    throw new RecurError('BACKEND', 'the native backend needs Node.js')
  }
  const loader = './native/index.js'
  const native = (await import(loader)) as typeof import('./native/index.js')
  return native.startNativeKernels()
}

/**
 * The WebGPU backend's start: in Node, Dawn from the optional package `webgpu` behind a dynamic
 * import that bundlers leave alone (as for the native backend); in a browser, navigator.gpu. A
 * software adapter (SwiftShader) is used only when forced: it is far slower than the native backend.
 */
async function startWebGpu({ forced }: StartContext): Promise<Kernels> {
  if (!onNode) return startWebGpuBrowser({ allowSoftware: forced })
  const loader = './webgpu/node.js'
  const node = (await import(loader)) as typeof import('./webgpu/node.js')
  return node.startWebGpuNode({ allowSoftware: forced })
}

/** The built-in backends. Registering them starts nothing: each `start` runs on first use. */
const BUILT_IN: BackendEntry[] = [
  {
    name: 'webgpu',
    priority: 200,
    description: 'WGSL kernels on the GPU through WebGPU (Dawn, the optional package webgpu, in Node; navigator.gpu in browsers); fp32',
    start: startWebGpu,
  },
  {
    name: 'native',
    priority: 100,
    description: 'C++ kernels (AVX-512, AVX2+FMA or scalar, from the CPU) on a thread pool; a Node-API addon built at install',
    start: startNative,
  },
  {
    name: 'reference',
    priority: 0,
    description: 'plain TypeScript loops over Float32Array; the specification every backend is tested against',
    start: () => new ReferenceKernels('f32'),
  },
]
/** Whether this is Node.js. */
const onNode = typeof process !== 'undefined' && process.versions?.node !== undefined

/**
 * Which built-in backends can run here. In Node, all of them (each start says why it cannot). In a
 * browser or a Web Worker, the reference backend, and the WebGPU backend where navigator.gpu exists.
 */
function runsHere(name: string): boolean {
  if (onNode || name === 'reference') return true
  return name === 'webgpu' && browserGpu() !== undefined
}
for (const entry of BUILT_IN) if (runsHere(entry.name)) registerBackend(entry)

/** Starts a backend, automatically (the registry's choice) or forced by name; a success serves both. */
async function start(slot: Slot, forced: boolean): Promise<Kernels> {
  if (slot.kernels !== undefined) return slot.kernels
  const mode = forced ? 'forced' : 'auto'
  slot.started[mode] ??= (async () => {
    try {
      slot.kernels = await slot.entry.start({ forced })
      delete slot.failure
      return slot.kernels
    } catch (error) {
      slot.failure = error instanceof Error ? error.message : String(error)
      throw error
    }
  })()
  return slot.started[mode]
}

/** Names of the registered backends, best first. */
export function backendNames(): string[] {
  return [...slots.values()].sort((a, b) => b.entry.priority - a.entry.priority).map((s) => s.entry.name)
}

/**
 * Returns a started backend. With `name` (or RECUR_BACKEND when `name` is undefined) that backend
 * or an error naming why it cannot start; without, the highest-priority backend that starts.
 */
export async function resolveBackend(name?: string, env: Record<string, string | undefined> = onNode ? process.env : {}): Promise<Kernels> {
  const forced = name ?? (env['RECUR_BACKEND'] || undefined)
  if (forced !== undefined) {
    const slot = slots.get(forced)
    if (slot === undefined) {
      throw new RecurError('BACKEND', `unknown backend '${forced}'`, `Known backends: ${backendNames().join(', ')}`)
    }
    try {
      return await start(slot, true)
    } catch {
      throw new RecurError('BACKEND', `backend '${forced}' cannot start: ${slot.failure}`, 'Choose another with --backend or RECUR_BACKEND, or leave it unset')
    }
  }
  for (const backend of backendNames()) {
    try {
      return await start(slots.get(backend)!, false)
    } catch {
      // Reason kept in the slot; fall through to the next.
    }
  }
  throw new RecurError('BACKEND', 'no backend could start')
}

/** Tries every backend and reports its state and, where it failed, the reason. */
export async function backendStatus(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = []
  for (const backend of backendNames()) {
    const slot = slots.get(backend)!
    try {
      await start(slot, false)
    } catch {
      // Recorded below.
    }
    // A started backend that describes what it found (the WebGPU adapter) says so here.
    const found = (slot.kernels as { description?: unknown } | undefined)?.description
    const status: BackendStatus = {
      name: backend,
      priority: slot.entry.priority,
      description: typeof found === 'string' ? `${slot.entry.description}: ${found}` : slot.entry.description,
      state: slot.kernels !== undefined ? 'ready' : slot.failure !== undefined ? 'unavailable' : 'not started',
    }
    if (slot.failure !== undefined) status.reason = slot.failure
    out.push(status)
  }
  return out
}
