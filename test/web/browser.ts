/**
 * The demo page in Debian's Chromium, for the end-to-end tests and scripts/screenshots.ts: builds
 * the page into a temporary folder, serves it on a free localhost port, and opens it with a fresh
 * profile. Every console error, uncaught page or worker exception, failed request and HTTP error
 * is collected in `problems`, so a test can require that there were none.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const CHROMIUM = '/usr/bin/chromium'
/** The flags the project runs Chromium with (headless, in a container, with no network beyond localhost). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
/**
 * Added to give the page WebGPU without a GPU: Chromium's SwiftShader adapter. (With CHROMIUM_ARGS
 * alone navigator.gpu exists but offers no adapter, so the page falls back to the reference backend.)
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader']

interface BuildWeb {
  buildDemo(options: { outdir?: string; minify?: boolean }): Promise<{ outdir: string; sizes: Record<string, number> }>
}
interface ServeDemo {
  serveFolder(options: { folder: string; port?: number; host?: string }): Promise<{ url: string; port: number; close(): Promise<void> }>
}

/** The build and serve scripts are plain .mjs (run by `npm run demo` without a compiler); these are their shapes. */
export async function demoScripts(): Promise<BuildWeb & ServeDemo> {
  const build = (await import(pathToFileURL(join(root, 'scripts', 'build-web.mjs')).href)) as BuildWeb
  const serve = (await import(pathToFileURL(join(root, 'scripts', 'serve-demo.mjs')).href)) as ServeDemo
  return { buildDemo: build.buildDemo, serveFolder: serve.serveFolder }
}

export interface DemoBrowser {
  context: BrowserContext
  page: Page
  url: string
  /** Console errors, uncaught exceptions and failed requests, in the order they came. */
  problems: string[]
  /** Scratch folder (profile, downloads) removed by close. */
  scratch: string
  close(): Promise<void>
}

/**
 * Builds and serves the demo and opens it in Chromium (with `extraArgs` added to its flags). Throws,
 * rather than skipping, when Chromium is missing: CI installs it (`.ci/run`), and a machine without it cannot pass these tests.
 */
export async function openDemo(viewport = { width: 1280, height: 900 }, deviceScaleFactor = 1, extraArgs: readonly string[] = []): Promise<DemoBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with: apt-get install -y --no-install-recommends chromium`)
  }
  const scratch = mkdtempSync(join(tmpdir(), 'recur-web-'))
  const { buildDemo, serveFolder } = await demoScripts()
  const { outdir } = await buildDemo({ outdir: join(scratch, 'site') })
  const server = await serveFolder({ folder: outdir })
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
      executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], viewport, deviceScaleFactor, acceptDownloads: true,
    })
  } catch (error) {
    await server.close()
    rmSync(scratch, { recursive: true, force: true })
    throw error
  }
  const problems: string[] = []
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('worker', (worker) => worker.on('console', (message) => {
    if (message.type() === 'error') problems.push(`worker console error: ${message.text()}`)
  }))
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`))
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`)
  })
  await page.goto(server.url)
  // Ready: the worker has started its backend and the default text is in the box.
  // (Page functions are given as strings: the tests are type-checked without the DOM library.)
  await page.waitForFunction("document.querySelector('#status').dataset.state === 'idle' && document.querySelector('#text').value.length > 0")
  return {
    context, page, url: server.url, problems, scratch,
    async close() {
      await context.close()
      await server.close()
      rmSync(scratch, { recursive: true, force: true })
    },
  }
}

/** The number shown in a stat box ('1,234' -> 1234; '–' -> NaN). */
export async function statValue(page: Page, id: string): Promise<number> {
  const text = (await page.textContent(`#${id}`)) ?? ''
  return Number(text.replace(/,/g, ''))
}
