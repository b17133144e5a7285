/**
 * `recur train` when things go wrong: a learning rate that makes the loss non-finite (the guard
 * rails skip, lower the rate, and stop with the last good weights saved and a message saying what
 * to try), an output path that cannot be written (refused before the first step), and a disk that
 * fills up at a checkpoint (a clear error; the previous checkpoint stays intact, loads, and
 * resumes to the weights of an uninterrupted run). In this process, on the reference backend.
 */
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, promises as fs, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeModelFile } from '../../src/io/model-format.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { readTrainingLog } from '../../src/train/log.js'
import { assertSameTensors, f32, runCli, stackLines, syntheticCorpus, type CliResult } from '../helpers/lm.js'

let dir: string
let corpus: string
const tiny = ['--layers', '1', '--hidden', '8', '--batch', '2', '--seq-length', '8', '--seed', '3', '--val-every', '0', '--sample-every', '0']
/** SGD at 1e38 without clipping: the weights overflow after the second step. */
const explosive = ['--optimizer', 'sgd', '--lr', '1e38', '--clip', '0', '--schedule', 'constant']

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-train-failures-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(150))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** The last line of stderr: the error, one line, no stack trace. */
function errorLine(result: CliResult): string {
  assert.deepEqual(stackLines(result.err), [], 'no stack trace')
  const line = result.err.trimEnd().split('\n').at(-1)!
  assert.match(line, /^recur: error: /)
  return line
}

function tensors(path: string): Map<string, Float32Array | Int32Array> {
  return new Map([...decodeModelFile(readFileSync(path)).tensors].map(([name, t]) => [name, t.data]))
}

describe('recur train: non-finite steps', () => {
  test('skipped with the learning rate halved, then a stop that saves the last good weights and says what to try', async () => {
    const out = join(dir, 'nan', 'model.recur')
    const r = await runCli(['train', '--corpus', corpus, ...tiny, ...explosive, '--steps', '40', '--checkpoint-every', '2', '--nan-limit', '3', '--out', out])
    assert.equal(r.code, 1, r.err)
    const line = errorLine(r)
    assert.match(line, /training stopped at step \d+: the loss was (Infinity|NaN)[^;]*, not finite at 3 steps in a row; saved the last good weights \(step \d+\) to /)
    assert.match(line, /Try a lower --lr \(now 1e\+38, e\.g\. 2\.5e\+37\) or --clip 1 \(clipping is off\), then continue with: recur train --resume .* --lr 2\.5e\+37$/)
    assert.equal(r.err.match(/skipped the update and halved the learning rate/g)?.length, 2)
    // The log has every step, the failed ones with their loss and the halved rates.
    const records = readTrainingLog(join(dir, 'nan', 'model.log.csv')).records
    const failed = records.filter((record) => !Number.isFinite(record.loss))
    assert.equal(failed.length, 3)
    assert.deepEqual(failed.map((record) => record.lr), [1e38, 5e37, 2.5e37])
    // The saved model is the last good one: it loads (finite weights), at the step the message names.
    const bundle = decodeLanguageModel(readFileSync(out), f32(), out)
    assert.equal(String(bundle.trainerState?.step), /weights \(step (\d+)\)/.exec(line)![1])
    assert.ok(bundle.trainerState!.step < failed[0]!.step)
    assert.ok([...(await bundle.model.params.readValues()).values()].every((values) => values.every(Number.isFinite)))
    // It continues with a lower rate (which starts the guard's factor over).
    const resumed = await runCli(['train', '--resume', out, '--lr', '0.01', '--steps', `${bundle.trainerState!.step + 3}`])
    assert.equal(resumed.code, 0, resumed.err)
    assert.doesNotMatch(resumed.err, /skipped the update/)
  })

  test('--nan-policy stop: the first non-finite step stops the run', async () => {
    const out = join(dir, 'nan-stop', 'model.recur')
    const r = await runCli(['train', '--corpus', corpus, ...tiny, ...explosive, '--steps', '40', '--nan-policy', 'stop', '--out', out])
    assert.equal(r.code, 1, r.err)
    assert.match(errorLine(r), /not finite at one step \(--nan-policy stop\); saved the last good weights \(step 0\)/)
    assert.doesNotMatch(r.err, /skipped the update/)
  })
})

describe('recur classify train: non-finite steps (the task trainers share the guard rails)', () => {
  test('stops with the last good weights saved and a message that says what to try', async () => {
    const data = join(dir, 'words.jsonl')
    const words = ['the', 'cat', 'dog', 'sat', 'mat']
    writeFileSync(data, Array.from({ length: 24 }, (_, i) => {
      const text = [words[i % 5], words[(i * 3) % 5], words[(i * 7 + 1) % 5]].join(' ')
      return JSON.stringify({ text, label: text.includes('cat') ? 'cat' : 'other' })
    }).join('\n') + '\n')
    const out = join(dir, 'classify-nan', 'model.recur')
    const r = await runCli(['classify', 'train', '--data', data, '--hidden', '8', '--embedding', '4', '--batch', '4', '--steps', '40', '--val-fraction', '0', ...explosive, '--out', out])
    assert.equal(r.code, 1, r.err)
    assert.match(errorLine(r), /training stopped at step \d+: .* not finite at 5 steps in a row; saved the last good weights \(step \d+\) to .*model\.recur\. Try a lower --lr .* then train again$/)
    assert.ok((r.err.match(/skipped the update and halved the learning rate/g)?.length ?? 0) >= 4, 'skipped steps before the stop')
    assert.ok(existsSync(out))
  })
})

describe('recur train: where the model cannot be written', () => {
  test('a folder that is a file: refused before the first step, one line', async () => {
    writeFileSync(join(dir, 'a-file'), 'not a folder')
    const out = join(dir, 'a-file', 'run', 'model.recur')
    const r = await runCli(['train', '--corpus', corpus, ...tiny, '--steps', '3', '--out', out])
    assert.equal(r.code, 1)
    assert.match(errorLine(r), /cannot save the model to .*model\.recur: a part of the folder .* is a file, not a folder \((ENOTDIR|EEXIST)\)\. Choose another --out/)
    assert.doesNotMatch(r.err, /step 1\//, 'no step was trained')
  })

  test('a folder without write permission: refused before the first step (skipped as root, who may write anyway)', { skip: process.getuid?.() === 0 }, async () => {
    const folder = join(dir, 'read-only')
    mkdirSync(folder)
    chmodSync(folder, 0o555)
    try {
      const r = await runCli(['train', '--corpus', corpus, ...tiny, '--steps', '3', '--out', join(folder, 'model.recur')])
      assert.equal(r.code, 1)
      assert.match(errorLine(r), /the folder .*read-only is not writable \(EACCES\)\. Choose another --out, or make .* writable/)
    } finally {
      chmodSync(folder, 0o755)
    }
  })

  test('a full disk at a checkpoint: a clear error, the previous checkpoint intact, and it resumes to the uninterrupted weights', async (t) => {
    const settings = ['--corpus', corpus, ...tiny, '--steps', '8', '--checkpoint-every', '2']
    const straight = join(dir, 'full', 'straight.recur')
    assert.equal((await runCli(['train', ...settings, '--out', straight])).code, 0)

    const out = join(dir, 'full', 'model.recur')
    // The third save's write fails as a full disk does (saves 1 and 2 are the checkpoints of steps 2 and 4).
    const realOpen = fs.open.bind(fs)
    let saves = 0
    t.mock.method(fs, 'open', async (...args: Parameters<typeof fs.open>) => {
      const handle = await realOpen(...args)
      if (String(args[0]).includes('.tmp-') && ++saves === 3) {
        handle.writeFile = async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        }
      }
      return handle
    })
    const r = await runCli(['train', ...settings, '--out', out])
    t.mock.restoreAll()
    assert.equal(r.code, 1)
    assert.match(
      errorLine(r),
      /the checkpoint of step 6 was not saved: cannot save model file .*model\.recur: no space left on the device \(ENOSPC\)\. Free some disk space and save again\. The checkpoint of step 4 in .*model\.recur is intact; continue from it with: recur train --resume /,
    )
    assert.deepEqual(readdirSync(join(dir, 'full')).filter((name) => name.includes('.tmp-')), [], 'no temporary file is left')
    assert.equal(decodeLanguageModel(readFileSync(out), f32(), out).trainerState?.step, 4)

    const resumed = await runCli(['train', '--resume', out])
    assert.equal(resumed.code, 0, resumed.err)
    assertSameTensors(tensors(out), tensors(straight), 'resumed after a full disk vs uninterrupted')
    assert.ok(existsSync(join(dir, 'full', 'model.loss.svg')))
  })
})
