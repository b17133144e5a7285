/**
 * Early stopping survives a checkpoint: `recur train --patience N` keeps the best validation loss
 * and the validations since it improved in the trainer's state, so a run stopped after some
 * validations (Ctrl-C) and resumed with --resume stops at the same step, with the same weights,
 * as a run that never stopped. Files without those counters (written before them) still load and
 * resume, counting afresh; damaged counters are refused. In this process, on the reference backend.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { decodeModelFile, encodeModelFile, type ModelTensor } from '../../src/io/model-format.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { readTrainingLog } from '../../src/train/log.js'
import { assertSameTensors, f32, runCli, stackLines, syntheticCorpus, type CliResult } from '../helpers/lm.js'

let dir: string
let corpus: string

// A small model at a high learning rate: its validation loss stops improving within ~100 steps.
const settings = [
  '--layers', '1', '--hidden', '8', '--batch', '2', '--seq-length', '8', '--seed', '3', '--lr', '0.1', '--schedule', 'constant',
  '--steps', '400', '--val-every', '4', '--patience', '3', '--val-fraction', '0.2', '--sample-every', '0', '--checkpoint-every', '0',
]

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-early-stop-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(60))
})
after(() => rmSync(dir, { recursive: true, force: true }))

function summary(result: CliResult, what: string): { steps: number; stopped: string } {
  assert.equal(result.code, 0, `${what} exited ${result.code}: ${result.err}`)
  assert.deepEqual(stackLines(result.out + result.err), [])
  return JSON.parse(result.out) as { steps: number; stopped: string }
}

/** Every tensor of a model file, by name. */
function tensors(path: string): Map<string, Float32Array | Int32Array> {
  return new Map([...decodeModelFile(readFileSync(path)).tensors].map(([name, t]) => [name, t.data]))
}

/** A Ctrl-C that arrives during step `step` (the loop checks the flag once after each step). */
function interruptAfter(step: number): { value: boolean } {
  let checks = 0
  return {
    get value() {
      return ++checks >= step
    },
  }
}

/** The checkpoint at `path` with its training record changed by `edit`. */
function editTraining(path: string, edit: (training: Record<string, unknown>) => void): Uint8Array {
  const file = decodeModelFile(readFileSync(path))
  const meta = file.meta as Record<string, unknown>
  const training = { ...(meta['training'] as Record<string, unknown>) }
  edit(training)
  const tensors: ModelTensor[] = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))
  return encodeModelFile({ kind: file.kind, meta: { ...meta, training }, tensors })
}

describe('recur train --patience across --resume', () => {
  let straight: string
  let stopStep: number

  before(async () => {
    straight = join(dir, 'straight', 'model.recur')
    const s = summary(await runCli(['train', '--corpus', corpus, ...settings, '--json', '--out', straight]), 'uninterrupted run')
    assert.match(s.stopped, /^early stop/, 'the uninterrupted run must stop early for this test to mean anything')
    stopStep = s.steps
  })

  for (const [name, before] of [['at the validation before the stop', 4], ['between two validations', 5], ['two validations before the stop', 8]] as const) {
    test(`stopped ${name} and resumed: the same stopping step and weights`, async () => {
      const out = join(dir, `stopped-${before}`, 'model.recur')
      const stoppedAt = stopStep - before
      const first = await runCli(['train', '--corpus', corpus, ...settings, '--json', '--out', out], { interrupted: interruptAfter(stoppedAt) })
      assert.equal(first.code, 130, first.err)
      assert.equal((JSON.parse(first.out) as { steps: number }).steps, stoppedAt)
      const saved = (decodeModelFile(readFileSync(out)).meta as { training: { earlyStopping?: { sinceBest: number } } }).training
      assert.ok(saved.earlyStopping !== undefined, 'the checkpoint holds the counters')
      const resumed = summary(await runCli(['train', '--resume', out, '--out', out, '--json']), 'resumed run')
      assert.equal(resumed.steps, stopStep)
      assert.match(resumed.stopped, /^early stop/)
      assertSameTensors(tensors(out), tensors(straight), 'resumed vs uninterrupted')
      assert.deepEqual(readTrainingLog(join(dir, `stopped-${before}`, 'model.log.csv')).records.map((r) => r.valLoss), readTrainingLog(join(dir, 'straight', 'model.log.csv')).records.map((r) => r.valLoss))
    })
  }

  test('a checkpoint without the counters (an older file) resumes, counting afresh', async () => {
    const out = join(dir, 'old', 'model.recur')
    assert.equal((await runCli(['train', '--corpus', corpus, ...settings, '--json', '--out', out], { interrupted: interruptAfter(stopStep - 4) })).code, 130)
    writeFileSync(out, editTraining(out, (training) => delete training['earlyStopping']))
    assert.equal(decodeLanguageModel(readFileSync(out), f32()).trainerState?.earlyStopping, undefined)
    const resumed = summary(await runCli(['train', '--resume', out, '--out', out, '--json']), 'resumed old file')
    // Afresh, the first validation after the resume is the best so far: at least `patience` more are needed.
    assert.ok(resumed.steps >= stopStep - 4 + 4 * 4, `stopped at ${resumed.steps}`)
  })

  test('damaged counters are refused, naming the field', () => {
    const path = join(dir, 'straight', 'model.recur')
    for (const bad of [{ best: -1, sinceBest: 0 }, { best: 1, sinceBest: 1.5 }, { best: 'x', sinceBest: 0 }, { sinceBest: 2 }, null, 7]) {
      const bytes = editTraining(path, (training) => (training['earlyStopping'] = bad))
      assert.throws(() => decodeLanguageModel(bytes, f32(), 'forged.recur'), (e: unknown) => e instanceof RecurError && e.code === 'FORMAT' && /forged\.recur: training\.earlyStopping is/.test(e.message))
    }
  })
})
