/**
 * What a training run on Node needs around its checkpoints (the file itself is written atomically
 * by `saveModelFile`, `../io/model-file.ts`):
 *
 * - `prepareOutput`: the model's folder is created and checked for writing before the first step,
 *   so an unwritable path fails in a second with a clear message, not at the first checkpoint
 *   hours later; temporary files that killed saves of the same model left behind are removed.
 * - `betweenSteps`: one turn of the event loop, so a SIGINT / SIGTERM handler runs between steps
 *   (a loop of synchronous kernels and already-resolved reads would otherwise never let it run),
 *   and the run stops after the step with a checkpoint.
 */
import { constants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'

import { RecurError } from '../errors.js'
import { removeStaleSaveFiles } from '../io/model-file.js'

/**
 * Creates the folder of the model file `path` and checks that it can be written; removes stale
 * temporary files of earlier saves of `path`. @throws RecurError 'FILE' naming the folder and the fix.
 */
export async function prepareOutput(path: string): Promise<void> {
  const folder = dirname(path) || '.'
  try {
    await mkdir(folder, { recursive: true })
    await access(folder, constants.W_OK)
  } catch (error) {
    throw outputError(path, folder, error)
  }
  await removeStaleSaveFiles(path)
}

/** Lets pending events (signals, I/O callbacks) run; resolves on the next turn of the event loop. */
export function betweenSteps(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function outputError(path: string, folder: string, error: unknown): RecurError {
  const code = (error as NodeJS.ErrnoException | null)?.code
  const where = `cannot save the model to ${path}`
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new RecurError('FILE', `${where}: the folder ${folder} is not writable (${code})`, `Choose another --out, or make ${folder} writable`)
    case 'EROFS':
      return new RecurError('FILE', `${where}: ${folder} is on a read-only file system (EROFS)`, 'Choose an --out on a writable disk')
    case 'ENOTDIR':
    case 'EEXIST':
      return new RecurError('FILE', `${where}: a part of the folder ${folder} is a file, not a folder (${code})`, 'Choose another --out')
    case 'ENOSPC':
      return new RecurError('FILE', `${where}: no space left on the device (ENOSPC)`, 'Free some disk space, or choose an --out on another disk')
    default:
      return new RecurError('FILE', `${where}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, 'Choose another --out')
  }
}
