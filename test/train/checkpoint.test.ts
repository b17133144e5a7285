/**
 * The file side of resuming a killed run: the output folder checked before training
 * (`prepareOutput`), temporary files of killed saves removed (`removeStaleSaveFiles`), and the
 * training log cut back to the checkpoint's step (`dropAfterStep`), so replayed steps are not
 * logged twice.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { removeStaleSaveFiles } from '../../src/io/model-file.js'
import { prepareOutput } from '../../src/train/checkpoint.js'
import { readTrainingLog, TrainingLogWriter } from '../../src/train/log.js'
import { expectRecurError } from '../helpers/lm.js'

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-checkpoint-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0'])
  return child.pid!
}

describe('the training log of a resumed run', () => {
  for (const extension of ['csv', 'jsonl']) {
    test(`${extension}: records after the checkpoint's step are cut off on opening, then appending goes on`, () => {
      const path = join(dir, `resumed.${extension}`)
      const log = new TrainingLogWriter(path)
      for (let step = 1; step <= 6; step++) log.append({ step, time: step / 10, loss: 2 - step / 10, lr: 0.01, tokensPerSecond: 100 })
      log.close()
      appendFileSync(path, extension === 'csv' ? '7,0.7,1.3' : '{"step":7,"ti') // a line cut by a kill
      const resumed = new TrainingLogWriter(path, { dropAfterStep: 3 })
      resumed.append({ step: 4, time: 0.4, loss: 1.6, lr: 0.01, tokensPerSecond: 100 })
      resumed.close()
      const read = readTrainingLog(path)
      assert.deepEqual(read.records.map((r) => r.step), [1, 2, 3, 4])
      assert.equal(read.truncatedLastLine, false)
    })
  }

  test('a log with no records past the step is left as it is', () => {
    const path = join(dir, 'short.csv')
    const log = new TrainingLogWriter(path)
    log.append({ step: 1, time: 0.1, loss: 2, lr: 0.01, tokensPerSecond: 100 })
    log.close()
    new TrainingLogWriter(path, { dropAfterStep: 5 }).close()
    assert.deepEqual(readTrainingLog(path).records.map((r) => r.step), [1])
  })
})

describe('temporary files of killed saves', () => {
  test("removeStaleSaveFiles removes the model's temporary files of processes that have exited, and nothing else", async () => {
    const folder = mkdtempSync(join(dir, 'stale-'))
    const dead = deadPid()
    const names = [
      'model.recur',
      `.model.recur.tmp-${dead}-0123456789ab`, // stale: removed
      `.model.recur.tmp-${process.pid}-0123456789ab`, // a save in progress in this process: kept
      `.other.recur.tmp-${dead}-0123456789ab`, // another model's: kept
      `.model.recur.tmp-${dead}-not-hex`, // not a name saveModelFile writes: kept
    ]
    for (const name of names) writeFileSync(join(folder, name), 'x')
    assert.deepEqual(await removeStaleSaveFiles(join(folder, 'model.recur')), [names[1]])
    assert.deepEqual(readdirSync(folder).sort(), [names[0], names[2], names[3], names[4]].sort())
  })

  test('prepareOutput creates the folder, removes stale temporary files, and refuses a folder that is a file', async () => {
    const out = join(dir, 'new', 'deeper', 'model.recur')
    await prepareOutput(out)
    assert.ok(existsSync(join(dir, 'new', 'deeper')))
    const stale = join(dir, 'new', 'deeper', `.model.recur.tmp-${deadPid()}-00000000000f`)
    writeFileSync(stale, 'half a model')
    await prepareOutput(out)
    assert.equal(existsSync(stale), false)

    writeFileSync(join(dir, 'plain-file'), 'x')
    await expectRecurError(() => prepareOutput(join(dir, 'plain-file', 'model.recur')), 'FILE', /cannot save the model to .*: a part of the folder .* is a file, not a folder/)
  })
})
