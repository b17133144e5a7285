/**
 * `npm run demo`: builds the browser demo (scripts/build-web.mjs) and serves it on localhost with a
 * small static file server (node:http, no dependencies), then prints the address.
 *
 *   node scripts/serve-demo.mjs [--port 8080] [--host 127.0.0.1]
 *
 * When the port is taken, the next free one is used. `serveFolder` is also what the end-to-end
 * tests and scripts/screenshots.ts serve the built page with (on a port the system picks).
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, relative, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { buildDemo } from './build-web.mjs'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.recur': 'application/octet-stream',
}

/** The file under `folder` that a request path names, or null for a path outside it. */
function fileFor(folder, urlPath) {
  let path
  try {
    path = decodeURIComponent(urlPath.split('?')[0])
  } catch {
    return null
  }
  if (path.endsWith('/')) path += 'index.html'
  const file = resolve(folder, `.${path}`)
  return file === folder || file.startsWith(folder + sep) ? file : null
}

/**
 * Serves the files of `folder` on http://host:port/ (port 0: any free port).
 * @param {{ folder: string, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function serveFolder(options) {
  const folder = resolve(options.folder)
  const host = options.host ?? '127.0.0.1'
  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const file = fileFor(folder, request.url ?? '/')
    const info = file === null ? null : await stat(file).catch(() => null)
    if (file === null || info === null || !info.isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n')
      return
    }
    response.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
    if (request.method === 'HEAD') response.end()
    else createReadStream(file).pipe(response)
  })
  const port = await new Promise((resolvePort, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolvePort(server.address().port)
    })
  })
  const close = () => new Promise((done) => {
    server.closeAllConnections()
    server.close(() => done())
  })
  const shown = host.includes(':') ? `[${host}]` : host
  return { url: `http://${shown}:${port}/`, port, close }
}

async function main() {
  const { values } = parseArgs({ options: { port: { type: 'string', short: 'p', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } })
  const first = Number(values.port)
  if (!Number.isInteger(first) || first < 0 || first > 65535) throw new Error(`--port must be a port number, got ${values.port}`)
  const { outdir } = await buildDemo()
  for (let port = first; ; port++) {
    try {
      const { url } = await serveFolder({ folder: outdir, port, host: values.host })
      process.stdout.write(`recur demo: serving ${relative(process.cwd(), outdir) || '.'} at ${url}\nOpen it in a browser; Ctrl-C stops the server.\n`)
      return
    } catch (error) {
      if (error.code !== 'EADDRINUSE' || first === 0 || port - first >= 20) throw error
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`recur demo: ${error.message}\n`)
    process.exit(1)
  })
}
