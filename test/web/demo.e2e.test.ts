/**
 * The demo page end to end, in Debian's Chromium (playwright-core, /usr/bin/chromium): training on
 * the default text, pause, save, reload, load, sample; a model trained by `recur train` giving in
 * the page the very sample `recur sample` prints for the same seed and temperature; and the page on
 * WebGPU (Chromium's SwiftShader adapter), training there. Any console error, uncaught exception or
 * failed request fails the test. Without Chromium these tests fail (CI installs it in .ci/run); they
 * never skip.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'

import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { sampleText } from '../../web/session.js'
import { runCli, syntheticCorpus } from '../helpers/lm.js'
import { openDemo, statValue, WEBGPU_ARGS, type DemoBrowser } from './browser.js'

/** Longest wait for anything the page does; the tiny models here need a few seconds at most. */
const WAIT = { timeout: 180_000 }

async function setTinyModel(page: Page): Promise<void> {
  await page.selectOption('#hidden', '16')
  await page.selectOption('#layers', '1')
  await page.click('details.advanced summary')
  await page.fill('#batch', '8')
  await page.fill('#seq-length', '16')
}

/** Presses "Sample now" with these settings and returns the sample the page shows. */
async function sampleNow(page: Page, request: { seed: number; temperature: number; length: number; prime?: string }): Promise<string> {
  await page.fill('#sample-seed', String(request.seed))
  await page.fill('#temperature', String(request.temperature))
  await page.fill('#length', String(request.length))
  await page.fill('#prime', request.prime ?? '')
  const before = Number((await page.getAttribute('#sample', 'data-count')) ?? 0)
  await page.click('#sample-now')
  // A sample shown while training may still arrive after a pause, before this one: wait for ours.
  await page.waitForFunction(
    `Number(document.querySelector('#sample').dataset.count ?? 0) > ${before} && document.querySelector('#sample-meta').textContent.endsWith('seed ${request.seed}')`,
    undefined, WAIT,
  )
  assert.match((await page.textContent('#sample-meta')) ?? '', new RegExp(`seed ${request.seed}$`))
  return (await page.textContent('#sample')) ?? ''
}

async function waitForState(page: Page, state: 'training' | 'paused'): Promise<void> {
  await page.waitForFunction(`document.querySelector('#status').dataset.state === '${state}'`, undefined, WAIT)
}

/**
 * Sets the tiny model, presses Train and returns the first step's loss, which must be near ln V for
 * an untrained model. (The shown loss is smoothed over the steps of a slice, and a fast machine runs
 * many steps in the first one: the page keeps the first step's own loss beside it.)
 */
async function startTraining(page: Page): Promise<number> {
  await setTinyModel(page)
  await page.click('#train')
  await waitForState(page, 'training')
  await page.waitForFunction("document.querySelector('#stat-loss').textContent !== '–'", undefined, WAIT)
  const firstLoss = Number(await page.getAttribute('#stat-loss', 'data-first'))
  assert.ok(firstLoss > 3.5, `an untrained model's loss is near ln V, got ${firstLoss}`)
  return firstLoss
}

/** Waits until the page has trained `steps` steps and shown a sample made while training. */
async function waitForStepsAndSample(page: Page, steps: number): Promise<void> {
  await page.waitForFunction(
    `Number(document.querySelector('#stat-step').textContent.replace(/,/g, '')) >= ${steps} && document.querySelector('#sample-meta').textContent.includes('while training')`,
    undefined, WAIT,
  )
}

describe('the demo page in Chromium', () => {
  let demo: DemoBrowser

  before(async () => {
    demo = await openDemo()
  })
  after(async () => {
    await demo?.close()
  })

  test('trains on the default text, pauses, saves, and after a reload loads the file and samples the same', async () => {
    const { page } = demo
    assert.match((await page.textContent('#text-info')) ?? '', /^Moby Dick \(excerpt\) · \d+ KB · \d+ distinct characters$/)
    // Chromium offers navigator.gpu but, with --disable-gpu, no adapter: the page says so and trains in JavaScript.
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'reference')
    assert.equal(await page.textContent('#engine'), 'JavaScript')
    assert.match((await page.textContent('#backend')) ?? '', /^Backend: reference \(registered: webgpu, reference\) · WebGPU unavailable: no WebGPU adapter/)

    const firstLoss = await startTraining(page)

    // The loss falls, a validation loss and a sample shown while training appear.
    await waitForStepsAndSample(page, 120)
    const loss = await statValue(page, 'stat-loss')
    assert.ok(loss < firstLoss - 0.5, `the loss falls: ${firstLoss} at first, ${loss} after 120 steps`)
    assert.ok(await statValue(page, 'stat-val') < firstLoss, 'a validation loss below the first training loss')
    assert.ok(await statValue(page, 'stat-speed') > 0)
    assert.ok(((await page.textContent('#sample')) ?? '').length > 0)
    assert.ok(await page.locator('#chart svg polyline, #chart svg path').count() > 0, 'the loss chart is drawn')

    await page.click('#pause')
    await waitForState(page, 'paused')

    const download = page.waitForEvent('download', WAIT)
    await page.click('#save')
    const saved = await download
    assert.match(saved.suggestedFilename(), /^recur-gru-1x16-step\d+\.recur$/)
    const path = join(demo.scratch, saved.suggestedFilename())
    await saved.saveAs(path)
    await page.waitForFunction("document.querySelector('#model-info').textContent.startsWith('Saved ')", undefined, WAIT)
    const step = await statValue(page, 'stat-step')

    // The file is a recur model file, with the state of the step the page shows.
    const bundle = decodeLanguageModel(readFileSync(path), new ReferenceKernels('f32'), path)
    assert.deepEqual({ cell: bundle.model.architecture.cell, hidden: bundle.model.architecture.hidden }, { cell: 'gru', hidden: 16 })
    assert.equal(bundle.trainerState?.step, step)
    assert.equal(bundle.training?.corpus.name, 'Moby Dick (excerpt)')

    const request = { seed: 5, temperature: 0.7, length: 120 }
    const firstSample = await sampleNow(page, request)
    assert.equal(firstSample, await sampleText(bundle, { ...request, prime: '' }), 'the page samples as the library does in Node')

    await page.reload()
    await page.waitForFunction("document.querySelector('#status').dataset.state === 'idle'", undefined, WAIT)
    // A file that is not a model: a clear message in the page, nothing on the console.
    await page.setInputFiles('#model-file', { name: 'notes.recur', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model file') })
    await page.waitForFunction("!document.querySelector('#alert').hidden", undefined, WAIT)
    assert.match((await page.textContent('#alert')) ?? '', /notes\.recur: not a recur model file/)
    assert.equal(await page.getAttribute('#status', 'data-state'), 'idle')
    await page.setInputFiles('#model-file', path)
    await waitForState(page, 'paused')
    assert.match((await page.textContent('#model-info')) ?? '', new RegExp(`^Loaded: char-level GRU, 1 x 16, vocabulary \\d+, ${step.toLocaleString('en')} steps trained on Moby Dick \\(excerpt\\)\\.$`))
    assert.equal(await sampleNow(page, request), firstSample, 'the loaded model gives the same sample')

    // Training goes on from the loaded file.
    await page.click('#pause')
    await waitForState(page, 'training')
    await page.waitForFunction(`Number(document.querySelector('#stat-step').textContent.replace(/,/g, '')) > ${step}`, undefined, WAIT)
    await page.click('#pause')
    await waitForState(page, 'paused')

    assert.deepEqual(demo.problems, [])
  })
})

describe('a model trained by recur train, in the page', () => {
  let dir: string
  let model: string
  let demo: DemoBrowser

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recur-web-cli-'))
    const corpus = join(dir, 'corpus.txt')
    writeFileSync(corpus, syntheticCorpus(300))
    model = join(dir, 'model.recur')
    const trained = await runCli([
      'train', '--corpus', corpus, '--out', model, '--cell', 'lstm', '--layers', '1', '--hidden', '16', '--batch', '4', '--seq-length', '16',
      '--steps', '40', '--val-every', '20', '--sample-every', '0', '--seed', '2',
    ])
    assert.equal(trained.code, 0, trained.err)
    demo = await openDemo()
  })
  after(async () => {
    await demo?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('loads and gives the same sample as recur sample for the same seed and temperature', async () => {
    const { page } = demo
    await page.setInputFiles('#model-file', model)
    await waitForState(page, 'paused')
    assert.match((await page.textContent('#model-info')) ?? '', /^Loaded: char-level LSTM, 1 x 16, vocabulary \d+, 40 steps trained on .*corpus\.txt\.$/)

    for (const request of [{ seed: 11, temperature: 0.7, length: 150 }, { seed: 3, temperature: 1.3, length: 80, prime: 'the cat ' }]) {
      const cli = await runCli(['sample', model, '--seed', String(request.seed), '--temperature', String(request.temperature), '--length', String(request.length), ...(request.prime === undefined ? [] : ['--prime', request.prime])])
      assert.equal(cli.code, 0, cli.err)
      assert.equal(await sampleNow(page, request), cli.out.replace(/\n$/, ''), `seed ${request.seed}, temperature ${request.temperature}`)
    }
    assert.deepEqual(demo.problems, [])
  })
})

describe('the demo page on WebGPU (Chromium\'s SwiftShader adapter)', () => {
  let demo: DemoBrowser

  before(async () => {
    demo = await openDemo(undefined, undefined, WEBGPU_ARGS)
  })
  after(async () => {
    await demo?.close()
  })

  test('offers the WebGPU backend, shows it, trains on it, and the loss falls', async () => {
    const { page } = demo
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu')
    assert.equal(await page.textContent('#engine'), 'WebGPU')
    assert.match((await page.textContent('#backend')) ?? '', /^Backend: webgpu on .*swiftshader.* \(a software adapter: correct, not fast\) \(registered: webgpu, reference\)$/i)

    const firstLoss = await startTraining(page)
    // 30 steps (the software adapter makes a few a second; the first test checks the validation at 50).
    await waitForStepsAndSample(page, 30)
    const loss = await statValue(page, 'stat-loss')
    assert.ok(loss < firstLoss - 0.5, `the loss falls: ${firstLoss} at first, ${loss} after 30 steps`)
    await page.click('#pause')
    await waitForState(page, 'paused')
    assert.ok((await sampleNow(page, { seed: 2, temperature: 0.8, length: 60 })).length > 0)
    assert.deepEqual(demo.problems, [])
  })
})
