/**
 * Numerical guard rails (src/train/guard.ts, src/train/supervised.ts): a step whose loss or
 * gradient is not finite updates nothing, the learning rate is halved, and after `limit` failures
 * in a row the run stops and goes back to the last good checkpoint. Checked on the rule itself,
 * on the language-model trainer (a corrupted weight), on the task training loop (NaN gradients
 * from some batches), and on an exploding RNN that clipping keeps finite.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import type { Kernels } from '../../src/kernels/types.js'
import { TextClassifier, resolveClassifyConfig, type ClassifyExample } from '../../src/tasks/classify.js'
import { trainTask, type StepReport } from '../../src/tasks/common.js'
import { LastGoodCheckpoint, NanGuard, divergenceError } from '../../src/train/guard.js'
import { LanguageModelTrainer } from '../../src/train/language-model-trainer.js'
import { Random } from '../../src/random.js'
import { bits, charData, f32, syntheticCorpus, tinyModel } from '../helpers/lm.js'

describe('NanGuard: the rule', () => {
  test('finite steps update; a failed step is skipped and halves the learning rate; the limit in a row stops', () => {
    const guard = new NanGuard({ policy: 'skip', limit: 3 })
    assert.equal(guard.judge(2.5, 1), 'update')
    assert.equal(guard.judge(Number.NaN, 1), 'skip')
    assert.equal(guard.lrScale, 0.5)
    assert.equal(guard.judge(2.5, Number.POSITIVE_INFINITY), 'skip', 'a non-finite gradient norm fails too')
    assert.equal(guard.lrScale, 0.25)
    assert.equal(guard.judge(2.5, 1), 'update', 'a good step resets the count in a row')
    assert.equal(guard.lrScale, 0.25, 'the lowered learning rate stays lowered')
    assert.deepEqual([guard.judge(Number.NaN, Number.NaN), guard.judge(Number.NaN, 1), guard.judge(Number.NEGATIVE_INFINITY, 1)], ['skip', 'skip', 'stop'])
    assert.deepEqual(guard.getState(), { lrScale: 0.0625, inRow: 3, total: 5 })
  })

  test("policy 'stop' stops at the first failure; the state round-trips; bad options are refused", () => {
    const guard = new NanGuard({ policy: 'stop', limit: 5 })
    assert.equal(guard.judge(1, 1), 'update')
    assert.equal(guard.judge(Number.NaN, 1), 'stop')
    assert.equal(guard.lrScale, 1)
    const copy = new NanGuard()
    copy.setState({ lrScale: 0.125, inRow: 2, total: 7 })
    assert.deepEqual(copy.getState(), { lrScale: 0.125, inRow: 2, total: 7 })
    assert.throws(() => new NanGuard({ limit: 0 }), (e: unknown) => e instanceof RecurError && e.code === 'RANGE')
    assert.throws(() => new NanGuard({ policy: 'ignore' as never }), (e: unknown) => e instanceof RecurError && e.code === 'OPTION')
  })

  test('the last good checkpoint is one that a later step succeeded from', () => {
    const kept = new LastGoodCheckpoint('start')
    kept.checkpoint('step 2')
    assert.equal(kept.snapshot, 'start', 'not yet confirmed')
    kept.stepSucceeded()
    assert.equal(kept.snapshot, 'step 2')
    kept.checkpoint('step 4') // followed only by failures: its weights are the ones that failed
    assert.equal(kept.snapshot, 'step 2')
  })

  test('the stop message says what was not finite, what was saved, and what to try', () => {
    const last = { step: 9, loss: Number.NaN, gradNorm: Number.POSITIVE_INFINITY, lr: 0.001, verdict: 'stop' as const }
    const error = divergenceError({ step: 9, last, inRow: 5, policy: 'skip', restoredStep: 4 }, { savedTo: 'm.recur', lr: 0.004, clip: 5, resume: 'recur train --resume m.recur' })
    assert.equal(error.code, 'NON_FINITE')
    assert.equal(
      error.message,
      'training stopped at step 9: the loss was NaN and the gradient norm was Infinity, not finite at 5 steps in a row; saved the last good weights (step 4) to m.recur. ' +
        'Try a lower --lr (now 0.004, e.g. 0.001) or a tighter --clip (now 5, e.g. 2.5), then continue with: recur train --resume m.recur --lr 0.001',
    )
    assert.doesNotMatch(error.message, /\n/)
  })
})

describe('LanguageModelTrainer.trainStepGuarded', () => {
  const { vocabulary, ids } = charData(syntheticCorpus(100))
  const options = { batch: 2, seqLength: 8, steps: 50, lr: 0.01, clip: 5, schedule: 'constant' as const, warmup: 0, seed: 3, nanLimit: 5 }

  test('a corrupted weight: every step is skipped (nothing updated, lr halved), the fifth stops, restore gives back the snapshot', async () => {
    const model = tinyModel(f32(), vocabulary.size)
    const trainer = new LanguageModelTrainer(model, ids, options)
    for (let i = 0; i < 3; i++) assert.equal((await trainer.trainStepGuarded()).verdict, 'update')
    const snapshot = await trainer.snapshot()
    const bias = model.params.get('out.bias')
    model.kernels.write(model.kernels.view(bias.value, 0, 1), [Number.NaN])
    const corrupted = Float32Array.from(await model.kernels.read(model.params.values))

    const results = []
    for (let i = 0; i < 5; i++) results.push(await trainer.trainStepGuarded())
    assert.deepEqual(results.map((r) => r.verdict), ['skip', 'skip', 'skip', 'skip', 'stop'])
    assert.deepEqual(results.map((r) => r.lr), [0.01, 0.005, 0.0025, 0.00125, 0.000625])
    assert.ok(results.every((r) => Number.isNaN(r.loss)))
    assert.equal(trainer.step, 8, 'failed steps count as steps')
    assert.deepEqual(bits(Float32Array.from(await model.kernels.read(model.params.values))), bits(corrupted), 'no weight changed')
    const state = await trainer.getState()
    assert.equal(state.optimizer.step, 3, 'the optimizer did not step')
    assert.deepEqual(bits(state.optimizer.moments[0]!), bits(snapshot.state.optimizer.moments[0]!), 'the moments did not change')
    assert.ok(state.carried.every((c) => c.every((v) => v === 0)), 'a failed window carries zero states on')
    assert.deepEqual(state.guard, { lrScale: 0.0625, inRow: 5, total: 5 })

    trainer.restore(snapshot)
    assert.deepEqual(bits(Float32Array.from(await model.kernels.read(model.params.values))), bits(Float32Array.from(snapshot.values)))
    assert.equal(trainer.step, 3)
    assert.equal((await trainer.trainStepGuarded()).verdict, 'update', 'training goes on from the restored state')
  })

  test('without failures the guarded step is bit for bit the plain step', async () => {
    const plain = new LanguageModelTrainer(tinyModel(f32(), vocabulary.size, { dropout: 0.2, layers: 2 }), ids, options)
    const guarded = new LanguageModelTrainer(tinyModel(f32(), vocabulary.size, { dropout: 0.2, layers: 2 }), ids, options)
    for (let i = 0; i < 6; i++) {
      plain.trainStep()
      const result = await guarded.trainStepGuarded()
      assert.equal(result.loss, await plain.readLoss())
      assert.equal(result.gradNorm, await plain.readGradNorm())
    }
    const a = await plain.snapshot()
    const b = await guarded.snapshot()
    assert.deepEqual(bits(Float32Array.from(b.values)), bits(Float32Array.from(a.values)))
    assert.deepEqual(b.state.random, a.state.random)
  })

  test('an exploding RNN (recurrent weights x8, T = 100, lr 0.5) stays finite with clipping: every step updates', async () => {
    const long = charData(syntheticCorpus(300))
    const model = tinyModel(f32(), long.vocabulary.size, { cell: 'rnn', hidden: 32 }, 3)
    const recurrent = model.params.get('rnn.l0.weight_hh')
    model.kernels.scale(recurrent.size, recurrent.value, 8)
    const trainer = new LanguageModelTrainer(model, long.ids, { batch: 4, seqLength: 100, steps: 20, lr: 0.5, optimizer: 'sgd', clip: 1, schedule: 'constant', warmup: 0, seed: 1 })
    const norms: number[] = []
    for (let i = 0; i < 20; i++) {
      const result = await trainer.trainStepGuarded()
      assert.equal(result.verdict, 'update', `step ${result.step}: loss ${result.loss}, gradient norm ${result.gradNorm}`)
      assert.ok(Number.isFinite(result.loss))
      norms.push(result.gradNorm)
    }
    // The gradients did explode: norms beyond what Σg² can hold in f32 (about 1.8e19), clipped all the same.
    assert.ok(Math.max(...norms) > 1e19, `largest gradient norm ${Math.max(...norms)}`)
    assert.ok((await model.kernels.read(model.params.values)).every(Number.isFinite), 'every weight is finite')
  })
})

describe('trainTask: the task loop under the guard rails', () => {
  const random = new Random(4)
  const words = ['the', 'cat', 'dog', 'sat', 'mat']
  const examples: ClassifyExample[] = Array.from({ length: 24 }, () => {
    const input = Array.from({ length: 3 + random.int(3) }, () => words[random.int(words.length)]!).join(' ')
    return { input, label: input.includes('cat') ? 'cat' : 'other' }
  })

  /** A classifier whose gradients are NaN at the steps listed (a bad batch), and its run's reports. */
  function poisoned(kernels: Kernels, badSteps: readonly number[], settings: { nanLimit: number; nanPolicy?: 'skip' | 'stop'; checkpointEvery: number }) {
    const config = resolveClassifyConfig({ hidden: 6, embedding: 4, batch: 4, steps: 12, lr: 0.01, schedule: 'constant', valFraction: 0, ...settings })
    const classifier = TextClassifier.create(kernels, examples, config)
    const session = classifier.session(examples)
    let step = 0
    const poisonedSession = {
      ...session,
      trainBatch(indices: readonly number[], r: Random | null) {
        session.trainBatch(indices, r)
        if (badSteps.includes(++step)) kernels.fill(1, session.params.grads, Number.NaN)
      },
    }
    return { config, session: poisonedSession }
  }

  test('bad batches are skipped with the learning rate halved, and the run goes on', async () => {
    const kernels = f32()
    const { config, session } = poisoned(kernels, [3, 4, 5], { nanLimit: 4, checkpointEvery: 0 })
    const reports: StepReport[] = []
    const failed: string[] = []
    const outcome = await trainTask(session, config, { onStep: (r) => void reports.push(r), onFailedStep: (line) => failed.push(line) })
    assert.equal(outcome.stopped, 'done')
    assert.equal(outcome.divergence, null)
    assert.equal(failed.length, 3)
    assert.match(failed[0]!, /^step 3: the gradient norm was NaN; skipped the update and halved the learning rate/)
    assert.deepEqual(reports.map((r) => r.lr), [0.01, 0.01, 0.01, 0.005, 0.0025, ...Array(7).fill(0.00125)])
    assert.ok((await kernels.read(session.params.values)).every(Number.isFinite))
  })

  test('failures in a row up to the limit stop the run and restore the last confirmed checkpoint', async () => {
    const kernels = f32()
    const { config, session } = poisoned(kernels, [5, 6], { nanLimit: 2, checkpointEvery: 2 })
    const atCheckpoint = new Map<number, Float32Array>()
    const outcome = await trainTask(session, config, {
      checkpoint: async (step) => void atCheckpoint.set(step, Float32Array.from(await kernels.read(session.params.values))),
    })
    assert.equal(outcome.stopped, 'diverged')
    // Step 4's checkpoint was followed by failures only: the one of step 2 (step 3 succeeded from it) is restored.
    assert.deepEqual(outcome.divergence && { step: outcome.divergence.step, inRow: outcome.divergence.inRow, restoredStep: outcome.divergence.restoredStep }, { step: 6, inRow: 2, restoredStep: 2 })
    assert.equal(outcome.steps, 2)
    assert.deepEqual(bits(Float32Array.from(await kernels.read(session.params.values))), bits(atCheckpoint.get(2)!))
  })

  test("policy 'stop': the first failure stops the run", async () => {
    const kernels = f32()
    const { config, session } = poisoned(kernels, [2], { nanLimit: 5, nanPolicy: 'stop', checkpointEvery: 0 })
    const outcome = await trainTask(session, config)
    assert.equal(outcome.stopped, 'diverged')
    assert.equal(outcome.divergence?.inRow, 1)
    assert.equal(outcome.steps, 0, 'restored to the start')
  })
})
