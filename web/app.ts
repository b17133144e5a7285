/**
 * The demo page: reads the settings, starts the training worker, and draws what it reports (loss
 * curves, speed, samples). It does no arithmetic on the model itself.
 */
import { renderLossPlotSvg, type LossPoint } from '../src/train/plot.js'
import type { FromWorker, ModelSummary, SampleRequest, ToWorker, TrainSettings } from './protocol.js'

/** The default text: the start of Moby Dick, copied next to the page by scripts/build-web.mjs. */
const DEFAULT_TEXT_URL = 'moby-dick.txt'
const DEFAULT_TEXT_NAME = 'Moby Dick (excerpt)'
/** Samples kept under the newest one. */
const HISTORY_LENGTH = 5
/** Weight of the previous value in the moving average of the training loss shown as "Loss". */
const LOSS_SMOOTHING = 0.9

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`demo page: #${id} is missing or not a ${type.name}`)
  return found
}

const ui = {
  status: element('status', HTMLElement),
  alert: element('alert', HTMLElement),
  text: element('text', HTMLTextAreaElement),
  textInfo: element('text-info', HTMLElement),
  textFile: element('text-file', HTMLInputElement),
  useDefault: element('use-default', HTMLButtonElement),
  layers: element('layers', HTMLSelectElement),
  hidden: element('hidden', HTMLSelectElement),
  batch: element('batch', HTMLInputElement),
  seqLength: element('seq-length', HTMLInputElement),
  lr: element('lr', HTMLInputElement),
  seed: element('seed', HTMLInputElement),
  modelHint: element('model-hint', HTMLElement),
  train: element('train', HTMLButtonElement),
  pause: element('pause', HTMLButtonElement),
  save: element('save', HTMLButtonElement),
  modelFile: element('model-file', HTMLInputElement),
  modelInfo: element('model-info', HTMLElement),
  step: element('stat-step', HTMLElement),
  loss: element('stat-loss', HTMLElement),
  val: element('stat-val', HTMLElement),
  speed: element('stat-speed', HTMLElement),
  params: element('stat-params', HTMLElement),
  chart: element('chart', HTMLElement),
  sample: element('sample', HTMLElement),
  sampleMeta: element('sample-meta', HTMLElement),
  temperature: element('temperature', HTMLInputElement),
  temperatureValue: element('temperature-value', HTMLOutputElement),
  length: element('length', HTMLInputElement),
  sampleSeed: element('sample-seed', HTMLInputElement),
  prime: element('prime', HTMLInputElement),
  sampleNow: element('sample-now', HTMLButtonElement),
  history: element('history', HTMLOListElement),
  backend: element('backend', HTMLElement),
  engine: element('engine', HTMLElement),
}

const worker = new Worker('worker.js', { name: 'recur-training' })
const send = (message: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(message, transfer)

// ---- state

type PageState = 'starting' | 'idle' | 'training' | 'paused'
let state: PageState = 'starting'
/** The worker's backend, once it has started ('webgpu' or 'reference'). */
let backend: string | null = null
let model: ModelSummary | null = null
/** Where the text in the box came from; 'pasted text' once it is edited. */
let textName = DEFAULT_TEXT_NAME
let trainingPoints: LossPoint[] = []
let validationPoints: LossPoint[] = []
let smoothedLoss: number | null = null
let lastSample: { text: string; label: string } | null = null
/** Samples shown since the page opened (also in #sample's data-count, which the tests wait on). */
let samplesShown = 0

const numberFormat = new Intl.NumberFormat('en')
const formatLoss = (value: number): string => value.toFixed(3)

// ---- settings

function readInteger(input: HTMLInputElement | HTMLSelectElement, name: string): number {
  const value = Number(input.value)
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${input.value}"`)
  return value
}

function readSettings(): TrainSettings {
  const cell = document.querySelector<HTMLInputElement>('input[name="cell"]:checked')?.value
  if (cell !== 'rnn' && cell !== 'gru' && cell !== 'lstm') throw new Error('choose a cell: RNN, GRU or LSTM')
  const lr = Number(ui.lr.value)
  if (!(lr > 0 && lr <= 1)) throw new Error(`the learning rate must be in (0, 1], got "${ui.lr.value}"`)
  return {
    cell, layers: readInteger(ui.layers, 'Layers'), hidden: readInteger(ui.hidden, 'Hidden size'),
    batch: readInteger(ui.batch, 'Streams'), seqLength: readInteger(ui.seqLength, 'Window'), lr, seed: readInteger(ui.seed, 'Seed'),
  }
}

function readSampleRequest(): SampleRequest {
  const length = readInteger(ui.length, 'Length')
  if (length < 1) throw new Error('the sample length must be at least 1')
  return { length, temperature: Number(ui.temperature.value), seed: readInteger(ui.sampleSeed, 'Seed'), prime: ui.prime.value }
}

function updateModelHint(): void {
  const H = Number(ui.hidden.value)
  const L = Number(ui.layers.value)
  const slow = backend === 'reference' && H * Math.sqrt(L) >= 256
  ui.modelHint.textContent = slow ? 'A big model for the plain-JavaScript backend: each step takes a while.' : ''
}

/** The header's badge and the footer's line: which backend trains, on what, and why not WebGPU. */
function showBackend(message: Extract<FromWorker, { type: 'hello' }>): void {
  backend = message.backend
  const gpu = message.backend === 'webgpu'
  const where = message.adapter === null ? '' : ` on ${message.adapter.name}${message.adapter.software ? ' (a software adapter: correct, not fast)' : ''}`
  ui.engine.textContent = gpu ? 'WebGPU' : 'JavaScript'
  ui.engine.dataset['backend'] = message.backend
  ui.engine.title = gpu ? `Training on the GPU through WebGPU${where}` : `Training in plain JavaScript${message.note === null ? '' : ` (${message.note})`}`
  ui.backend.textContent = `Backend: ${message.backend}${where} (registered: ${message.backends.join(', ')})${message.note === null ? '' : ` · ${message.note}`}`
  ui.backend.dataset['backend'] = message.backend
  updateModelHint()
}

// ---- drawing

function setState(next: PageState): void {
  state = next
  const labels: Record<PageState, string> = { starting: 'Starting…', idle: 'Ready', training: 'Training', paused: 'Paused' }
  ui.status.textContent = state === 'paused' && model !== null && trainingPoints.length === 0 ? 'Model loaded' : labels[state]
  ui.status.dataset['state'] = state
  ui.train.disabled = state === 'starting'
  ui.train.textContent = model === null ? 'Train' : 'Start over'
  ui.pause.disabled = model === null || state === 'starting'
  ui.pause.textContent = state === 'training' ? 'Pause' : 'Resume'
  ui.save.disabled = model === null
  ui.sampleNow.disabled = model === null
}

function showAlert(message: string | null): void {
  ui.alert.hidden = message === null
  ui.alert.textContent = message ?? ''
}

let chartQueued = false
function drawChart(): void {
  if (chartQueued) return
  chartQueued = true
  requestAnimationFrame(() => {
    chartQueued = false
    const width = Math.max(320, Math.floor(ui.chart.clientWidth))
    // Narrow charts get relatively more height: the title, summary and legend take a fixed part.
    const height = width < 560 ? 300 : Math.round(Math.min(360, Math.max(240, width * 0.45)))
    const unit = model?.level === 'word' ? 'word' : 'character'
    ui.chart.innerHTML = renderLossPlotSvg([...trainingPoints, ...validationPoints], { title: `Loss (nats per ${unit})`, width, height })
  })
}

function drawStats(step: number | null, tokensPerSecond: number | null): void {
  ui.step.textContent = step === null ? '–' : numberFormat.format(step)
  ui.loss.textContent = smoothedLoss === null ? '–' : formatLoss(smoothedLoss)
  // The shown loss is smoothed; the first step's own loss stays readable (the tests compare with it).
  const first = trainingPoints[0]
  if (first !== undefined) ui.loss.dataset.first = String(first.loss)
  const lastVal = validationPoints.at(-1)?.valLoss
  ui.val.textContent = lastVal === undefined ? '–' : formatLoss(lastVal)
  if (tokensPerSecond !== null) ui.speed.textContent = numberFormat.format(Math.round(tokensPerSecond))
  ui.params.textContent = model === null ? '–' : numberFormat.format(model.parameters)
}

function showSample(text: string, label: string): void {
  if (lastSample !== null) {
    const item = document.createElement('li')
    const meta = document.createElement('span')
    meta.className = 'meta'
    meta.textContent = lastSample.label
    const body = document.createElement('span')
    body.className = 'text'
    body.textContent = lastSample.text
    item.append(meta, body)
    ui.history.prepend(item)
    while (ui.history.children.length > HISTORY_LENGTH) ui.history.lastElementChild!.remove()
  }
  lastSample = { text, label }
  ui.sample.dataset['count'] = String(++samplesShown)
  ui.sample.textContent = text === '' ? '(the model ended the sample at once)' : text
  ui.sampleMeta.textContent = label
}

function resetRun(): void {
  trainingPoints = []
  validationPoints = []
  smoothedLoss = null
  lastSample = null
  ui.history.replaceChildren()
  ui.sample.innerHTML = '<span class="placeholder">The first sample comes after a few seconds of training.</span>'
  ui.sampleMeta.textContent = ''
  ui.speed.textContent = '–'
  drawChart()
}

function describeText(): void {
  const text = ui.text.value
  const characters = new Set(text).size
  const kilobytes = new Blob([text]).size / 1024
  const size = kilobytes >= 1024 ? `${(kilobytes / 1024).toFixed(1)} MB` : `${Math.round(kilobytes)} KB`
  ui.textInfo.textContent = text === '' ? 'No text yet.' : `${textName} · ${size} · ${numberFormat.format(characters)} distinct characters`
}

// ---- the worker's reports

worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
  const message = event.data
  switch (message.type) {
    case 'hello':
      showBackend(message)
      setState('idle')
      return
    case 'model':
      model = message.summary
      if (message.loaded) {
        resetRun()
        ui.sample.innerHTML = '<span class="placeholder">Model loaded. Press Sample now, or Resume to train it on the text on the left.</span>'
        ui.modelInfo.textContent =
          `Loaded: ${model.title}, vocabulary ${numberFormat.format(model.vocabularySize)}, ` +
          `${numberFormat.format(model.step)} steps trained${model.corpus === null ? '' : ` on ${model.corpus}`}.`
        drawStats(model.step, null)
        setState('paused')
      } else {
        ui.modelInfo.textContent = `${model.title} · vocabulary ${numberFormat.format(model.vocabularySize)} · ` +
          `${numberFormat.format(model.trainTokens)} training + ${numberFormat.format(model.valTokens)} validation ${model.level === 'word' ? 'words' : 'characters'}`
        drawStats(model.step, null)
      }
      return
    case 'state':
      setState(message.state === 'paused' && model === null ? 'idle' : message.state)
      return
    case 'progress': {
      for (const point of message.points) {
        trainingPoints.push(point)
        smoothedLoss = smoothedLoss === null ? point.loss : LOSS_SMOOTHING * smoothedLoss + (1 - LOSS_SMOOTHING) * point.loss
      }
      if (message.valLoss !== null) validationPoints.push({ step: message.step, valLoss: message.valLoss })
      if (model !== null) model.step = message.step
      drawStats(message.step, message.tokensPerSecond)
      drawChart()
      return
    }
    case 'sample': {
      const what = message.manual ? `seed ${message.seed}` : 'while training'
      showSample(message.text, `step ${numberFormat.format(message.step)} · temperature ${message.temperature.toFixed(2)} · ${what}`)
      if (message.manual) ui.sampleNow.textContent = 'Sample now'
      return
    }
    case 'saved': {
      const url = URL.createObjectURL(new Blob([message.bytes], { type: 'application/octet-stream' }))
      const link = document.createElement('a')
      link.href = url
      link.download = message.fileName
      document.body.append(link)
      link.click()
      link.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      ui.save.textContent = 'Save model'
      ui.modelInfo.textContent = `Saved ${message.fileName} (${numberFormat.format(Math.ceil(message.bytes.byteLength / 1024))} KB). Try: recur sample ${message.fileName}`
      return
    }
    case 'error':
      if (message.during === 'sample') ui.sampleNow.textContent = 'Sample now'
      if (message.during === 'save') ui.save.textContent = 'Save model'
      showAlert(message.message)
      return
  }
})

// ---- controls

function guard(action: () => void): () => void {
  return () => {
    try {
      showAlert(null)
      action()
    } catch (error) {
      showAlert(error instanceof Error ? error.message : String(error))
    }
  }
}

ui.train.addEventListener('click', guard(() => {
  const text = ui.text.value
  if (text.trim() === '') throw new Error('There is no text to learn from: paste some, open a file, or pick Moby Dick.')
  const settings = readSettings()
  resetRun()
  send({ type: 'train', text, corpusName: textName, settings, temperature: Number(ui.temperature.value) })
  // On one column (a phone), the results are below the settings: bring them into view.
  if (matchMedia('(max-width: 860px)').matches) document.querySelector('.results')?.scrollIntoView({ behavior: 'smooth' })
}))

ui.pause.addEventListener('click', guard(() => {
  if (state === 'training') send({ type: 'pause' })
  else send({ type: 'resume', text: ui.text.value, corpusName: textName, temperature: Number(ui.temperature.value) })
}))

ui.save.addEventListener('click', guard(() => {
  ui.save.textContent = 'Saving…'
  send({ type: 'save' })
}))

ui.modelFile.addEventListener('change', () => {
  const file = ui.modelFile.files?.[0]
  if (file === undefined) return
  showAlert(null)
  void file.arrayBuffer().then((bytes) => {
    send({ type: 'load', bytes, name: file.name }, [bytes])
    ui.modelFile.value = ''
  })
})

ui.sampleNow.addEventListener('click', guard(() => {
  const request = readSampleRequest()
  ui.sampleNow.textContent = 'Sampling…'
  send({ type: 'sample', request })
}))

ui.temperature.addEventListener('input', () => {
  ui.temperatureValue.value = Number(ui.temperature.value).toFixed(2)
  send({ type: 'temperature', value: Number(ui.temperature.value) })
})

ui.text.addEventListener('input', () => {
  textName = 'pasted text'
  describeText()
})

ui.textFile.addEventListener('change', () => {
  const file = ui.textFile.files?.[0]
  if (file === undefined) return
  void file.text().then((text) => {
    ui.text.value = text
    textName = file.name
    ui.textFile.value = ''
    describeText()
  })
})

async function loadDefaultText(): Promise<void> {
  const response = await fetch(DEFAULT_TEXT_URL)
  if (!response.ok) throw new Error(`could not load ${DEFAULT_TEXT_URL} (HTTP ${response.status})`)
  ui.text.value = await response.text()
  textName = DEFAULT_TEXT_NAME
  describeText()
}

ui.useDefault.addEventListener('click', () => {
  showAlert(null)
  loadDefaultText().catch((error: unknown) => showAlert(String(error)))
})
ui.layers.addEventListener('change', updateModelHint)
ui.hidden.addEventListener('change', updateModelHint)
new ResizeObserver(() => drawChart()).observe(ui.chart)

setState('starting')
drawStats(null, null)
drawChart()
loadDefaultText().catch((error: unknown) => showAlert(String(error)))
