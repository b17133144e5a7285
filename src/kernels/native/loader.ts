/**
 * Loads the compiled addon (build/Release/recur_native.node, built by scripts/build-native.mjs at
 * install time), or explains why it cannot: not built (with the install step's reason when it left
 * one), or built but failing to load. Node-only: reached from the registry's lazy `start` alone,
 * never from browser-facing code.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RecurError } from '../../errors.js'

/** What the addon exports (native/addon.cc). Addresses are byte addresses carried as doubles. */
export interface NativeAddon {
  /** 64-byte aligned zero-filled memory: [owner (frees it when collected), address]. */
  alloc(bytes: number): [object, number]
  free(owner: object): void
  write(address: number, data: ArrayBufferView): void
  read(address: number, into: ArrayBufferView): void
  setArgs(block: Float64Array): void
  run(op: number): void
  /** Sizes the thread pool (it only grows) and the workers' spin time; returns the pool size. */
  configure(threads: number, spinMicros: number): number
  info(): { isas: string[]; best: string; poolThreads: number; ops: string[] }
}

/** The package root: src/kernels/native (run through tsx) and dist/kernels/native are both three levels down. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Where the install step puts the addon, and the reason it leaves when it cannot build it. */
export const ADDON_PATH = join(root, 'build', 'Release', 'recur_native.node')
const BUILD_ERROR_PATH = join(root, 'build', 'native-build-error.txt')

let loaded: NativeAddon | null = null

/** The addon, loaded once; throws a BACKEND RecurError saying why it is unavailable. */
export function loadAddon(): NativeAddon {
  if (loaded !== null) return loaded
  if (process.arch !== 'x64') {
    throw new RecurError('BACKEND', `the native addon is written for x86-64, this machine is ${process.arch}`)
  }
  if (!existsSync(ADDON_PATH)) {
    const reason = existsSync(BUILD_ERROR_PATH) ? readFileSync(BUILD_ERROR_PATH, 'utf8').trim() : null
    throw new RecurError(
      'BACKEND',
      reason === null ? 'the native addon is not built' : `the native addon is not built: ${reason}`,
      'Run npm rebuild recur (in a checkout: node scripts/build-native.mjs); it needs g++, make and python3',
    )
  }
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon
  } catch (error) {
    throw new RecurError(
      'BACKEND',
      `the native addon at ${ADDON_PATH} failed to load: ${error instanceof Error ? error.message : String(error)}`,
      'Rebuild it with npm rebuild recur',
    )
  }
  return loaded
}
