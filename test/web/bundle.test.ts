/**
 * The browser build: src/browser.ts bundled with esbuild for the browser holds no Node built-ins,
 * no `node:` imports and no native-addon loader, stays under a size ceiling, and runs where there
 * is no `process` (a bare V8 context) with the reference backend only. The package's `exports` map
 * sends bundlers to it, and it offers every public name of src/index.ts except the Node-only ones.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runInNewContext } from 'node:vm'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * Ceilings on minified bundles, about 30% above what they measured when this test was written, so
 * that growth is a decision rather than an accident:
 * - the whole browser entry (every export kept): 108,647 bytes, 36.6 KB gzipped;
 * - the demo's worker, i.e. what a page that trains and samples a language model loads once its
 *   bundler has dropped what it does not use: 77,299 bytes, 26.4 KB gzipped.
 * Both were then raised by 35,000 bytes for the WebGPU backend, which every browser build carries
 * (the registry offers it wherever navigator.gpu exists): 35,150 bytes minified, half of it the
 * WGSL source of its kernels, which no JavaScript minifier shortens. And by 14,000 / 15,000 bytes for
 * the fused recurrent steps (the WGSL step programs, and the composed steps the reference backend
 * carries): the entry measured 168,203 bytes and the worker 135,281 then.
 */
const BUNDLE_CEILING_BYTES = 190_000
const WORKER_CEILING_BYTES = 150_000

/** The minified bundle of `entry`; a node: import it reaches fails the build unless `external` lets it through. */
async function bundle(entry: string, format: 'esm' | 'iife', external: string[] = []): Promise<string> {
  const result = await build({
    entryPoints: [join(root, entry)], bundle: true, write: false, platform: 'browser', format, minify: true,
    target: 'es2022', logLevel: 'silent', external, ...(format === 'iife' ? { globalName: 'recur' } : {}),
  })
  assert.deepEqual(result.warnings.map((w) => w.text), [], `${entry}: esbuild warnings`)
  return result.outputFiles[0]!.text
}

const NODE_BUILTINS = ['fs', 'fs/promises', 'path', 'module', 'os', 'child_process', 'worker_threads', 'url', 'crypto', 'util', 'process', 'buffer']

/** Everything that would tie a bundle to Node or to the native addon, with what each pattern means. */
function nodeTies(code: string): string[] {
  const found: string[] = []
  const check = (pattern: RegExp, what: string) => {
    const match = code.match(pattern)
    if (match !== null) found.push(`${what}: ${JSON.stringify(match[0])}`)
  }
  check(/["'`]node:[a-z_/]+["'`]/, 'a node: module specifier')
  for (const name of NODE_BUILTINS) {
    const quoted = `["'\`]${name.replace('/', '\\/')}["'\`]`
    check(new RegExp(`\\b(?:require|import)\\s*\\(\\s*${quoted}`), `a Node built-in loaded (${name})`)
    check(new RegExp(`\\bfrom\\s*${quoted}`), `a Node built-in imported (${name})`)
  }
  check(/\bcreateRequire\b/, 'createRequire (how ESM loads an addon)')
  check(/\bprocess\.dlopen\b/, 'process.dlopen (addon loading)')
  check(/["'`][^"'`]*\.node["'`]/, 'a .node addon path')
  check(/\bnode-gyp-build\b/, 'node-gyp-build')
  check(/["'`]bindings["'`]/, 'the bindings package')
  check(/\bnode-addon-api\b/, 'node-addon-api')
  check(/recur_native|native\/loader/, 'the native backend loader')
  return found
}

test('the browser entry bundles with no node: modules, Node built-ins or addon loader, under the size ceiling', async () => {
  const code = await bundle('src/browser.ts', 'esm')
  assert.deepEqual(nodeTies(code), [])
  const bytes = Buffer.byteLength(code)
  assert.ok(bytes < BUNDLE_CEILING_BYTES, `the browser bundle is ${bytes} bytes, over the ceiling of ${BUNDLE_CEILING_BYTES}`)
})

test('the check finds what it looks for (it is not vacuous)', async () => {
  assert.equal(nodeTies(await bundle('src/index.ts', 'esm', ['node:*'])).length > 0, true, 'the Node entry does tie to Node')
  assert.deepEqual(nodeTies('import{readFile as r}from"node:fs/promises";'), ['a node: module specifier: "\\"node:fs/promises\\""'])
  assert.equal(nodeTies('const b=require("bindings")("x.node")').length, 2)
  assert.equal(nodeTies('var f=require("fs")').length, 1)
})

test('the demo page and its worker bundle without Node either, and the worker only takes what it uses', async () => {
  assert.deepEqual(nodeTies(await bundle('web/app.ts', 'esm')), [], 'web/app.ts')
  const worker = await bundle('web/worker.ts', 'iife')
  assert.deepEqual(nodeTies(worker), [], 'web/worker.ts')
  const bytes = Buffer.byteLength(worker)
  assert.ok(bytes < WORKER_CEILING_BYTES, `the demo's worker bundle is ${bytes} bytes, over the ceiling of ${WORKER_CEILING_BYTES}`)
})

test('the bundle runs with no Node globals: the registry holds the reference backend only, and a model trains and samples', async () => {
  const code = await bundle('src/browser.ts', 'iife')
  // A bare V8 context, plus the two web APIs the model-file format uses (every browser has them).
  const sandbox: Record<string, unknown> = { TextEncoder, TextDecoder }
  runInNewContext(`${code};globalThis.recur = recur`, sandbox)
  assert.equal(runInNewContext('typeof process', sandbox), 'undefined')
  const recur = sandbox['recur'] as typeof import('../../src/browser.js')
  // (Values made in the sandbox have its Array and Object; copies compare with ours.)
  assert.deepEqual([...recur.backendNames()], ['reference'])
  const kernels = await recur.resolveBackend()
  assert.equal(kernels.name, 'reference')
  const statuses = await recur.backendStatus()
  assert.deepEqual(statuses.map((s) => `${s.name}: ${s.state}`).join(), 'reference: ready')

  const text = 'the cat sat on the mat. '.repeat(20)
  const tokens = recur.tokenize(text, { level: 'char' })
  const vocabulary = recur.Vocabulary.build(tokens)
  const model = new recur.LanguageModel(kernels, { ...recur.defaultArchitecture(vocabulary.size), layers: 1, hidden: 8 })
  const trainer = new recur.LanguageModelTrainer(model, vocabulary.encode(tokens), { batch: 2, seqLength: 8, steps: 5 })
  for (let i = 0; i < 5; i++) trainer.trainStep()
  assert.ok(Number.isFinite(await trainer.readLoss()))
  const bytes = await recur.encodeLanguageModel({ model, vocabulary, tokenizer: recur.defaultTokenizerOptions('char'), training: null, validationIds: null })
  const loaded = recur.decodeLanguageModel(bytes, kernels)
  const ids: number[] = []
  for await (const id of recur.sampleTokens(loaded.model, loaded.vocabulary, { length: 10, seed: 3 })) ids.push(id)
  assert.ok(ids.length > 0)
})

test("package.json sends bundlers to the browser entry, and Node to index.js with its types", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const dot = pkg.exports['.'] as Record<string, unknown>
  assert.deepEqual(Object.keys(dot), ['browser', 'types', 'default'], 'browser first: conditions are tried in order')
  assert.deepEqual(dot['browser'], { types: './dist/browser.d.ts', default: './dist/browser.js' })
  assert.equal(dot['types'], './dist/index.d.ts')
  assert.equal(dot['default'], './dist/index.js')
})

/** The runtime names each `export { ... } from '...'` statement of a module re-exports, by module. */
function reExports(path: string): Map<string, string[]> {
  const source = readFileSync(path, 'utf8')
  const byModule = new Map<string, string[]>()
  for (const match of source.matchAll(/^export\s*\{([^}]*)\}\s*from\s*'([^']+)'/gm)) {
    const names = match[1]!.split(',').map((part) => part.trim()).filter((part) => part !== '' && !part.startsWith('type '))
    byModule.set(match[2]!, [...(byModule.get(match[2]!) ?? []), ...names.map((name) => name.split(/\s+as\s+/).at(-1)!)])
  }
  return byModule
}

/** Whether a module bundles for the browser, i.e. reaches no node: module. */
async function bundlesForBrowser(path: string): Promise<boolean> {
  try {
    await build({ entryPoints: [path], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent' })
    return true
  } catch {
    return false
  }
}

/**
 * Modules a browser could load that the browser entry leaves out on purpose, and why.
 * - io/onnx.js: its encoder, the CommonJS package onnx-proto (protobufjs), is about 120 KB
 *   minified, and bundlers keep a CommonJS module whether or not it is used, so every page that
 *   imports recur would carry it.
 */
const LEFT_OUT = new Set(['./io/onnx.js'])

test('the browser entry offers every public name of index.ts that comes from a module a browser can load', async () => {
  const missing: string[] = []
  const nodeOnly: string[] = []
  const browser = await import('../../src/browser.js')
  for (const [specifier, names] of reExports(join(root, 'src', 'index.ts'))) {
    const left = names.filter((name) => !(name in browser))
    if (left.length === 0 || LEFT_OUT.has(specifier)) continue
    if (await bundlesForBrowser(join(root, 'src', specifier.replace(/\.js$/, '.ts')))) missing.push(`${left.join(', ')} (${specifier})`)
    else nodeOnly.push(specifier)
  }
  assert.deepEqual(missing, [], 'browser-safe exports of index.ts missing from src/browser.ts')
  // What it leaves out today, and why: corpus files, model files on disk, the file-based task pipeline.
  for (const specifier of ['./text/corpus.js', './io/model-file.js']) assert.ok(nodeOnly.includes(specifier), specifier)
})
