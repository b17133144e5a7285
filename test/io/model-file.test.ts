import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import type { RecurErrorCode } from '../../src/errors.js'
import { loadModelFile, saveModelFile } from '../../src/io/model-file.js'
import type { ModelFileInput } from '../../src/io/model-format.js'

async function assertRejected(run: () => Promise<unknown>, code: RecurErrorCode, ...patterns: RegExp[]): Promise<RecurError> {
  let caught: unknown
  try {
    await run()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RecurError, `expected a RecurError, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  for (const pattern of patterns) assert.match(caught.message, pattern)
  assert.ok(!caught.message.includes('\n'), 'messages are one line')
  return caught
}

function model(step: number): ModelFileInput {
  return {
    kind: 'language-model',
    meta: { step },
    tensors: [{ name: 'w', shape: [2, 2], data: new Float32Array([step, -0, 0.5, -1e-40]) }],
  }
}

/** Names in `directory` that look like our temporary files. */
async function temporaryFiles(directory: string): Promise<string[]> {
  return (await fs.readdir(directory)).filter((name) => name.includes('.tmp-'))
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

let root = ''
before(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'recur-model-file-'))
})
after(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

describe('saveModelFile / loadModelFile', () => {
  test('round trip, leaving no temporary files', async () => {
    const directory = await fs.mkdtemp(join(root, 'save-'))
    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
    const loaded = await loadModelFile(path, { expectKind: 'language-model' })
    assert.deepEqual(loaded.meta, { step: 1 })
    assert.deepEqual(loaded.tensors.get('w')?.shape, [2, 2])
    assert.ok(Object.is(loaded.tensors.get('w')?.data[1], -0))
  })

  test('overwriting replaces the file and leaves no temporary files', async () => {
    const directory = await fs.mkdtemp(join(root, 'overwrite-'))
    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    await saveModelFile(path, model(2))
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
    assert.deepEqual((await loadModelFile(path)).meta, { step: 2 })
  })

  test('a symbolic link is followed and kept', async () => {
    const directory = await fs.mkdtemp(join(root, 'link-'))
    const target = join(directory, 'real.recur')
    const link = join(directory, 'link.recur')
    await saveModelFile(target, model(1))
    await fs.symlink(target, link)
    await saveModelFile(link, model(2))
    assert.ok((await fs.lstat(link)).isSymbolicLink())
    assert.deepEqual((await loadModelFile(target)).meta, { step: 2 })
    assert.deepEqual(await temporaryFiles(directory), [])
  })

  test('a failed write (simulated full disk) keeps the previous file and removes the temporary file', async (t) => {
    const directory = await fs.mkdtemp(join(root, 'enospc-'))
    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    const before = await fs.readFile(path)
    const realOpen = fs.open.bind(fs)
    t.mock.method(fs, 'open', async (...args: Parameters<typeof fs.open>) => {
      const handle = await realOpen(...args)
      handle.writeFile = async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      }
      return handle
    })
    await assertRejected(() => saveModelFile(path, model(2)), 'FILE', new RegExp(escape(path)), /no space left/, /Free some disk space/)
    t.mock.restoreAll()
    assert.deepEqual(await fs.readFile(path), before)
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
  })

  test('a failed rename keeps the previous file and removes the temporary file', async (t) => {
    const directory = await fs.mkdtemp(join(root, 'rename-'))
    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    t.mock.method(fs, 'rename', async () => {
      throw Object.assign(new Error('EACCES: permission denied, rename'), { code: 'EACCES' })
    })
    await assertRejected(() => saveModelFile(path, model(2)), 'FILE', /permission denied/, /Choose a writable path/)
    t.mock.restoreAll()
    assert.deepEqual((await loadModelFile(path)).meta, { step: 1 })
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
  })

  test('saving over a directory fails (also as root) and leaves it intact', async () => {
    const directory = await fs.mkdtemp(join(root, 'isdir-'))
    const path = join(directory, 'lm.recur')
    await fs.mkdir(path)
    await fs.writeFile(join(path, 'keep.txt'), 'keep')
    await assertRejected(() => saveModelFile(path, model(1)), 'FILE', new RegExp(escape(path)), /directory/)
    assert.equal(await fs.readFile(join(path, 'keep.txt'), 'utf8'), 'keep')
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
  })

  test('a parent that is a file fails (also as root) and leaves the file intact', async () => {
    const directory = await fs.mkdtemp(join(root, 'notdir-'))
    const parent = join(directory, 'plain.txt')
    await fs.writeFile(parent, 'plain')
    await assertRejected(() => saveModelFile(join(parent, 'lm.recur'), model(1)), 'FILE', /not a directory/)
    assert.equal(await fs.readFile(parent, 'utf8'), 'plain')
    assert.deepEqual(await fs.readdir(directory), ['plain.txt'])
  })

  test('a missing directory says to create it', async () => {
    const missing = join(root, 'no-such-directory')
    await assertRejected(() => saveModelFile(join(missing, 'lm.recur'), model(1)), 'FILE', /no such file or directory/, /Create the directory/)
    await assert.rejects(fs.access(missing))
  })

  test('an unwritable directory fails and keeps the previous file (skipped as root)', async (t) => {
    if (process.getuid?.() === 0 || process.platform === 'win32') {
      t.skip('root can write anywhere; the simulated cases above cover this path')
      return
    }
    const directory = await fs.mkdtemp(join(root, 'readonly-'))
    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    await fs.chmod(directory, 0o555)
    try {
      await assertRejected(() => saveModelFile(path, model(2)), 'FILE', /permission denied/, /Choose a writable path/)
    } finally {
      await fs.chmod(directory, 0o755)
    }
    assert.deepEqual((await loadModelFile(path)).meta, { step: 1 })
    assert.deepEqual(await fs.readdir(directory), ['lm.recur'])
  })

  test('a model that cannot be encoded writes nothing', async () => {
    const directory = await fs.mkdtemp(join(root, 'encode-'))
    const bad: ModelFileInput = { kind: 'k', meta: null, tensors: [{ name: 'w', shape: [3], data: new Float32Array(2) }] }
    await assertRejected(() => saveModelFile(join(directory, 'lm.recur'), bad), 'SHAPE')
    assert.deepEqual(await fs.readdir(directory), [])
  })

  test('loading a missing file, a directory, a corrupt file and another kind', async () => {
    const directory = await fs.mkdtemp(join(root, 'load-'))
    const missing = join(directory, 'missing.recur')
    await assertRejected(() => loadModelFile(missing), 'FILE', new RegExp(escape(missing)), /Check the path/)
    await assertRejected(() => loadModelFile(directory), 'FILE', /directory/)

    const path = join(directory, 'lm.recur')
    await saveModelFile(path, model(1))
    const bytes = await fs.readFile(path)
    bytes[bytes.length - 1]! ^= 1
    const corrupt = join(directory, 'corrupt.recur')
    await fs.writeFile(corrupt, bytes)
    await assertRejected(() => loadModelFile(corrupt), 'FORMAT', new RegExp(escape(corrupt)), /checksum mismatch/)
    await fs.writeFile(corrupt, bytes.subarray(0, 100))
    await assertRejected(() => loadModelFile(corrupt), 'FORMAT', new RegExp(escape(corrupt)), /truncated/)
    await assertRejected(() => loadModelFile(path, { expectKind: 'classifier' }), 'VERSION', new RegExp(escape(path)), /classifier/)
  })
})
