/**
 * SIGINT and SIGTERM stop a training run after the step in progress, with a checkpoint: `recur
 * train` (language model) and `recur classify train` (the sequence tasks share their loop with
 * tag and translate), each run as a real child process that receives the signal while training.
 * The exit code is 128 + the signal's number, as shells report a process a signal ended: 130 for
 * SIGINT, 143 for SIGTERM.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { Random } from '../../src/random.js'
import { readTrainingLog } from '../../src/train/log.js'
import { syntheticCorpus } from '../helpers/lm.js'
import { logRecords, spawnRecur, stackLines, until } from './spawn-recur.js'

let dir: string
let corpus: string
let dataset: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-signals-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(150))
  dataset = join(dir, 'train.jsonl')
  const random = new Random(3)
  const words = ['the', 'cat', 'dog', 'sat', 'ran', 'mat']
  const lines = Array.from({ length: 40 }, () => {
    const text = Array.from({ length: 3 + random.int(4) }, () => words[random.int(words.length)]!).join(' ')
    return JSON.stringify({ text, label: text.includes('cat') ? 'cat' : 'other' })
  })
  writeFileSync(dataset, `${lines.join('\n')}\n`)
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** Starts a long run, waits until it has logged `records` steps, sends `signal` (`times` times), and returns how it ended. */
async function signalDuringTraining(argv: string[], logPath: string, signal: NodeJS.Signals, records = 3, times = 1) {
  const child = spawnRecur(argv)
  if (!(await until(child, () => logRecords(logPath) >= records))) assert.fail(`the run ended before it was signalled: ${(await child.exited).err}`)
  for (let n = 0; n < times; n++) child.process.kill(signal)
  // A hang guard, not a timing check: a run that ignores the signal would go on for hours.
  const guard = setTimeout(() => child.process.kill('SIGKILL'), 120_000)
  const exit = await child.exited
  clearTimeout(guard)
  assert.notEqual(exit.signal, 'SIGKILL', `the run did not stop on ${signal}`)
  return exit
}

/** The exit code of a run that a signal stopped: 128 + its number. */
const EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const

/** The step a model file was saved at: `training.step` (language model) or `training.trainedSteps` (tasks). */
function trainedStep(path: string): unknown {
  const training = (decodeModelFile(readFileSync(path)).meta as { training: Record<string, unknown> }).training
  return training['step'] ?? training['trainedSteps']
}

describe('recur train: a signal saves a checkpoint and exits 128 + its number', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(signal, async () => {
      const out = join(dir, `lm-${signal}`, 'model.recur')
      const logPath = join(dir, `lm-${signal}`, 'model.log.csv')
      const argv = ['train', '--corpus', corpus, '--layers', '1', '--hidden', '8', '--batch', '2', '--seq-length', '8', '--steps', '1000000', '--checkpoint-every', '0', '--sample-every', '0', '--val-every', '0', '--out', out]
      const exit = await signalDuringTraining(argv, logPath, signal)
      assert.equal(exit.code, EXIT_CODE[signal], exit.err)
      assert.match(exit.err, /Interrupted: checkpoint saved\./)
      assert.deepEqual(stackLines(exit.err), [])
      // The checkpoint holds the last step the log recorded: nothing done was lost.
      const steps = readTrainingLog(logPath).records.map((r) => r.step)
      assert.ok(steps.length >= 3)
      assert.equal(trainedStep(out), steps.at(-1))
    })
  }
})

test('recur train: a second SIGTERM quits at once, also with 143', async () => {
  const out = join(dir, 'lm-twice', 'model.recur')
  const logPath = join(dir, 'lm-twice', 'model.log.csv')
  const argv = ['train', '--corpus', corpus, '--layers', '1', '--hidden', '8', '--batch', '2', '--seq-length', '8', '--steps', '1000000', '--checkpoint-every', '0', '--sample-every', '0', '--val-every', '0', '--out', out]
  // Whether the second arrives before the first has stopped the run or not, the code is SIGTERM's.
  const exit = await signalDuringTraining(argv, logPath, 'SIGTERM', 3, 2)
  assert.equal(exit.code, EXIT_CODE.SIGTERM, exit.err)
  assert.deepEqual(stackLines(exit.err), [])
})

describe('recur classify train: a signal saves the model and exits 128 + its number', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(signal, async () => {
      const out = join(dir, `classify-${signal}`, 'model.recur')
      const logPath = join(dir, `classify-${signal}`, 'model.log.csv')
      const argv = ['classify', 'train', '--data', dataset, '--hidden', '8', '--embedding', '4', '--batch', '4', '--steps', '1000000', '--checkpoint-every', '0', '--val-fraction', '0', '--out', out]
      const exit = await signalDuringTraining(argv, logPath, signal)
      assert.equal(exit.code, EXIT_CODE[signal], exit.err)
      assert.match(exit.err, /Interrupted: the model so far is saved\./)
      assert.deepEqual(stackLines(exit.err), [])
      const steps = readTrainingLog(logPath).records.map((r) => r.step)
      assert.equal(trainedStep(out), steps.at(-1))
    })
  }
})
