/**
 * What the sequence tasks share (classify, tag, translate): one settings table with a documented
 * default per field, reading datasets and splitting them, text -> token ids, the supervised
 * training loop, and the command-line side of training and prediction (progress bar, CSV log and
 * SVG plot beside the model, checkpoints, Ctrl-C, `--json`, input from a file or standard input).
 *
 * The library part (sections 1-4) never prints; the CLI part (section 5) writes only to the `Io`
 * it is given. A task module builds on it like this:
 *
 *     const config = resolveTaskConfig(MY_FIELDS, partial)        // defaults + checks
 *     const tokenizer = inputTokenizer(config)
 *     const vocabulary = buildInputVocabulary(tokenLists, config) // <PAD>, <UNK>, then by count
 *     const outcome = await trainTask(session, config, hooks)     // session: the model's batches
 *
 * Conventions, stated once:
 * - Input text is tokenized with the shared tokenizer (`../text/tokenizers.ts`) without `<EOS>`
 *   markers; an input given as a JSON array is taken as tokens already (lower-cased when the
 *   tokenizer lower-cases). `splitTokens` cuts at whitespace instead, for per-token labels.
 * - Input vocabularies start with `<PAD>` (id 0) and `<UNK>` (id 1); unknown tokens read as `<UNK>`.
 * - Batches are padded on the right with masks (`../data/batches.ts`), optionally length-bucketed.
 * - Steps: `steps` when it is > 0, else `epochs` passes over the training examples.
 * - Validation: after every epoch (or every `valEvery` steps) and at the end; each task reports a
 *   loss and one metric, higher is better. With `keepBest`, the weights of the best metric are kept
 *   (ties go to the lower validation loss).
 */

import { readFile, rm, writeFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'

import { TRAIN_FIELDS, checkSetting, flagName, type SettingField } from '../config.js'
import { batchOrder, gridLength, longestLength, padBatch, splitTrainValidation, type PaddedBatch } from '../data/batches.js'
import { readDataset } from '../data/datasets.js'
import { DATASET_FORMATS, formatFromPath, parseDataset, type DatasetFormat, type DatasetRecord, type FieldValue } from '../data/parse.js'
import { didYouMean } from '../data/suggest.js'
import { RecurError } from '../errors.js'
import type { Kernels } from '../kernels/types.js'
import { decodeTaskModel, type TaskBundle, type TaskKind, type TaskTrainingInfo } from '../models/task-file.js'
import type { ParamStore } from '../params.js'
import { Random } from '../random.js'
import { decodeCorpus } from '../text/corpus.js'
import { PAD, UNK } from '../text/special-tokens.js'
import { tokenize, type TokenizerOptions } from '../text/tokenizers.js'
import { Vocabulary } from '../text/vocabulary.js'
import { betweenSteps, prepareOutput } from '../train/checkpoint.js'
import { LastGoodCheckpoint, describeFailedStep, divergenceError, type DivergenceReport } from '../train/guard.js'
import { readTrainingLog, TrainingLogWriter } from '../train/log.js'
import { renderLossPlotSvg } from '../train/plot.js'
import { SupervisedTrainer, type TrainingSnapshot } from '../train/supervised.js'
import type { FlagSpec } from '../cli/args.js'
import { interruptedExitCode, type Io } from '../cli/common.js'
import { formatDuration, formatFixed } from '../cli/format.js'
import { ProgressBar } from '../cli/progress.js'

// ---------------------------------------------------------------------------------------------
// 1. Settings: one table per task, each field with its type, default, bounds and description.

/**
 * One setting: the CLI flag `--kebab-name` and the config field `camelName` come from it. Absent
 * `default`: it depends on other settings, as the description says (see `resolveTaskConfig`).
 */
export type ConfigField = SettingField

/**
 * The settings every sequence task has. Task modules add their own fields and change defaults.
 * Those that mean what they mean for a language model (`recur train`) are its fields, in `../config.ts`.
 */
export const TASK_FIELDS = {
  cell: { ...TRAIN_FIELDS.cell, default: 'gru' },
  layers: { ...TRAIN_FIELDS.layers, default: 1 },
  hidden: { type: 'int', default: 64, min: 1, max: 8192, description: 'Hidden units per layer and direction (H)' },
  bidirectional: { type: 'boolean', default: false, description: 'Read the input in both directions' },
  embedding: { type: 'int', default: -1, min: -1, max: 8192, description: 'Embedding width; 0 = one-hot input, -1 = 0 at char level, 64 at word level' },
  dropout: TRAIN_FIELDS.dropout,
  reset: TRAIN_FIELDS.reset,
  peephole: TRAIN_FIELDS.peephole,
  inputLevel: { type: 'enum', values: ['char', 'word'], default: 'word', description: 'Input tokens: characters or words' },
  lowercase: { type: 'boolean', description: 'Lower-case the input (default: on at word level, off at char level)' },
  vocabSize: { type: 'int', default: 0, min: 0, description: 'Largest input vocabulary, <PAD> and <UNK> included (0 = no limit)' },
  minCount: { type: 'int', default: 1, min: 1, description: 'Leave out input tokens seen fewer times (they become <UNK>)' },
  maxLength: { type: 'int', default: 0, min: 0, description: 'Keep the first N input tokens of each example (0 = all)' },
  batch: { type: 'int', default: 32, min: 1, max: 65536, description: 'Examples per step (B)' },
  epochs: { type: 'int', default: 10, min: 1, description: 'Passes over the training examples (when --steps is 0)' },
  steps: { type: 'int', default: 0, min: 0, description: 'Training steps (0 = --epochs passes)' },
  lr: { ...TRAIN_FIELDS.lr, default: 0.005 },
  optimizer: TRAIN_FIELDS.optimizer,
  weightDecay: TRAIN_FIELDS.weightDecay,
  schedule: TRAIN_FIELDS.schedule,
  warmup: TRAIN_FIELDS.warmup,
  clip: TRAIN_FIELDS.clip,
  nanPolicy: TRAIN_FIELDS.nanPolicy,
  nanLimit: TRAIN_FIELDS.nanLimit,
  seed: { type: 'int', default: 1, min: 0, max: 4294967295, description: 'Random seed (weights, split, batch order, dropout)' },
  valFraction: { type: 'number', default: 0.1, min: 0, max: 0.5, description: 'Share of the examples held out for validation when no --valid file is given' },
  valEvery: { type: 'int', default: 0, min: 0, description: 'Validate every N steps (0 = after each epoch)' },
  keepBest: { type: 'boolean', default: true, description: 'Keep the weights with the best validation score (--no-keep-best keeps the last)' },
  checkpointEvery: TRAIN_FIELDS.checkpointEvery,
  bucket: { type: 'boolean', default: true, description: 'Batch examples of similar length together (less padding)' },
} as const satisfies Record<string, ConfigField>

export type TaskFields = Readonly<Record<string, ConfigField>>

type FieldType<F extends ConfigField> = F['type'] extends 'enum'
  ? F extends { readonly values: readonly (infer V extends string)[] } ? V : string
  : F['type'] extends 'boolean' ? boolean : F['type'] extends 'string' ? string : number

/** The resolved settings of a table: one value per field. */
export type ConfigOf<F extends TaskFields> = { -readonly [K in keyof F]: FieldType<F[K]> }

/** The settings every task has, resolved. */
export type TaskConfig = ConfigOf<typeof TASK_FIELDS>

/**
 * Fills in the defaults of `fields` and checks every value: the type, the allowed values and the
 * bounds. Defaults that depend on other settings: `lowercase` (on at word level), `embedding` -1
 * (0 at char level, 64 at word level).
 * @throws RecurError 'OPTION' naming the field, for an unknown field or a bad value.
 */
export function resolveTaskConfig<F extends TaskFields>(fields: F, partial: Partial<ConfigOf<F>> = {}, what = 'config'): ConfigOf<F> {
  const config: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(fields)) config[name] = f.default
  for (const [name, value] of Object.entries(partial)) {
    if (!Object.hasOwn(fields, name)) {
      throw new RecurError('OPTION', `${what}: unknown field '${name}'`, `${didYouMean(name, Object.keys(fields))}the fields are ${Object.keys(fields).join(', ')}`)
    }
    if (value !== undefined) config[name] = value
  }
  if ('lowercase' in fields && config['lowercase'] === undefined) config['lowercase'] = config['inputLevel'] === 'word'
  if ('embedding' in fields && config['embedding'] === -1) config['embedding'] = config['inputLevel'] === 'char' ? 0 : 64
  for (const [name, f] of Object.entries(fields)) checkSetting(what, name, f, config[name], f.description)
  return config as ConfigOf<F>
}

/** The CLI flags of a settings table, in table order (`valFraction` -> `--val-fraction`). */
export function configFlags(fields: TaskFields): FlagSpec[] {
  return Object.entries(fields).map(([name, f]) => ({
    name: flagName(name),
    type: f.type,
    description: f.description,
    ...(f.default === undefined ? {} : { default: f.default }),
    ...(f.values === undefined ? {} : { values: f.values }),
    ...(f.min === undefined ? {} : { min: f.min }),
    ...(f.max === undefined ? {} : { max: f.max }),
    ...(f.placeholder === undefined ? {} : { placeholder: f.placeholder }),
  }))
}

/** The settings typed on the command line (only those: the rest come from `resolveTaskConfig`). */
export function givenSettings<F extends TaskFields>(fields: F, values: Readonly<Record<string, unknown>>, given: ReadonlySet<string>): Partial<ConfigOf<F>> {
  const partial: Record<string, unknown> = {}
  for (const name of Object.keys(fields)) if (given.has(name)) partial[name] = values[name]
  return partial as Partial<ConfigOf<F>>
}

/** The encoder part of a model's architecture from the settings. */
export function encoderArchitecture(config: TaskConfig, vocabularySize: number) {
  return {
    cell: config.cell, layers: config.layers, hidden: config.hidden, vocabularySize, embedding: config.embedding,
    bidirectional: config.bidirectional, merge: 'concat' as const, dropout: config.dropout, reset: config.reset, peephole: config.peephole,
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Data: records with where they came from, train/validation split.

/** One record of a dataset and where it is, for messages: "train.jsonl line 7". */
export interface SourcedRecord {
  fields: DatasetRecord
  where: string
}

/**
 * Reads a dataset file (format from the extension unless given) with the fields every record
 * must have. @throws what `readDataset` throws ('FILE', 'DATA', 'FORMAT', 'OPTION').
 */
export async function readRecords(path: string, fields: readonly string[], format?: DatasetFormat): Promise<SourcedRecord[]> {
  const dataset = await readDataset(path, { fields, ...(format === undefined ? {} : { format }) })
  return dataset.records.map((record, i) => ({ fields: record, where: `${path} line ${dataset.lines[i]}` }))
}

/** Where training and validation examples come from. */
export interface TrainingDataOptions {
  /** The training dataset. */
  data: string
  /** A separate validation dataset; without one, `valFraction` of `data` is held out. */
  valid?: string | undefined
  format?: DatasetFormat | undefined
  fields: readonly string[]
  valFraction: number
  seed: number
}

/** Reads the training data and its validation part (a file, a seeded random share, or none). */
export async function readTrainingData(options: TrainingDataOptions): Promise<{ train: SourcedRecord[]; validation: SourcedRecord[]; validationSource: string }> {
  const all = await readRecords(options.data, options.fields, options.format)
  if (options.valid !== undefined) {
    return { train: all, validation: await readRecords(options.valid, options.fields, options.format), validationSource: options.valid }
  }
  if (options.valFraction === 0 || all.length < 2) return { train: all, validation: [], validationSource: 'none' }
  const split = splitTrainValidation(all.length, options.valFraction, new Random(options.seed))
  return {
    train: split.train.map((i) => all[i]!),
    validation: split.validation.map((i) => all[i]!),
    validationSource: `${Math.round(options.valFraction * 100)}% of ${options.data}`,
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Text -> token ids

/** The input tokenizer of a task: the shared tokenizer at `inputLevel`, without <EOS> markers. */
export function inputTokenizer(config: Pick<TaskConfig, 'inputLevel' | 'lowercase'>): TokenizerOptions {
  return { level: config.inputLevel, lowercase: config.lowercase, punctuation: 'keep', eos: 'none' }
}

/**
 * The tokens of a text field: a string goes through the tokenizer; an array is tokens already
 * (lower-cased when the tokenizer lower-cases; empty items dropped).
 */
export function textTokens(value: FieldValue, tokenizer: TokenizerOptions): string[] {
  if (Array.isArray(value)) return value.filter((token) => token !== '').map((token) => (tokenizer.lowercase ? token.toLowerCase() : token))
  return tokenize(value as string, tokenizer)
}

/**
 * The tokens of a text field whose tokens must line up with per-token labels: at word level a
 * string is cut at whitespace only (punctuation stays attached, as in CoNLL files), at char level
 * it is one token per code point; an array is tokens already. Lower-cased when the tokenizer is.
 */
export function splitTokens(value: FieldValue, tokenizer: TokenizerOptions): string[] {
  let tokens: string[]
  if (Array.isArray(value)) tokens = value.slice()
  else if (tokenizer.level === 'char') tokens = [...(value as string)]
  else {
    const trimmed = (value as string).trim()
    tokens = trimmed === '' ? [] : trimmed.split(/\s+/u)
  }
  return tokenizer.lowercase ? tokens.map((token) => token.toLowerCase()) : tokens
}

/** The specials every input vocabulary starts with: <PAD> (id 0), <UNK> (id 1). */
export const INPUT_SPECIALS: readonly string[] = Object.freeze([PAD, UNK])

/** An input vocabulary from the training examples' tokens, limited by `vocabSize` and `minCount`. */
export function buildInputVocabulary(tokenLists: Iterable<readonly string[]>, config: Pick<TaskConfig, 'vocabSize' | 'minCount'>, specials: readonly string[] = INPUT_SPECIALS): Vocabulary {
  const counts = new Map<string, number>()
  for (const tokens of tokenLists) for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1)
  return Vocabulary.build(counts, { specials, minCount: config.minCount, ...(config.vocabSize > 0 ? { maxSize: config.vocabSize } : {}) })
}

/** Token ids of tokens (unknown ones as <UNK>), cut to the first `maxLength` (0 = all). */
export function encodeTokens(vocabulary: Vocabulary, tokens: readonly string[], maxLength = 0): Int32Array {
  const kept = maxLength > 0 && tokens.length > maxLength ? tokens.slice(0, maxLength) : tokens
  return vocabulary.encode(kept, { unknown: 'unk' })
}

/**
 * A padded batch of the given sequences (none may be empty), padded with <PAD> (or <UNK>) to the
 * `gridLength` of the longest, so that a model meets few distinct shapes (its buffers are kept per shape).
 */
export function padInputs(sequences: readonly Int32Array[], vocabulary: Vocabulary): PaddedBatch {
  const length = gridLength(longestLength(sequences))
  return padBatch(sequences, vocabulary.padId >= 0 ? vocabulary.padId : vocabulary.unkId, { length })
}

/** Refuses an empty input, naming where it is. */
export function checkNotEmpty(operation: string, tokens: ArrayLike<unknown>, where: string): void {
  if (tokens.length === 0) throw new RecurError('DATA', `${operation}: ${where}: the input has no tokens`, 'Remove empty inputs or give them some text')
}

/**
 * The token ids of the inputs to predict, each refused when it has no tokens.
 * @param where where each input is, for messages (default: "input 1", "input 2", ...)
 * @throws RecurError 'DATA' naming the empty input.
 */
export function encodeInputs<I>(operation: string, inputs: readonly I[], encode: (input: I) => Int32Array, where?: readonly string[]): Int32Array[] {
  return inputs.map((input, i) => {
    const encoded = encode(input)
    checkNotEmpty(operation, encoded, where?.[i] ?? `input ${i + 1}`)
    return encoded
  })
}

/** The examples' indices in batches of `size`, similar lengths together; for prediction (file order kept by the caller). */
export function predictionBatches(lengths: readonly number[], size: number): number[][] {
  return batchOrder(lengths, size, new Random(1), { bucket: true, shuffle: false })
}

// ---------------------------------------------------------------------------------------------
// 4. The training loop

/** A validation result: mean loss and the task's metric (higher is better). */
export interface ValidationScore {
  loss: number
  metric: number
}

/** What `trainTask` needs from a task: its parameters and its training batches. */
export interface TaskSession {
  readonly params: ParamStore
  /** The length of each training example (bucketing, token rate). */
  readonly lengths: readonly number[]
  /** Forward, loss and backward of the training examples at `indices` (gradients accumulate). */
  trainBatch(indices: readonly number[], random: Random | null): void
  /** The mean loss of the last `trainBatch`, read back. */
  readLoss(): Promise<number>
  /** Scores the validation examples; null when there are none. */
  readonly validate: (() => Promise<ValidationScore>) | null
}

/** One training step, for progress reporting. */
export interface StepReport {
  step: number
  /** Total steps of the run. */
  steps: number
  epoch: number
  loss: number
  lr: number
  /** Seconds since the start. */
  seconds: number
  tokensPerSecond: number
  /** Set on the steps that validated. */
  validation?: ValidationScore
}

export interface TrainHooks {
  /** After every step (awaited). */
  onStep?: (report: StepReport) => void | Promise<void>
  /** Every `checkpointEvery` steps except the last (awaited): save the model. */
  checkpoint?: (step: number) => Promise<void>
  /** Checked after every step; true stops training (the run ends as 'interrupted'). */
  stop?: () => boolean
  /** A step whose loss or gradient was not finite: one line saying what was done (see `../train/guard.ts`). */
  onFailedStep?: (line: string) => void
}

export interface TrainOutcome {
  steps: number
  epochs: number
  /** 'diverged': non-finite steps stopped the run (see `../train/guard.ts`); the last good weights were restored. */
  stopped: 'done' | 'interrupted' | 'diverged'
  seconds: number
  /** Training loss of the last step. */
  loss: number
  /** The score of the weights kept (the best with `keepBest`, else the last), or null without validation. */
  validation: ValidationScore | null
  /** The step whose weights were kept. */
  keptStep: number
  /** What stopped a 'diverged' run, else null. */
  divergence: DivergenceReport | null
}

interface KeptWeights {
  score: ValidationScore
  step: number
  /** The weights at `step` (with `keepBest`). */
  values: Map<string, Float32Array> | null
}

/** Steps of a run: `steps`, or `epochs` passes of ceil(N / batch) steps. */
export function totalSteps(config: Pick<TaskConfig, 'steps' | 'epochs' | 'batch'>, examples: number): number {
  return config.steps > 0 ? config.steps : config.epochs * Math.max(1, Math.ceil(examples / config.batch))
}

/**
 * Trains a task: seeded shuffled (optionally length-bucketed) batches, one guarded
 * `SupervisedTrainer` step each (zero grads, forward/backward, check, clip, update), validation
 * after each epoch (or every `valEvery` steps) and at the end, checkpoints, and a stop check
 * between steps (after a turn of the event loop, so signal handlers run).
 * A step whose loss or gradient is not finite is skipped (`nanPolicy`, `nanLimit`: see
 * `../train/guard.ts`); when the guard says stop, the weights and optimizer state of the last
 * checkpoint (or of the start) are restored and the run ends as 'diverged'.
 * @throws RecurError 'DATA' for no training examples.
 */
export async function trainTask(session: TaskSession, config: TaskConfig, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const N = session.lengths.length
  if (N === 0) throw new RecurError('DATA', 'trainTask: there are no training examples', 'Give a dataset with at least one record')
  const steps = totalSteps(config, N)
  const trainer = new SupervisedTrainer(session.params, {
    lr: config.lr, optimizer: config.optimizer, weightDecay: config.weightDecay, clip: config.clip,
    schedule: config.schedule, warmup: config.warmup, steps, nan: { policy: config.nanPolicy, limit: config.nanLimit },
  })
  const lastGood = new LastGoodCheckpoint<TrainingSnapshot>(await trainer.snapshot())
  let divergence: DivergenceReport | null = null
  const random = new Random(config.seed + 1)
  const dropout = config.dropout > 0 ? random : null
  const start = performance.now()
  // Held in an object: TypeScript does not see assignments made inside the closure below.
  const scores: { best: KeptWeights | null; last: ValidationScore | null } = { best: null, last: null }
  let loss = Number.NaN
  let epoch = 0
  let tokens = 0
  let stopped: TrainOutcome['stopped'] = 'done'
  const validate = async (step: number): Promise<ValidationScore | undefined> => {
    if (session.validate === null) return undefined
    const score = await session.validate()
    scores.last = score
    const better = scores.best === null || score.metric > scores.best.score.metric || (score.metric === scores.best.score.metric && score.loss < scores.best.score.loss)
    if (better) {
      scores.best = { score, step, values: config.keepBest ? await session.params.readValues() : null }
    }
    return score
  }
  outer: while (trainer.step < steps) {
    epoch++
    const batches = batchOrder(session.lengths as number[], config.batch, random, { bucket: config.bucket, shuffle: true })
    for (let b = 0; b < batches.length; b++) {
      const indices = batches[b]!
      const result = await trainer.trainGuarded(() => session.trainBatch(indices, dropout), () => session.readLoss())
      const { step, lr } = result
      loss = result.loss
      for (const i of indices) tokens += session.lengths[i]!
      if (result.verdict === 'update') lastGood.stepSucceeded()
      else hooks.onFailedStep?.(describeFailedStep(result, trainer.guard))
      if (result.verdict === 'stop') {
        divergence = { step, last: result, inRow: trainer.guard.inRow, policy: config.nanPolicy, restoredStep: lastGood.snapshot.state.step }
        trainer.restore(lastGood.snapshot)
        stopped = 'diverged'
        break outer
      }
      await betweenSteps()
      const last = step >= steps
      const interrupted = hooks.stop?.() === true
      const endOfEpoch = b === batches.length - 1
      const due = config.valEvery > 0 ? step % config.valEvery === 0 : endOfEpoch
      const validation = due || last || interrupted ? await validate(step) : undefined
      const seconds = (performance.now() - start) / 1000
      await hooks.onStep?.({
        step, steps, epoch, loss, lr, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9),
        ...(validation === undefined ? {} : { validation }),
      })
      if (last) break outer
      if (interrupted) {
        stopped = 'interrupted'
        break outer
      }
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) {
        await hooks.checkpoint?.(step)
        lastGood.checkpoint(await trainer.snapshot())
      }
    }
  }
  const kept = scores.best
  let keptStep = trainer.step
  let validation = scores.last
  if (config.keepBest && kept !== null) {
    if (kept.step !== trainer.step && kept.values !== null) session.params.writeValues(kept.values)
    keptStep = kept.step
    validation = kept.score
  }
  if (divergence !== null) divergence.restoredStep = keptStep
  return { steps: trainer.step, epochs: epoch, stopped, seconds: (performance.now() - start) / 1000, loss, validation, keptStep, divergence }
}

/** Rounds a probability for output: 6 decimals, so JSON lines stay short. */
export function roundProbability(p: number): number {
  return Math.round(p * 1e6) / 1e6
}

// ---------------------------------------------------------------------------------------------
// 5. The command-line side: flags, reading model files and predict input, the training run.

/** The name a task has on the command line and in model files. */
export interface TaskNames {
  /** The command group: 'classify', 'tag', 'translate'. */
  command: string
  /** The model-file kind. */
  kind: TaskKind
}

export const dataFlag: FlagSpec = { name: 'data', type: 'string', placeholder: 'file', description: 'Dataset: JSON lines (.jsonl), CSV (.csv) or TSV (.tsv)' }
export const formatFlag: FlagSpec = { name: 'format', type: 'enum', values: DATASET_FORMATS, description: 'Dataset format (default: from the file extension)' }
export const validFlag: FlagSpec = { name: 'valid', type: 'string', placeholder: 'file', description: 'Validation dataset (default: hold out --val-fraction of --data)' }
export const modelFlag: FlagSpec = { name: 'model', type: 'string', placeholder: 'file', description: 'Model file (or give it as the first argument)' }
export const predictFormatFlag: FlagSpec = {
  name: 'format', type: 'enum', values: [...DATASET_FORMATS, 'lines'],
  description: "Input format: jsonl, csv, tsv, or 'lines' (one text per line; the default for .txt files and for standard input that does not start with '{')",
}

export function outFlag(kind: TaskKind): FlagSpec {
  return { name: 'out', type: 'string', placeholder: 'file', description: `Where to save the model (default: runs/<data name>/${kind}.recur)` }
}

/** --input-field; `trained`: for predict and eval, whose default is the field the model was trained on. */
export function inputFieldFlag(trained: boolean, description = 'Field (JSON lines) or column (CSV, TSV) holding the input text'): FlagSpec {
  return { name: 'input-field', type: 'string', placeholder: 'name', description: `${description} [default: ${trained ? 'the one the model was trained with' : 'text'}]` }
}

/** The default model path: runs/<data file name>/<kind>.recur. */
export function defaultModelPath(data: string, kind: TaskKind): string {
  const name = basename(data, extname(data)) || 'data'
  return join('runs', name, `${kind}.recur`)
}

/**
 * The model path and the texts of `recur <task> predict [model] [text...]`: the first argument
 * is the model unless `--model` names it.
 * @throws RecurError 'OPTION' when no model is named.
 */
export function modelAndTexts(command: string, args: readonly string[], model: string | undefined): { model: string; texts: string[] } {
  if (model !== undefined) return { model, texts: [...args] }
  if (args.length === 0) throw new RecurError('OPTION', `${command}: missing the model file`, `Give it as the first argument or with --model, e.g. recur ${command} runs/data/model.recur`)
  return { model: args[0]!, texts: args.slice(1) }
}

/** Reads and decodes a task model file of `kind`, with errors that name the file and the command to train one. */
export async function loadTaskModel(path: string, kernels: Kernels, names: TaskNames): Promise<TaskBundle> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new RecurError('FILE', `model file ${path} does not exist`, `Train one with: recur ${names.command} train --data FILE --out ${path}`)
    if (code === 'EISDIR') throw new RecurError('FILE', `${path} is a directory, not a model file`, `Give the path of a .recur file written by recur ${names.command} train`)
    throw new RecurError('FILE', `cannot read model file ${path}: ${(error as Error).message}`)
  }
  return decodeTaskModel(bytes, kernels, names.kind, path)
}

/** The text of standard input: `io.readStdin` when given (tests), else the process's, refusing a terminal. */
export async function readStandardInput(io: Io, command: string): Promise<string> {
  if (io.readStdin !== undefined) return io.readStdin()
  if (process.stdin.isTTY === true) {
    throw new RecurError('OPTION', `${command}: no input`, 'Give texts as arguments, a file with --data, or pipe text in (one input per line, or JSON lines)')
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return decodeCorpus(new Uint8Array(Buffer.concat(chunks)), '<stdin>')
}

/** One input to predict and where it came from. */
export interface PredictInput {
  value: FieldValue
  where: string
}

/**
 * The inputs of a predict command: the texts given as arguments, else the `--data` file, else
 * standard input. Files and standard input are JSON lines, CSV or TSV (the input field is read)
 * or plain lines (each non-empty line is one input); see `predictFormatFlag`.
 */
export async function readPredictInputs(options: { io: Io; command: string; texts: readonly string[]; data: string | undefined; format: string | undefined; inputField: string }): Promise<PredictInput[]> {
  const { io, command, texts, data, inputField } = options
  if (texts.length > 0) {
    if (data !== undefined) throw new RecurError('OPTION', `${command}: give texts as arguments or --data, not both`)
    return texts.map((text, i) => ({ value: text, where: `argument ${i + 1}` }))
  }
  let text: string
  let name: string
  let format = options.format
  if (data !== undefined) {
    name = data
    if (format === undefined) format = /\.txt$/i.test(data) ? 'lines' : formatFromPath(data)
    if (format === 'lines') {
      try {
        text = decodeCorpus(new Uint8Array(await readFile(data)), data)
      } catch (error) {
        if (error instanceof RecurError) throw error
        const code = (error as NodeJS.ErrnoException).code
        throw new RecurError('FILE', `${command}: ${code === 'ENOENT' ? `no such file: ${data}` : `cannot read ${data}: ${(error as Error).message}`}`, 'Check the path given to --data')
      }
    } else {
      return (await readRecords(data, [inputField], format as DatasetFormat)).map((r) => ({ value: r.fields[inputField]!, where: r.where }))
    }
  } else {
    name = '<stdin>'
    text = await readStandardInput(io, command)
    if (format === undefined) format = /^\s*\{/.test(text) ? 'jsonl' : 'lines'
  }
  if (format === 'lines') {
    const inputs: PredictInput[] = []
    text.split('\n').forEach((line, i) => {
      if (line.trim() !== '') inputs.push({ value: line, where: `${name} line ${i + 1}` })
    })
    if (inputs.length === 0) throw new RecurError('DATA', `${command}: ${name} has no input lines`, 'Give one text per line')
    return inputs
  }
  const dataset = parseDataset(text, format as DatasetFormat, [inputField], name)
  return dataset.records.map((record, i) => ({ value: record[inputField]!, where: `${name} line ${dataset.lines[i]}` }))
}

/**
 * The settings a model file's training info records: the fields of `names` it holds (not null),
 * for `resolveTaskConfig` to check and complete.
 */
export function recordedSettings(training: TaskTrainingInfo | null, names: Iterable<string>): Record<string, unknown> {
  const partial: Record<string, unknown> = {}
  if (training === null) return partial
  for (const name of names) if (training[name] !== undefined && training[name] !== null) partial[name] = training[name]
  return partial
}

/** A string setting recorded in a model's training info (e.g. the input field), or `fallback`. */
export function recorded(training: TaskTrainingInfo | null, key: string, fallback: string): string {
  const value = training?.[key]
  return typeof value === 'string' && value !== '' ? value : fallback
}

/** What a task's CLI gives the shared training run. */
export interface TaskTrainingRun {
  io: Io
  names: TaskNames
  config: TaskConfig
  json: boolean
  /** The model file. */
  out: string
  session: TaskSession
  /** The metric's name in messages ('accuracy') and its CSV column ('valAccuracy'). */
  metric: { name: string; column: string }
  /** Lines printed before training (what is trained on what). */
  header: string[]
  /** Writes the model (atomically) with the training info given. */
  save: (info: Record<string, string | number | boolean | null>) => Promise<void>
  /** What goes into the model file's training info besides the outcome. */
  info: Record<string, string | number | boolean | null>
  /** Commands to suggest after training, with the model path filled in. */
  next: string[]
  /** Extra fields of the --json summary. */
  summary?: Record<string, unknown>
}

/**
 * Runs training from the command line: progress bar (stderr), CSV log and SVG loss plot beside
 * the model, checkpoints, Ctrl-C or SIGTERM (saves and exits 130 or 143), and a summary saying where the model is
 * and what to run next (or one JSON object with --json). Returns the exit code.
 */
export async function runTaskTraining(run: TaskTrainingRun): Promise<number> {
  const { io, config, json, out, session, metric } = run
  const stem = out.slice(0, out.length - extname(out).length)
  const logPath = `${stem}.log.csv`
  const plotPath = `${stem}.loss.svg`
  const say = (line: string) => (json ? undefined : io.err.write(`${line}\n`))
  const steps = totalSteps(config, session.lengths.length)
  for (const line of run.header) say(line)
  say(`  ${steps} steps of ${config.batch} examples (${config.steps > 0 ? `--steps ${config.steps}` : `${config.epochs} epochs`}); Ctrl-C saves and stops`)

  await prepareOutput(out)
  await rm(logPath, { force: true })
  const log = new TrainingLogWriter(logPath, { extraColumns: ['epoch', metric.column] })
  const bar = new ProgressBar({ total: steps, stream: json ? { write: () => true } : io.err })
  const info = (outcome: TrainOutcome | null, step: number) => ({
    ...flattenConfig(config), ...run.info, trainedSteps: step,
    ...(outcome === null ? {} : { keptStep: outcome.keptStep, valLoss: outcome.validation?.loss ?? null, [metric.column]: outcome.validation?.metric ?? null }),
  })
  let outcome: TrainOutcome
  try {
    outcome = await trainTask(session, config, {
      onStep: (r) => {
        log.append({
          step: r.step, time: r.seconds, loss: r.loss, lr: r.lr, tokensPerSecond: r.tokensPerSecond, epoch: r.epoch,
          ...(r.validation === undefined ? {} : { valLoss: r.validation.loss, [metric.column]: r.validation.metric }),
        })
        bar.update({ step: r.step, loss: r.loss, tokensPerSecond: r.tokensPerSecond, ...(r.validation === undefined ? {} : { valLoss: r.validation.loss }) })
        if (r.validation !== undefined && !json) {
          bar.log(`epoch ${r.epoch}  step ${r.step}  loss ${formatFixed(r.loss, 4)}  val loss ${formatFixed(r.validation.loss, 4)}  val ${metric.name} ${formatFixed(r.validation.metric, 4)}`)
        }
      },
      checkpoint: (step) => run.save(info(null, step)),
      stop: () => io.interrupted.value,
      onFailedStep: (line) => bar.log(line),
    })
  } finally {
    log.close()
  }
  await run.save(info(outcome, outcome.steps))
  bar.done()
  const records = readTrainingLog(logPath).records
  await writeFile(plotPath, renderLossPlotSvg(records, { title: `recur ${run.names.command} train: ${basename(stem)} (${config.cell.toUpperCase()} ${config.layers}x${config.hidden})` }))
  if (outcome.divergence !== null) throw divergenceError(outcome.divergence, { savedTo: out, lr: config.lr, clip: config.clip })
  const summary = {
    model: out, log: logPath, plot: plotPath, steps: outcome.steps, epochs: outcome.epochs, stopped: outcome.stopped,
    seconds: outcome.seconds, loss: outcome.loss, keptStep: outcome.keptStep,
    valLoss: outcome.validation?.loss ?? null, [metric.column]: outcome.validation?.metric ?? null,
    ...run.summary,
  }
  if (json) {
    io.out.write(`${JSON.stringify(summary)}\n`)
  } else {
    if (outcome.stopped === 'interrupted') say('Interrupted: the model so far is saved.')
    const score = outcome.validation === null ? '' : `; validation ${metric.name} ${formatFixed(outcome.validation.metric, 4)}, loss ${formatFixed(outcome.validation.loss, 4)}${outcome.keptStep !== outcome.steps ? ` (the best, at step ${outcome.keptStep})` : ''}`
    say(`Trained ${outcome.steps} steps (${outcome.epochs} ${outcome.epochs === 1 ? 'epoch' : 'epochs'}) in ${formatDuration(outcome.seconds)}${score}`)
    say(`Saved the model to ${out}`)
    say(`  training log ${logPath}, loss curves ${plotPath}`)
    say('Next:')
    for (const line of run.next) say(`  ${line}`)
  }
  return outcome.stopped === 'interrupted' ? interruptedExitCode(io.interrupted) : 0
}

/** The settings as training info (JSON values; unset ones left out). */
function flattenConfig(config: TaskConfig): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as Record<string, string | number | boolean>
}

/** Writes one JSON value per line. */
export function writeJsonLines(io: Io, values: readonly unknown[]): void {
  io.out.write(values.map((value) => `${JSON.stringify(value)}\n`).join(''))
}
