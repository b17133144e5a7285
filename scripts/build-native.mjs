#!/usr/bin/env node
// Builds the native backend's addon (binding.gyp -> build/Release/recur_native.node) with node-gyp.
// Run by `npm install` / `npm ci` (the package's "install" script) and by hand after editing native/.
//
// It never fails the install: recur works without the addon (the registry falls back to the
// reference backend). On failure it prints the reason, writes it to build/native-build-error.txt
// (the loader shows it as the reason the native backend is unavailable) and exits 0.
// RECUR_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const errorFile = join(root, 'build', 'native-build-error.txt')

function fail(reason) {
  mkdirSync(join(root, 'build'), { recursive: true })
  writeFileSync(errorFile, `${reason}\n`)
  console.log(`recur: native backend not built (${reason}); the reference backend will be used`)
  process.exit(0)
}

/** node-gyp: the one npm runs scripts with, a local install, or the one bundled with npm. */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp
  if (fromNpm && existsSync(fromNpm)) return fromNpm
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')
  } catch {
    // not installed locally
  }
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
  return existsSync(bundled) ? bundled : null
}

if (process.env.RECUR_SKIP_NATIVE === '1') fail('RECUR_SKIP_NATIVE=1')
if (process.arch !== 'x64') fail(`the addon's kernels are written for x86-64, this is ${process.arch}`)
const nodeGyp = findNodeGyp()
if (nodeGyp === null) fail('node-gyp was not found (neither npm_config_node_gyp, a local node-gyp, nor the one bundled with npm)')

// Use the headers of the running node when they are installed beside it (no download needed).
const args = [nodeGyp, 'rebuild', '--release', '-j', '2']
const prefix = join(dirname(process.execPath), '..')
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`)

rmSync(errorFile, { force: true })
const started = Date.now()
const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
if (result.error !== undefined) fail(`node-gyp could not run: ${result.error.message}`)
if (result.status !== 0) {
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`
  // The first compiler or make error says more than node-gyp's own stack of messages.
  const lines = output.split('\n').map((l) => l.trim())
    .filter((l) => /error:|fatal|make: \*\*\*|not found|No such file|gyp ERR! (?:find|configure)/.test(l) && !/gyp ERR! (?:stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l))
    .slice(0, 2)
  mkdirSync(join(root, 'build'), { recursive: true })
  writeFileSync(join(root, 'build', 'native-build.log'), output)
  fail(`node-gyp rebuild exited with ${result.status}: ${lines.join('; ').slice(0, 400) || 'no error line found'} (full log: build/native-build.log)`)
}
const built = join(root, 'build', 'Release', 'recur_native.node')
if (!existsSync(built)) fail(`node-gyp succeeded but ${built} is missing`)
console.log(`recur: native backend built (build/Release/recur_native.node, ${((Date.now() - started) / 1000).toFixed(1)} s)`)
