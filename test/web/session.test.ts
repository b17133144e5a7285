/**
 * What the demo's worker does, without a browser: web/session.ts trains, validates, saves, loads
 * and samples, and its samples are those of `recur sample` (char and word level, with and without
 * a prime). The same code runs in the page; demo.e2e.test.ts checks it there.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { DEFAULT_SETTINGS, TrainingSession, VAL_EVERY, sampleText } from '../../web/session.js'
import type { TrainSettings } from '../../web/protocol.js'
import { expectRecurError, f32, runCli, syntheticCorpus } from '../helpers/lm.js'

const tiny: TrainSettings = { ...DEFAULT_SETTINGS, hidden: 12, batch: 4, seqLength: 12, seed: 4 }
const text = syntheticCorpus(400)

let dir: string
let corpus: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-web-session-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, text)
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** `recur sample` flags for a request (`--prime` only with a text: the command refuses an empty one). */
function sampleFlags(request: { seed: number; temperature: number; length: number; prime: string }): string[] {
  return ['--seed', String(request.seed), '--temperature', String(request.temperature), '--length', String(request.length), ...(request.prime === '' ? [] : ['--prime', request.prime])]
}

async function cliTrain(name: string, flags: string[]): Promise<string> {
  const model = join(dir, `${name}.recur`)
  const result = await runCli(['train', '--corpus', corpus, '--out', model, '--layers', '1', '--hidden', '12', '--batch', '4', '--seq-length', '12', '--steps', '30', '--val-every', '0', '--sample-every', '0', ...flags])
  assert.equal(result.code, 0, result.err)
  return model
}

describe('sampleText gives what recur sample prints', () => {
  test('at character level, with and without a prime', async () => {
    const model = await cliTrain('char', ['--cell', 'gru'])
    const bundle = decodeLanguageModel(readFileSync(model), f32())
    for (const request of [{ seed: 1, temperature: 1, length: 200, prime: '' }, { seed: 9, temperature: 0.6, length: 90, prime: 'the old ' }, { seed: 2, temperature: 1.5, length: 60, prime: 'ünknown ✓ ' }]) {
      const cli = await runCli(['sample', model, ...sampleFlags(request), '--unknown', 'unk'])
      assert.equal(cli.code, 0, cli.err)
      assert.equal(await sampleText(bundle, request), cli.out.replace(/\n$/, ''), JSON.stringify(request))
    }
  })

  test('at word level (the text of recur sample --json, after the prime)', async () => {
    const model = await cliTrain('word', ['--level', 'word', '--cell', 'lstm', '--embedding', '8'])
    const bundle = decodeLanguageModel(readFileSync(model), f32())
    for (const request of [{ seed: 5, temperature: 0.9, length: 30, prime: '' }, { seed: 6, temperature: 0.9, length: 30, prime: 'the cat' }]) {
      const cli = await runCli(['sample', model, ...sampleFlags(request), '--json'])
      assert.equal(cli.code, 0, cli.err)
      const json = JSON.parse(cli.out) as { prime: string; text: string }
      assert.equal(await sampleText(bundle, request), json.prime === '' ? json.text : `${json.prime} ${json.text}`)
    }
  })
})

describe('TrainingSession', () => {
  test('trains in slices, validates every VAL_EVERY steps, and the loss falls', async () => {
    const session = TrainingSession.create(f32(), text, 'synthetic', tiny)
    const losses: number[] = []
    const validated: number[] = []
    while (session.step < 2 * VAL_EVERY) {
      const slice = await session.train(0)
      assert.equal(slice.points.length, 1, 'a budget of 0 ms runs one step')
      assert.equal(slice.tokens, tiny.batch * tiny.seqLength)
      losses.push(slice.points[0]!.loss)
      if (slice.valLoss !== null) validated.push(session.step)
    }
    assert.deepEqual(validated, [VAL_EVERY, 2 * VAL_EVERY])
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
    assert.ok(mean(losses.slice(-10)) < mean(losses.slice(0, 10)) - 0.5, `loss ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`)
    const summary = session.summary()
    assert.equal(summary.title, 'char-level GRU, 1 x 12')
    assert.equal(summary.step, 2 * VAL_EVERY)
    assert.equal(summary.trainTokens + summary.valTokens, [...text].length)
    assert.equal(session.fileName(), `recur-gru-1x12-step${2 * VAL_EVERY}.recur`)
  })

  test('a saved model loads with the same samples, and training goes on exactly where it stopped', async () => {
    const session = TrainingSession.create(f32(), text, 'synthetic', tiny)
    for (let i = 0; i < 20; i++) await session.train(0)
    const bytes = await session.save()
    const request = { seed: 3, temperature: 0.8, length: 100, prime: 'a ' }
    const loaded = TrainingSession.load(f32(), bytes, 'saved.recur')
    assert.equal(await loaded.sample(request), await session.sample(request))
    assert.equal(loaded.step, 20)
    assert.equal(loaded.summary().corpus, 'synthetic')
    assert.equal(loaded.hasText, false)
    assert.deepEqual(new Uint8Array(await loaded.save()), new Uint8Array(bytes), 'saved again unchanged before training')

    loaded.useText(text, 'synthetic')
    const next = await session.train(0)
    const resumed = await loaded.train(0)
    assert.deepEqual(resumed.points, next.points, 'the same step 21, bit for bit')
  })

  test('a model trained by recur train goes on training on new text', async () => {
    const model = await cliTrain('resume', ['--cell', 'lstm'])
    const session = TrainingSession.load(f32(), readFileSync(model), 'resume.recur')
    assert.equal(session.summary().title, 'char-level LSTM, 1 x 12')
    session.useText(syntheticCorpus(200, 7), 'other text')
    const slice = await session.train(0)
    assert.equal(slice.points[0]!.step, 31)
    assert.ok(Number.isFinite(slice.points[0]!.loss))
  })

  test('a run that diverges is stopped by the guard, as recur train does, and the model can still be sampled and saved', async () => {
    const session = TrainingSession.create(f32(), text, 'synthetic', { ...tiny, lr: 1e38 })
    let stopped: unknown = null
    let updates = 0
    for (let i = 0; i < 40 && stopped === null; i++) {
      try {
        updates += (await session.train(0)).points.length
      } catch (e) {
        stopped = e
      }
    }
    assert.ok(stopped instanceof Error && (stopped as { code?: string }).code === 'NON_FINITE', String(stopped))
    assert.match((stopped as Error).message, /^training stopped at step \d+: the loss was .*; the model keeps the weights of its last finite step\. Save or sample it/)
    assert.ok(updates >= 1 && updates < 40)
    const sample = await session.sample({ seed: 1, temperature: 1, length: 20, prime: '' })
    assert.equal(typeof sample, 'string')
    const loaded = TrainingSession.load(f32(), await session.save(), 'diverged.recur')
    assert.equal(loaded.step, session.step)
  })

  test('refuses a text too short to train on and settings out of range', async () => {
    await expectRecurError(() => TrainingSession.create(f32(), 'too short', 'x', tiny), 'DATA', /fewer than one window for every stream \(4 x 13 = 52\)/)
    await expectRecurError(() => TrainingSession.create(f32(), text, 'x', { ...tiny, hidden: 0 }), 'OPTION', /hidden/)
    await expectRecurError(() => TrainingSession.create(f32(), text, 'x', { ...tiny, lr: 0 }), 'OPTION', /lr/)
  })
})
