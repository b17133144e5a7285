/**
 * Crash-safe training: `recur train` runs as a child process and is killed with SIGKILL again and
 * again, a seeded random number of steps after the point where the previous run was killed (then
 * 0-20 ms later, or the moment a checkpoint's temporary file appears, so the kill lands in the
 * middle of a save), and each time it is started again with `--resume` (or from scratch when no
 * checkpoint exists yet). After every kill, the model file on disk must load as a complete
 * checkpoint, and nothing but the model, its log, its plot and temporary files of killed saves may
 * be in the folder. At the end the weights, the optimizer
 * moments, the carried states and the training record equal, bit for bit, those of a run that was
 * never interrupted (reference backend, same seed, dropout on so the generator state matters).
 *
 * The moments of the kills depend on the machine's speed; what is checked does not. A second test
 * checks that a checkpoint records the run's settings (checkpoint, validation and sample
 * intervals, NaN policy), so that a resumed run keeps checkpointing as the killed one did.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { Random } from '../../src/random.js'
import { readTrainingLog } from '../../src/train/log.js'
import { assertSameTensors, f32, runCli, syntheticCorpus } from '../helpers/lm.js'
import { logRecords, sleep, spawnRecur, stackLines, until, type RecurChild } from './spawn-recur.js'

const STEPS = 100
const CHECKPOINT_EVERY = 2
const KILLS = 10
const TEMPORARY = /^\.model\.recur\.tmp-(\d+)-[0-9a-f]{12}$/
const EXPECTED_FILES = new Set(['model.recur', 'model.log.csv', 'model.loss.svg'])

let dir: string
let corpus: string
const settings = () => [
  '--corpus', corpus, '--cell', 'lstm', '--layers', '2', '--hidden', '16', '--dropout', '0.2', '--batch', '4', '--seq-length', '16',
  '--steps', String(STEPS), '--checkpoint-every', String(CHECKPOINT_EVERY), '--val-every', '50', '--sample-every', '0', '--seed', '5',
]

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-crash-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(150))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** Every tensor of a model file, by name, and its meta. */
function contents(path: string): { tensors: Map<string, Float32Array | Int32Array>; meta: Record<string, unknown> } {
  const file = decodeModelFile(readFileSync(path))
  return { tensors: new Map([...file.tensors].map(([name, t]) => [name, t.data])), meta: file.meta as Record<string, unknown> }
}

/** Kills the child with SIGKILL as soon as it creates a temporary file for a save (it is then mid-save). */
async function killInSave(child: RecurChild, folder: string): Promise<void> {
  const pid = String(child.process.pid)
  const watcher = watch(folder)
  try {
    // The first event of a temporary file is its creation: the save has begun.
    const mine = (name: string | null) => name !== null && TEMPORARY.exec(name)?.[1] === pid
    await new Promise<void>((resolve) => {
      watcher.on('change', (_event, name) => {
        if (mine(typeof name === 'string' ? name : null)) {
          child.process.kill('SIGKILL')
          resolve()
        }
      })
      void child.exited.then(() => resolve())
    })
  } finally {
    watcher.close()
  }
}

/** The checks after a kill: the model file (if any) is a complete checkpoint; no unexpected files. */
function checkFolder(folder: string, previousStep: number, what: string): number {
  let step = previousStep
  const model = join(folder, 'model.recur')
  if (existsSync(model)) {
    const bundle = decodeLanguageModel(readFileSync(model), f32(), model) // throws if incomplete or damaged
    assert.ok(bundle.trainerState !== null, `${what}: the checkpoint has its training state`)
    step = bundle.trainerState.step
    assert.ok(step % CHECKPOINT_EVERY === 0 || step === STEPS, `${what}: step ${step} is a checkpoint step`)
    assert.ok(step >= previousStep, `${what}: the checkpoint went back from step ${previousStep} to ${step}`)
  }
  for (const name of readdirSync(folder)) {
    assert.ok(EXPECTED_FILES.has(name) || TEMPORARY.test(name), `${what}: unexpected file ${name}`)
  }
  return step
}

test('SIGKILL at random moments, then --resume, many times: checkpoints always load, and the end is bit-identical to an uninterrupted run', async (t) => {
  const straight = join(dir, 'straight', 'model.recur')
  const straightRun = await runCli(['train', ...settings(), '--out', straight])
  assert.equal(straightRun.code, 0, straightRun.err)

  const folder = join(dir, 'killed')
  mkdirSync(folder)
  const model = join(folder, 'model.recur')
  const random = new Random(2024)
  let step = 0
  let killsInSaves = 0
  const runs: string[] = []
  const logPath = join(folder, 'model.log.csv')
  for (let kill = 0; kill < KILLS && step < STEPS; kill++) {
    // Each run must get past the step the last one was killed at (its log, replayed from the
    // checkpoint, grows beyond the old one) before it is killed: in a save, or 0-20 ms later.
    const killedAt = logRecords(logPath)
    const child = spawnRecur(existsSync(model) ? ['train', '--resume', model] : ['train', ...settings(), '--out', model])
    const target = killedAt + 1 + (kill % 2 === 1 ? 0 : random.int(16))
    if (await until(child, () => logRecords(logPath) >= target)) {
      if (kill % 2 === 1) await killInSave(child, folder)
      else {
        await sleep(random.int(20))
        child.process.kill('SIGKILL')
      }
    }
    const exit = await child.exited
    if (exit.signal !== 'SIGKILL') assert.equal(exit.code, 0, `run ${kill + 1} ended by itself: ${exit.err}`)
    const halfWritten = readdirSync(folder).some((name) => TEMPORARY.test(name))
    if (halfWritten) killsInSaves++
    step = checkFolder(folder, step, `after kill ${kill + 1}`)
    runs.push(`${exit.signal ?? `exit ${exit.code}`} at log step ${logRecords(logPath)}${halfWritten ? ' in a save' : ''}, checkpoint ${step}`)
  }
  t.diagnostic(`${runs.length} runs, ${killsInSaves} killed in a save: ${runs.join('; ')}`)

  if (step < STEPS) {
    const exit = await spawnRecur(existsSync(model) ? ['train', '--resume', model] : ['train', ...settings(), '--out', model]).exited
    assert.equal(exit.code, 0, exit.err)
    assert.deepEqual(stackLines(exit.err), [])
  }
  checkFolder(folder, step, 'at the end')
  assert.deepEqual(readdirSync(folder).filter((name) => TEMPORARY.test(name)), [], 'the temporary files of killed saves are removed')

  const got = contents(model)
  const want = contents(straight)
  assertSameTensors(got.tensors, want.tensors, 'killed and resumed vs uninterrupted')
  assert.deepEqual(got.meta, want.meta, 'the training record (step, stream position, generator, guard)')
  assert.deepEqual(readTrainingLog(join(folder, 'model.log.csv')).records.map((r) => r.step), Array.from({ length: STEPS }, (_, i) => i + 1), 'the log has every step once')
})

test('a checkpoint records the run settings, so a resumed run keeps checkpointing as often (unless told otherwise)', async () => {
  const out = join(dir, 'settings', 'model.recur')
  const interrupted = await runCli(['train', ...settings(), '--val-every', '7', '--out', out], { interrupted: { value: true } })
  assert.equal(interrupted.code, 130, interrupted.err)
  const options = (file: string) => (contents(file).meta as { training: { options: Record<string, unknown> } }).training.options
  assert.deepEqual(
    [options(out)['checkpointEvery'], options(out)['valEvery'], options(out)['sampleEvery'], options(out)['nanPolicy'], options(out)['nanLimit']],
    [CHECKPOINT_EVERY, 7, 0, 'skip', 5],
  )
  assert.equal((await runCli(['train', '--resume', out, '--steps', '3'])).code, 0)
  assert.equal(options(out)['valEvery'], 7, 'kept on resume')
  assert.equal((await runCli(['train', '--resume', out, '--steps', '4', '--val-every', '3'])).code, 0)
  assert.equal(options(out)['valEvery'], 3, 'a flag typed on resume wins')
})
