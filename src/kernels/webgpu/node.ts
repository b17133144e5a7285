/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend's start in Node: Google's Dawn from the optional npm package `webgpu`.
 * Node-only (node: modules); the registry reaches it through a dynamic import that bundlers leave
 * alone, so browser builds never include it.
 *
 * On Linux, Dawn reaches the GPU through Vulkan. Before loading Dawn, `vulkanProblem` checks that
 * the Vulkan loader and at least one driver (ICD) are installed: without them Dawn finds no adapter
 * and prints warnings of its own to stderr, which a command that merely looks for the best backend
 * must not do. Without a GPU, Chromium's SwiftShader driver runs the kernels on the CPU (slowly):
 * VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json with --backend webgpu.
 */
import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { RecurError } from '../../errors.js'
import type { WebGpuKernels } from './index.js'
import { startWebGpu, type WebGpuStartOptions } from './start.js'

/** What the `webgpu` package exports (its README: `import { create, globals } from 'webgpu'`). */
export interface DawnModule {
  create(flags: string[]): GPU
}

export interface WebGpuNodeOptions extends WebGpuStartOptions {
  /** Loads the `webgpu` package; tests replace it. */
  load?: () => Promise<DawnModule>
  /** Dawn flags, e.g. ['adapter=NVIDIA'] (see the package's README). */
  flags?: string[]
  /** Environment for the Vulkan check. Default: process.env. */
  env?: Record<string, string | undefined>
}

/** The `webgpu` package, behind a specifier bundlers do not follow (it holds a native addon). */
async function loadDawn(): Promise<DawnModule> {
  const specifier = 'webgpu'
  return (await import(specifier)) as DawnModule
}

/** Starts the backend on Dawn; throws a BACKEND RecurError that says why it cannot. */
export async function startWebGpuNode(options: WebGpuNodeOptions = {}): Promise<WebGpuKernels> {
  const problem = vulkanProblem(options.env ?? process.env)
  if (problem !== null) throw new RecurError('BACKEND', problem)
  let dawn: DawnModule
  try {
    dawn = await (options.load ?? loadDawn)()
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RecurError('BACKEND', 'the WebGPU backend needs the npm package webgpu (Dawn), which is not installed: install the optional package webgpu (npm install webgpu)')
    }
    throw new RecurError('BACKEND', `the npm package webgpu (Dawn) failed to load: ${error instanceof Error ? error.message : String(error)}`)
  }
  const gpu = dawn.create(options.flags ?? [])
  return startWebGpu(gpu, options, gpu)
}

/** Directories searched for libvulkan.so.1 besides LD_LIBRARY_PATH. */
const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
  '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib', '/run/opengl-driver/lib',
]

/**
 * Why Dawn cannot reach a GPU on this Linux machine (no Vulkan loader, no Vulkan driver), or null
 * when it may (and on other systems, where Dawn uses Metal or Direct3D).
 */
export function vulkanProblem(env: Record<string, string | undefined>, platform: string = process.platform): string | null {
  if (platform !== 'linux') return null
  const libraryDirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== ''), ...LIBRARY_DIRS]
  if (!libraryDirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')))) {
    return 'the Vulkan loader (libvulkan.so.1), through which Dawn reaches the GPU on Linux, is not installed (Debian and Ubuntu: apt-get install libvulkan1)'
  }
  for (const name of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES']) {
    if ((env[name] ?? '').split(':').some((path) => path !== '' && existsSync(path))) return null
  }
  if (driverDirs(env).some(hasDriverFile)) return null
  return 'no Vulkan driver (ICD) is installed, so Dawn finds no GPU (to run on the CPU with Chromium\'s SwiftShader driver: ' +
    'VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json and --backend webgpu)'
}

/** Where the Vulkan loader looks for driver manifests. */
function driverDirs(env: Record<string, string | undefined>): string[] {
  const data = (env['XDG_DATA_DIRS'] || '/usr/local/share:/usr/share').split(':')
  const config = (env['XDG_CONFIG_DIRS'] || '/etc/xdg').split(':')
  const home = env['HOME'] ?? homedir()
  return [
    ...[...config, '/etc'].map((d) => join(d, 'vulkan', 'icd.d')),
    ...[join(home, '.local', 'share'), ...data, '/usr/local/share', '/usr/share', '/run/opengl-driver/share'].map((d) => join(d, 'vulkan', 'icd.d')),
  ]
}

function hasDriverFile(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name.endsWith('.json'))
  } catch {
    return false
  }
}
