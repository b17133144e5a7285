/**
 * What the demo's worker does with a model, with no DOM and no messages in it (so Node tests can
 * drive it too): build a character model from text, train it in time slices with a validation loss
 * every VAL_EVERY steps, sample from it exactly as `recur sample` does, and save / load model files
 * as bytes.
 */
import {
  LanguageModel, LanguageModelTrainer, RecurError, Vocabulary,
  decodeLanguageModel, defaultTokenizerOptions, detokenize, encodeLanguageModel, evaluateStream, resolveTrainConfig, sampleTokens, tokenize,
  type Kernels, type LanguageModelBundle, type TokenizerOptions, type TrainerOptions, type TrainerState, type TrainingInfo,
} from '../src/browser.js'
import type { ModelSummary, ProgressPoint, SampleRequest, TrainSettings } from './protocol.js'

/**
 * The page's defaults: small enough that the loss falls and the samples turn into words within a
 * minute on the reference backend. Measured in headless Chromium on a busy 2-core virtual machine:
 * about 6 steps (3,000 to 4,500 characters) a second, a training loss near 2.1 nats and samples
 * with real words after 45 seconds; a laptop is faster. (A 1 x 64 GRU learns faster per second than
 * an LSTM of the same width here, and 16 x 32-character windows give more updates per second than
 * the CLI's 16 x 64.)
 */
export const DEFAULT_SETTINGS: TrainSettings = { cell: 'gru', layers: 1, hidden: 64, batch: 16, seqLength: 32, lr: 0.01, seed: 1 }

/** The end of the text held out for validation, as `recur train --val-fraction` (default 0.1). */
export const VAL_FRACTION = 0.1
/** Validation tokens used while training (the start of the held-out part), as `--val-tokens`. */
export const VAL_TOKENS = 4000
/** Steps between validations. */
export const VAL_EVERY = 50
/**
 * The page trains until paused, at a constant learning rate; this is the step count recorded in the
 * file's training options (a schedule's horizon), so `recur train --resume` on the file goes on too.
 */
export const OPEN_ENDED_STEPS = 1_000_000

/** Tokens a sample shown while training has, by tokenizer level (as `recur train` prints them). */
export const TRAINING_SAMPLE_LENGTH = { char: 200, word: 40 } as const

/** Model, vocabulary and tokenizer: what sampling needs. */
export type SamplingBundle = Pick<LanguageModelBundle, 'model' | 'vocabulary' | 'tokenizer'>

/**
 * A sample as `recur sample` gives it for the same model, seed, temperature and length: the prime
 * is tokenized with the model's tokenizer (no `<EOS>`), tokens outside the vocabulary read as
 * `<UNK>` (`--unknown unk`), `<UNK>` draws are drawn again and `<EOS>` ends the sample (the
 * defaults), and the tokens are detokenized as the `text` of `recur sample --json`. The prime
 * begins the returned text, as the command prints it first.
 */
export async function sampleText(bundle: SamplingBundle, request: SampleRequest): Promise<string> {
  const { model, vocabulary, tokenizer } = bundle
  const prime = vocabulary.encode(tokenize(request.prime, { ...tokenizer, eos: 'none' }))
  const ids: number[] = []
  for await (const id of sampleTokens(model, vocabulary, { length: request.length, temperature: request.temperature, seed: request.seed, prime })) ids.push(id)
  const text = detokenize(vocabulary.decode(ids), tokenizer)
  const separator = request.prime !== '' && text !== '' && tokenizer.level === 'word' ? ' ' : ''
  return request.prime + separator + text
}

/** The result of one time slice of training. */
export interface SliceResult {
  points: ProgressPoint[]
  /** Validation loss, when this slice ended at a validation step. */
  valLoss: number | null
  tokens: number
}

interface TextData {
  corpusName: string
  tokens: number
  trainIds: Int32Array
  valIds: Int32Array
}

/** One model in the page: created from text and settings, or loaded from a file. */
export class TrainingSession {
  readonly model: LanguageModel
  readonly vocabulary: Vocabulary
  readonly tokenizer: TokenizerOptions
  /** Training settings (a loaded model's come from its file). */
  readonly settings: TrainSettings
  private trainer: LanguageModelTrainer | null = null
  private data: TextData | null = null
  /** A loaded file's record, kept until this page trains the model. */
  private fileTraining: TrainingInfo | null
  private fileTrainerState: TrainerState | null
  private fileValidationIds: Int32Array | null
  private lastValLoss: number | null
  private readonly loadedStep: number

  private constructor(bundle: LanguageModelBundle, settings: TrainSettings) {
    this.model = bundle.model
    this.vocabulary = bundle.vocabulary
    this.tokenizer = bundle.tokenizer
    this.settings = settings
    this.fileTraining = bundle.training
    this.fileTrainerState = bundle.trainerState
    this.fileValidationIds = bundle.validationIds
    this.lastValLoss = bundle.training?.valLoss ?? null
    this.loadedStep = bundle.trainerState?.step ?? 0
  }

  /**
   * A new character-level model for `text` (its vocabulary is the text's characters).
   * @throws RecurError 'OPTION' for a setting out of range, 'DATA' for a text too short to train on.
   */
  static create(kernels: Kernels, text: string, corpusName: string, settings: TrainSettings): TrainingSession {
    const config = resolveTrainConfig({ ...settings })
    const tokenizer = defaultTokenizerOptions('char')
    const vocabulary = Vocabulary.build(tokenize(text, tokenizer))
    const architecture = {
      cell: config.cell, layers: config.layers, hidden: config.hidden, vocabularySize: vocabulary.size,
      embedding: 0, dropout: 0, reset: config.reset, peephole: config.peephole,
    }
    const model = new LanguageModel(kernels, architecture, config.seed)
    const session = new TrainingSession({ model, vocabulary, tokenizer, training: null, trainerState: null, validationIds: null }, { ...settings })
    session.useText(text, corpusName)
    return session
  }

  /** A model from model-file bytes (saved by this page or by `recur train`). */
  static load(kernels: Kernels, bytes: Uint8Array, fileName: string): TrainingSession {
    const bundle = decodeLanguageModel(bytes, kernels, fileName)
    const options = bundle.training?.options
    const settings: TrainSettings = {
      cell: bundle.model.architecture.cell, layers: bundle.model.architecture.layers, hidden: bundle.model.architecture.hidden,
      batch: options?.batch ?? DEFAULT_SETTINGS.batch, seqLength: options?.seqLength ?? DEFAULT_SETTINGS.seqLength,
      lr: options?.lr ?? DEFAULT_SETTINGS.lr, seed: options?.seed ?? DEFAULT_SETTINGS.seed,
    }
    return new TrainingSession(bundle, settings)
  }

  /** Whether training can go on without new text. */
  get hasText(): boolean {
    return this.data !== null
  }

  get step(): number {
    return this.trainer?.step ?? this.loadedStep
  }

  /**
   * Sets the text to train on (a loaded model's first resume): tokenized with the model's
   * tokenizer, unknown tokens read as `<UNK>`, its end held out for validation. A training state
   * recorded in a loaded file is restored when it fits this text; otherwise the optimizer starts
   * afresh from the loaded weights.
   * @throws RecurError 'DATA' when the text is too short for one window of every stream.
   */
  useText(text: string, corpusName: string): void {
    if (this.trainer !== null) throw new RecurError('STATE', 'useText: this model already has its training text')
    const tokens = tokenize(text, this.tokenizer)
    const ids = this.vocabulary.encode(tokens)
    const valCount = Math.floor(ids.length * VAL_FRACTION)
    const trainIds = ids.subarray(0, ids.length - valCount)
    const valIds = ids.slice(ids.length - valCount)
    const { batch, seqLength, lr, seed } = this.settings
    const needed = batch * (seqLength + 1)
    if (trainIds.length < needed) {
      throw new RecurError('DATA', `the text has ${trainIds.length} training characters, fewer than one window for every stream (${batch} x ${seqLength + 1} = ${needed})`, 'Paste a longer text, or lower the batch or the window length')
    }
    const saved = this.fileTraining?.options
    const options: Partial<TrainerOptions> = {
      ...saved, batch, seqLength, lr, seed, steps: Math.max(OPEN_ENDED_STEPS, saved?.steps ?? 0), schedule: 'constant',
    }
    const trainer = new LanguageModelTrainer(this.model, trainIds, options)
    const state = this.fileTrainerState
    if (state !== null && state.position < trainer.streams.windows) trainer.setState(state)
    else if (state !== null) trainer.step = state.step
    this.trainer = trainer
    this.data = { corpusName, tokens: ids.length, trainIds, valIds }
    this.fileTrainerState = null
    this.fileValidationIds = null
  }

  /**
   * Trains for about `budgetMs` milliseconds (at least one step), then validates if a multiple of
   * VAL_EVERY steps was reached. Steps go through the trainer's guard, as in `recur train`: a step
   * whose loss or gradient norm is not finite updates nothing and halves the learning rate.
   * @throws RecurError 'NON_FINITE' when the guard stops the run (5 such steps in a row); the
   *   model keeps the weights of its last finite step, so it can still be sampled and saved.
   */
  async train(budgetMs: number): Promise<SliceResult> {
    const trainer = this.trainer
    if (trainer === null) throw new RecurError('STATE', 'train: the model has no training text yet')
    const start = performance.now()
    const points: ProgressPoint[] = []
    let validate = false
    do {
      const { step, loss, gradNorm, verdict } = await trainer.trainStepGuarded()
      if (verdict === 'stop') {
        throw new RecurError(
          'NON_FINITE', `training stopped at step ${step}: the loss was ${loss} and the gradient norm ${gradNorm}, step after step; the model keeps the weights of its last finite step`,
          `Save or sample it, or start again with a lower learning rate (now ${this.settings.lr})`,
        )
      }
      if (verdict === 'skip') continue
      points.push({ step: trainer.step, loss })
      if (trainer.step % VAL_EVERY === 0) validate = true
    } while (!validate && performance.now() - start < budgetMs)
    const valLoss = validate ? await this.validate() : null
    return { points, valLoss, tokens: points.length * trainer.options.batch * trainer.options.seqLength }
  }

  /** Mean loss (nats per token) on the start of the held-out text, as `recur train` measures it. */
  async validate(): Promise<number | null> {
    const valIds = this.data?.valIds
    if (valIds === undefined || valIds.length < 2) return null
    const subset = valIds.subarray(0, VAL_TOKENS)
    const streams = Math.min(this.settings.batch, Math.max(1, Math.floor(subset.length / 512)))
    this.lastValLoss = (await evaluateStream(this.model, subset, { streams, window: 128 })).loss
    return this.lastValLoss
  }

  sample(request: SampleRequest): Promise<string> {
    return sampleText(this, request)
  }

  /** Model-file bytes: the model, its vocabulary and, once trained here, its training state. */
  async save(): Promise<Uint8Array> {
    const { model, vocabulary, tokenizer } = this
    if (this.trainer === null || this.data === null) {
      return encodeLanguageModel({ model, vocabulary, tokenizer, training: this.fileTraining, trainerState: this.fileTrainerState, validationIds: this.fileValidationIds })
    }
    const training: TrainingInfo = {
      options: this.trainer.options,
      corpus: { name: this.data.corpusName, tokens: this.data.tokens, valFraction: VAL_FRACTION },
      ...(this.lastValLoss === null ? {} : { valLoss: this.lastValLoss }),
    }
    const validationIds = this.data.valIds.length > 0 ? this.data.valIds : null
    return encodeLanguageModel({ model, vocabulary, tokenizer, training, trainerState: await this.trainer.getState(), validationIds })
  }

  /** A file name for a download, e.g. 'recur-gru-1x64-step500.recur'. */
  fileName(): string {
    const a = this.model.architecture
    return `recur-${a.cell}-${a.layers}x${a.hidden}-step${this.step}.recur`
  }

  summary(): ModelSummary {
    const a = this.model.architecture
    return {
      title: `${this.tokenizer.level}-level ${a.cell.toUpperCase()}, ${a.layers} x ${a.hidden}`,
      cell: a.cell, layers: a.layers, hidden: a.hidden, level: this.tokenizer.level,
      vocabularySize: a.vocabularySize, parameters: this.model.params.size, step: this.step,
      corpus: this.data?.corpusName ?? this.fileTraining?.corpus.name ?? null,
      trainTokens: this.data?.trainIds.length ?? 0, valTokens: this.data?.valIds.length ?? 0,
    }
  }
}
