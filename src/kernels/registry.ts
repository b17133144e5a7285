/**
 * The backend registry: backends register with a priority and a lazy `start`; `resolveBackend`
 * starts the best one that works, remembers why any other failed, and lets a user force one by
 * name (the `backend` option of the API, `--backend` of the CLI, or the RECUR_BACKEND variable).
 */
import { RecurError } from '../errors.js'
import type { Kernels } from './types.js'
import { ReferenceKernels } from './reference/index.js'

export interface BackendEntry {
  name: string
  /** Higher is preferred. */
  priority: number
  /** One line for `recur info --backends`. */
  description: string
  /** Starts the backend; may throw (e.g. a native addon that is not built). Called at most once. */
  start: () => Kernels | Promise<Kernels>
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
  started?: Promise<Kernels>
  kernels?: Kernels
  failure?: string
}

const slots = new Map<string, Slot>()

/** Registers (or replaces) a backend. */
export function registerBackend(entry: BackendEntry): void {
  slots.set(entry.name, { entry })
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

/** The built-in backends. Registering them starts nothing: each `start` runs on first use. */
const BUILT_IN: BackendEntry[] = [
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
/** Whether this is Node.js: in a browser or a Web Worker only the backends that can run there are registered. */
const onNode = typeof process !== 'undefined' && process.versions?.node !== undefined
for (const entry of BUILT_IN) if (onNode || entry.name !== 'native') registerBackend(entry)

async function start(slot: Slot): Promise<Kernels> {
  slot.started ??= (async () => {
    try {
      slot.kernels = await slot.entry.start()
      return slot.kernels
    } catch (error) {
      slot.failure = error instanceof Error ? error.message : String(error)
      throw error
    }
  })()
  return slot.started
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
      return await start(slot)
    } catch {
      throw new RecurError('BACKEND', `backend '${forced}' cannot start: ${slot.failure}`, 'Choose another with --backend or RECUR_BACKEND, or leave it unset')
    }
  }
  for (const backend of backendNames()) {
    try {
      return await start(slots.get(backend)!)
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
      await start(slot)
    } catch {
      // Recorded below.
    }
    const status: BackendStatus = {
      name: backend,
      priority: slot.entry.priority,
      description: slot.entry.description,
      state: slot.kernels !== undefined ? 'ready' : slot.failure !== undefined ? 'unavailable' : 'not started',
    }
    if (slot.failure !== undefined) status.reason = slot.failure
    out.push(status)
  }
  return out
}
