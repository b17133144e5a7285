/**
 * The Node file layer for recur's model file (the format itself is in `model-format.ts`).
 *
 * `saveModelFile` never leaves a half-written model behind: it writes a temporary file
 * `.<name>.tmp-<pid>-<random>` in the target's directory, fsyncs and closes it, renames it over the
 * target (atomic on POSIX file systems) and fsyncs the directory so the rename itself is durable.
 * On any failure the temporary file is removed, a previous file at the target is left as it was,
 * and a one-line RecurError 'FILE' names the path, the cause and what to do.
 *
 * File system calls go through the `fs.promises` object (not named imports) so tests can simulate
 * failures such as a full disk, which cannot be provoked for real without mounting a file system.
 */

import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

import { RecurError } from '../errors.js'
import { decodeModelFile, encodeModelFile } from './model-format.js'
import type { DecodedModelFile, ModelFileInput } from './model-format.js'

export interface LoadModelFileOptions {
  /** Refuse (code 'VERSION') a file whose kind differs, e.g. 'language-model'. */
  expectKind?: string | undefined
}

/**
 * Encodes `model` and writes it to `path` atomically. Encoding problems throw before anything is
 * written ('SHAPE' / 'FORMAT', see `encodeModelFile`); file system problems throw 'FILE'.
 * A symbolic link at `path` is followed: its target is replaced, the link is kept.
 */
export async function saveModelFile(path: string, model: ModelFileInput): Promise<void> {
  const bytes = encodeModelFile(model)
  const target = await resolveLink(path)
  const directory = dirname(target)
  const temporary = join(directory, `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)

  let handle: Awaited<ReturnType<typeof fs.open>> | undefined
  let created = false
  try {
    handle = await fs.open(temporary, 'wx') // 'x': never reuse a file that is not ours
    created = true
    await handle.writeFile(bytes)
    await handle.sync()
    await handle.close()
    handle = undefined
    await fs.rename(temporary, target)
    created = false // it is the target now
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined)
    if (created) await fs.unlink(temporary).catch(() => undefined)
    throw saveError(path, directory, error)
  }
  await syncDirectory(path, directory)
}

/**
 * Reads and decodes the model file at `path`. A missing or unreadable file throws 'FILE'; a file
 * that is not a valid model throws 'FORMAT' or 'VERSION' (see `decodeModelFile`), naming `path`.
 */
export async function loadModelFile(path: string, options: LoadModelFileOptions = {}): Promise<DecodedModelFile> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(path)
  } catch (error) {
    throw loadError(path, error)
  }
  return decodeModelFile(bytes, { expectKind: options.expectKind, source: path })
}

/**
 * Removes the temporary files that saves of `path` left behind in processes that are no longer
 * running (a process killed in the middle of a save cannot remove its own); those of a running
 * process are kept. Returns the names removed. Only tidies up: a folder it cannot read is ignored.
 */
export async function removeStaleSaveFiles(path: string): Promise<string[]> {
  const target = await resolveLink(path)
  const directory = dirname(target)
  const prefix = `.${basename(target)}.tmp-`
  let names: string[]
  try {
    names = await fs.readdir(directory)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const owner = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length)) : null
    if (owner === null || isRunning(Number(owner[1]))) continue
    try {
      await fs.unlink(join(directory, name))
      removed.push(name)
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed
}

/** Whether a process with this id exists (EPERM: it does, under another user). */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/** The file a symbolic link at `path` points to, or `path` itself (also when it does not exist yet). */
async function resolveLink(path: string): Promise<string> {
  try {
    return await fs.realpath(path)
  } catch {
    return resolve(path)
  }
}

/** Makes the rename durable. File systems (and platforms) that cannot sync a directory are skipped. */
async function syncDirectory(path: string, directory: string): Promise<void> {
  if (process.platform === 'win32') return
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined
  try {
    handle = await fs.open(directory, 'r')
    await handle.sync()
  } catch (error) {
    const code = errorCode(error)
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'EBADF') {
      throw new RecurError(
        'FILE',
        `model file ${path} was written but its directory could not be flushed to disk: ${causeOf(error)}`,
        'Check the disk, then save again',
      )
    }
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

function saveError(path: string, directory: string, error: unknown): RecurError {
  const code = errorCode(error)
  const message = `cannot save model file ${path}: ${causeOf(error)}`
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new RecurError('FILE', message, 'Free some disk space and save again')
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new RecurError('FILE', message, `Choose a writable path, or make ${directory} writable`)
    case 'ENOENT':
      return new RecurError('FILE', message, `Create the directory ${directory} first`)
    case 'ENOTDIR':
      return new RecurError('FILE', message, 'Choose a path inside an existing directory')
    case 'EISDIR':
      return new RecurError('FILE', message, 'Give a file path, e.g. one inside that directory')
    case 'ENAMETOOLONG':
      return new RecurError('FILE', message, 'Choose a shorter file name')
    default:
      return new RecurError('FILE', message)
  }
}

function loadError(path: string, error: unknown): RecurError {
  const code = errorCode(error)
  const message = `cannot load model file ${path}: ${causeOf(error)}`
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new RecurError('FILE', message, 'Check the path; a model file is written when a model is saved')
    case 'EISDIR':
      return new RecurError('FILE', message, 'Give the path of the model file inside it')
    case 'EACCES':
    case 'EPERM':
      return new RecurError('FILE', message, "Check the file's permissions")
    case 'ERR_FS_FILE_TOO_LARGE':
      return new RecurError('FILE', message, 'The file is larger than Node can read into one buffer (2 GiB)')
    default:
      return new RecurError('FILE', message)
  }
}

const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EROFS: 'read-only file system (EROFS)',
  ENOENT: 'no such file or directory (ENOENT)',
  ENOTDIR: 'a parent in the path is not a directory (ENOTDIR)',
  EISDIR: 'it is a directory (EISDIR)',
  ENAMETOOLONG: 'the file name is too long (ENAMETOOLONG)',
  EIO: 'input/output error (EIO)',
  ERR_FS_FILE_TOO_LARGE: 'the file is too large to read (ERR_FS_FILE_TOO_LARGE)',
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code
  return undefined
}

/** One line: our wording for common codes (Node's messages name the temporary file), else Node's first line. */
function causeOf(error: unknown): string {
  const code = errorCode(error)
  if (code !== undefined && Object.hasOwn(CAUSES, code)) return CAUSES[code]!
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0] ?? text
}
