/**
 * The demo's Web Worker: it owns the model and trains it in time slices of SLICE_MS, so that
 * between slices it reads the page's messages (pause, sample now, save, load, temperature). After
 * every slice it posts the slice's losses and the speed; every SAMPLE_EVERY_S seconds of training
 * it posts a sample. All work runs one job at a time, in the order asked for.
 */
import { RecurError, backendNames, backendStatus, resolveBackend, type Kernels } from '../src/browser.js'
import type { AdapterNote, FromWorker, SampleRequest, ToWorker } from './protocol.js'
import { TRAINING_SAMPLE_LENGTH, TrainingSession } from './session.js'

/** The part of a dedicated worker's global scope used here (the DOM library types `self` as a Window). */
interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void
}
const scope = self as unknown as WorkerScope

/** Milliseconds of training between two looks at the page's messages. */
const SLICE_MS = 120
/** Seconds of training between two samples shown while training. */
const SAMPLE_EVERY_S = 4
/** Weight of the previous speed in the moving average of tokens per second. */
const SPEED_SMOOTHING = 0.8

let kernels: Kernels | null = null
let session: TrainingSession | null = null
let training = false
let temperature = 0.8
/** Seconds spent training this session, and when the last sample was shown. */
let trainingSeconds = 0
let lastSampleAt = 0
let tokensPerSecond = 0
/** Each start of the training loop gets a new number, so a loop left over from before a pause stops. */
let loopGeneration = 0

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer)
}

function describe(error: unknown): string {
  if (error instanceof RecurError) return error.message
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** Jobs run one after another, whether they come from a message or from the training loop. */
let queue: Promise<void> = Promise.resolve()
function enqueue(during: ToWorker['type'], job: () => Promise<void> | void): Promise<void> {
  queue = queue.then(job).catch((error: unknown) => {
    if (during === 'train' || during === 'resume') setTraining(false)
    post({ type: 'error', message: describe(error), during })
  })
  return queue
}

function setTraining(on: boolean): void {
  if (training === on) return
  training = on
  post({ type: 'state', state: on ? 'training' : 'paused' })
  if (on) void loop()
}

/** Lets the worker read its messages between slices. */
const yieldToMessages = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

async function loop(): Promise<void> {
  const generation = ++loopGeneration
  while (training && generation === loopGeneration) {
    await enqueue('train', slice)
    await yieldToMessages()
  }
}

async function slice(): Promise<void> {
  if (!training || session === null) return
  const start = performance.now()
  const result = await session.train(SLICE_MS)
  const seconds = (performance.now() - start) / 1000
  trainingSeconds += seconds
  const speed = result.tokens / Math.max(seconds, 1e-6)
  tokensPerSecond = tokensPerSecond === 0 ? speed : SPEED_SMOOTHING * tokensPerSecond + (1 - SPEED_SMOOTHING) * speed
  post({ type: 'progress', points: result.points, step: session.step, valLoss: result.valLoss, tokensPerSecond, seconds: trainingSeconds })
  if (trainingSeconds - lastSampleAt >= SAMPLE_EVERY_S) {
    lastSampleAt = trainingSeconds
    await postSample({ length: TRAINING_SAMPLE_LENGTH[session.tokenizer.level], temperature, seed: session.settings.seed + session.step, prime: '' }, false)
  }
}

async function postSample(request: SampleRequest, manual: boolean): Promise<void> {
  if (session === null) throw new RecurError('STATE', 'there is no model to sample from yet', 'Train one or load a model file')
  const text = await session.sample(request)
  post({ type: 'sample', text, step: session.step, temperature: request.temperature, seed: request.seed, manual })
}

function startSession(next: TrainingSession, loaded: boolean): void {
  session = next
  trainingSeconds = 0
  lastSampleAt = 0
  tokensPerSecond = 0
  post({ type: 'model', summary: next.summary(), loaded })
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'train':
      setTraining(false)
      temperature = message.temperature
      void enqueue('train', () => {
        startSession(TrainingSession.create(kernels!, message.text, message.corpusName, message.settings), false)
        setTraining(true)
      })
      return
    case 'resume':
      temperature = message.temperature
      void enqueue('resume', () => {
        if (session === null) throw new RecurError('STATE', 'there is no model to train yet', 'Press Train')
        if (!session.hasText) {
          session.useText(message.text, message.corpusName)
          post({ type: 'model', summary: session.summary(), loaded: false })
        }
        setTraining(true)
      })
      return
    case 'pause':
      setTraining(false)
      return
    case 'temperature':
      temperature = message.value
      return
    case 'sample':
      void enqueue('sample', () => postSample(message.request, true))
      return
    case 'save':
      void enqueue('save', async () => {
        if (session === null) throw new RecurError('STATE', 'there is no model to save yet', 'Train one first')
        const bytes = await session.save()
        const buffer = bytes.slice().buffer
        post({ type: 'saved', bytes: buffer, fileName: session.fileName() }, [buffer])
      })
      return
    case 'load':
      setTraining(false)
      void enqueue('load', () => startSession(TrainingSession.load(kernels!, new Uint8Array(message.bytes), message.name), true))
      return
  }
}

/**
 * The backend: WebGPU wherever the browser offers an adapter, a software one included (unlike the
 * registry's automatic choice, which skips software adapters because Node has the native CPU
 * backend: here the only other backend is plain JavaScript); otherwise the reference backend, with
 * the reason WebGPU is not used.
 */
async function startBackend(): Promise<{ kernels: Kernels; note: string | null }> {
  if (!backendNames().includes('webgpu')) return { kernels: await resolveBackend('reference'), note: 'this browser offers no WebGPU' }
  try {
    return { kernels: await resolveBackend('webgpu'), note: null }
  } catch {
    const reason = (await backendStatus()).find((s) => s.name === 'webgpu')?.reason ?? 'it did not start'
    return { kernels: await resolveBackend('reference'), note: `WebGPU unavailable: ${reason}` }
  }
}

/** The WebGPU backend's adapter, when that is the backend. */
function adapterOf(k: Kernels): AdapterNote | null {
  const adapter = (k as { adapter?: { name?: unknown; software?: unknown } }).adapter
  return adapter === undefined ? null : { name: String(adapter.name), software: adapter.software === true }
}

// Messages that arrive before the backend has started wait for it.
const started = startBackend().then(({ kernels: k, note }) => {
  kernels = k
  post({ type: 'hello', backend: k.name, backends: backendNames(), adapter: adapterOf(k), note })
})
started.catch((error: unknown) => post({ type: 'error', message: describe(error), during: 'startup' }))
scope.addEventListener('message', (event) => {
  void started.then(() => handle(event.data))
})
