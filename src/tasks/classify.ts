/**
 * Text classification (many-to-one) from raw text: tokens -> ids -> `SequenceClassifier` ->
 * labels. Spam or not, the sentiment of a review, the topics of a message.
 *
 *     const { classifier } = await trainClassifier(examples, { config: { inputLevel: 'word', epochs: 5 } })
 *     const [p] = await classifier.predict(['win a free cruise now'])   // { label: 'spam', probability: 0.97, ... }
 *     await classifier.save('spam.recur')                              // TextClassifier.load(...) reads it back
 *
 * Labels, stated once:
 * - One label per example (a string) gives a softmax over the K labels seen (K >= 2), ids in
 *   code-point order of the labels (`LabelSet`).
 * - Several labels per example, written as a JSON array or as one string with '|' between the
 *   labels ("sports|politics"), give a multi-label model: one sigmoid per label, each label
 *   predicted when its probability is at least 0.5. One such example makes the whole set multi-label.
 * - The label set is built from the training and validation examples; evaluating on a label the
 *   model does not know is an error that names the label and the example.
 */

import { classificationReport, multiLabelReport, type ClassificationReport, type MultiLabelReport } from '../data/metrics.js'
import type { FieldValue } from '../data/parse.js'
import { LabelSet } from '../data/labels.js'
import { RecurError } from '../errors.js'
import { saveModelFile } from '../io/model-file.js'
import type { ModelFileInput } from '../io/model-format.js'
import { resolveBackend } from '../kernels/registry.js'
import type { Kernels } from '../kernels/types.js'
import { SequenceClassifier } from '../models/classifier.js'
import { taskFileContents, type TaskBundle, type TaskTrainingInfo } from '../models/task-file.js'
import type { Random } from '../random.js'
import type { TokenizerOptions } from '../text/tokenizers.js'
import type { Vocabulary } from '../text/vocabulary.js'
import {
  TASK_FIELDS, buildInputVocabulary, checkNotEmpty, encodeInputs, encodeTokens, encoderArchitecture, inputTokenizer, loadTaskModel,
  padInputs, predictionBatches, recordedSettings, resolveTaskConfig, roundProbability, textTokens, trainTask,
  type ConfigField, type ConfigOf, type TaskSession, type TrainHooks, type TrainOutcome, type ValidationScore,
} from './common.js'

/** The classifier's settings: the shared ones plus pooling and the dense layers. */
export const CLASSIFY_FIELDS = {
  ...TASK_FIELDS,
  pooling: { type: 'enum', values: ['final', 'mean', 'max'], default: 'final', description: "What the dense layers read: the encoder's final states, or the mean or max of its outputs over time" },
  dense: { type: 'string', default: '', placeholder: 'widths', description: 'Hidden dense layers before the output, as comma-separated widths, e.g. 64,32 (default: none)' },
  activation: { type: 'enum', values: ['tanh', 'relu', 'sigmoid'], default: 'tanh', description: 'Activation of the hidden dense layers' },
} as const satisfies Record<string, ConfigField>

export type ClassifyConfig = ConfigOf<typeof CLASSIFY_FIELDS>

/** Fills in the defaults and checks the settings. @throws RecurError 'OPTION'. */
export function resolveClassifyConfig(partial: Partial<ClassifyConfig> = {}): ClassifyConfig {
  const config = resolveTaskConfig(CLASSIFY_FIELDS, partial, 'classify config')
  parseWidths(config.dense, 'classify config.dense')
  return config
}

/** One training or evaluation example. */
export interface ClassifyExample {
  /** The text, or its tokens. */
  input: FieldValue | readonly string[]
  /** One label, or several (an array, or a string with '|' between them) for multi-label data. */
  label: FieldValue | readonly string[]
  /** Where it is, for error messages, e.g. 'train.jsonl line 7'. */
  where?: string
}

/** A prediction for one input. */
export interface ClassPrediction {
  /** The most probable label. */
  label: string
  /** Its probability. */
  probability: number
  /** The labels predicted: [label] for a softmax model; those with probability >= the threshold for a multi-label one. */
  labels: string[]
  /** Every label's probability (rounded to 6 decimals). */
  probabilities: Record<string, number>
}

/**
 * What `evaluate` measures. `accuracy` is the share of examples predicted exactly right (for a
 * multi-label model: all labels right, the subset accuracy) and `macroF1` the mean F1 over the
 * labels; `report` has the rest: `classificationReport`'s (per-class scores, confusion matrix) or,
 * for a multi-label model, `multiLabelReport`'s (micro and macro scores, per-label scores).
 */
export type ClassifyEvaluation = { examples: number; loss: number; labels: string[]; accuracy: number; macroF1: number } & (
  | { multiLabel: false; report: ClassificationReport }
  | { multiLabel: true; report: MultiLabelReport }
)

/** The labels of a label field: an array as it is, 'a|b' split at '|', else the one label (empty ones dropped). */
export function splitLabels(value: FieldValue | readonly string[]): string[] {
  const parts = Array.isArray(value) ? value : (value as string).split('|')
  return parts.map((label) => label.trim()).filter((label) => label !== '')
}

/** True if a label field holds several labels (an array, or '|' in a string). */
export function isMultiLabelValue(value: FieldValue | readonly string[]): boolean {
  return Array.isArray(value) || (value as string).includes('|')
}

/** '64,32' -> [64, 32]; '' -> []. @throws RecurError 'OPTION' for anything else. */
export function parseWidths(text: string, what = '--dense'): number[] {
  if (text.trim() === '') return []
  return text.split(',').map((part) => {
    const width = Number(part.trim())
    if (!Number.isInteger(width) || width < 1 || width > 65536) {
      throw new RecurError('OPTION', `${what}: ${JSON.stringify(part.trim())} is not a layer width (an integer from 1 to 65536)`, 'Give comma-separated widths, e.g. 64,32')
    }
    return width
  })
}

/** A trained (or freshly made) text classifier: tokenizer, vocabulary, label set and model. */
export class TextClassifier {
  readonly model: SequenceClassifier
  readonly vocabulary: Vocabulary
  readonly tokenizer: TokenizerOptions
  readonly labels: LabelSet
  /** Sigmoid outputs, one per label (several labels per example). */
  readonly multiLabel: boolean
  /** Inputs are cut to their first `maxLength` tokens (0 = not cut). */
  readonly maxLength: number
  /** The settings it was made with (defaults, for a model read from a file that does not record them). */
  readonly config: ClassifyConfig
  /** What training recorded; saved in the model file. */
  training: TaskTrainingInfo | null = null

  private constructor(model: SequenceClassifier, vocabulary: Vocabulary, tokenizer: TokenizerOptions, labels: LabelSet, config: ClassifyConfig) {
    this.model = model
    this.vocabulary = vocabulary
    this.tokenizer = tokenizer
    this.labels = labels
    this.multiLabel = model.architecture.output === 'sigmoid'
    this.maxLength = config.maxLength
    this.config = config
  }

  /**
   * A new, untrained classifier for these examples: the vocabulary from the training inputs, the
   * labels from the training and validation examples, the architecture from the settings.
   * @throws RecurError 'DATA' for no examples, an empty input or label, or a single label in all;
   *   'OPTION' for bad settings.
   */
  static create(kernels: Kernels, examples: readonly ClassifyExample[], config: Partial<ClassifyConfig> = {}, validation: readonly ClassifyExample[] = []): TextClassifier {
    const resolved = resolveClassifyConfig(config)
    if (examples.length === 0) throw new RecurError('DATA', 'TextClassifier.create: there are no training examples', 'Give at least two examples with different labels')
    const tokenizer = inputTokenizer(resolved)
    const tokenLists = examples.map((e, i) => {
      const tokens = textTokens(e.input as FieldValue, tokenizer)
      checkNotEmpty('classify', tokens, e.where ?? `example ${i + 1}`)
      return tokens
    })
    const vocabulary = buildInputVocabulary(tokenLists, resolved)
    const all = [...examples, ...validation]
    const multiLabel = all.some((e) => isMultiLabelValue(e.label))
    const names: string[] = []
    all.forEach((e, i) => {
      const labels = splitLabels(e.label)
      if (!multiLabel && labels.length === 0) throw new RecurError('DATA', `classify: ${e.where ?? `example ${i + 1}`}: the label is empty`, 'Every example needs a label')
      names.push(...labels)
    })
    if (names.length === 0) throw new RecurError('DATA', 'classify: no example has a label', 'Give each example one label, or several separated by |')
    const labels = LabelSet.fromLabels(names)
    if (!multiLabel && labels.size < 2) {
      throw new RecurError('DATA', `classify: every example has the label ${JSON.stringify(labels.labels[0])}`, 'A classifier needs at least two labels to choose between')
    }
    const model = new SequenceClassifier(kernels, {
      ...encoderArchitecture(resolved, vocabulary.size),
      classes: labels.size, output: multiLabel ? 'sigmoid' : 'softmax', pooling: resolved.pooling,
      dense: parseWidths(resolved.dense), activation: resolved.activation,
    }, resolved.seed)
    return new TextClassifier(model, vocabulary, tokenizer, labels, resolved)
  }

  /** A classifier from a decoded model file (`decodeTaskModel(bytes, kernels, 'classifier')`). */
  static fromBundle(bundle: TaskBundle): TextClassifier {
    if (bundle.kind !== 'classifier') throw new RecurError('VERSION', `expected a classifier model, got a ${bundle.kind} model`)
    const config = configFromTraining(bundle.training)
    const classifier = new TextClassifier(bundle.model, bundle.input.vocabulary, bundle.input.tokenizer, LabelSet.fromList(bundle.labels), config)
    classifier.training = bundle.training
    return classifier
  }

  /** Reads a classifier model file. @throws RecurError 'FILE', 'FORMAT' or 'VERSION', naming the file. */
  static async load(path: string, kernels?: Kernels): Promise<TextClassifier> {
    const k = kernels ?? (await resolveBackend())
    return TextClassifier.fromBundle(await loadTaskModel(path, k, { command: 'classify', kind: 'classifier' }))
  }

  /** The tokens of an input, as the model reads them. */
  tokens(input: FieldValue | readonly string[]): string[] {
    return textTokens(input as FieldValue, this.tokenizer)
  }

  /** The token ids of an input (unknown tokens as <UNK>, cut to `maxLength`). */
  encode(input: FieldValue | readonly string[]): Int32Array {
    return encodeTokens(this.vocabulary, this.tokens(input), this.maxLength)
  }

  /**
   * A training session over these examples for `trainTask` (or a loop of your own).
   * @throws RecurError 'DATA' for an empty input, 'TOKEN' for a label the model does not know.
   */
  session(examples: readonly ClassifyExample[], validation: readonly ClassifyExample[] = []): TaskSession {
    const train = this.prepare(examples)
    const valid = validation.length > 0 ? this.prepare(validation) : null
    const model = this.model
    return {
      params: model.params,
      lengths: train.ids.map((ids) => ids.length),
      trainBatch: (indices: readonly number[], random: Random | null) => {
        model.forward(padInputs(indices.map((i) => train.ids[i]!), this.vocabulary), random)
        model.lossAndBackward(this.batchTargets(train.targets, indices))
      },
      readLoss: () => model.loss.mean(model.kernels),
      validate: valid === null ? null : async (): Promise<ValidationScore> => {
        const scored = await this.score(valid.ids, valid.targets, this.config.batch)
        return { loss: scored.loss, metric: this.metricOf(scored.probabilities, valid.targets) }
      },
    }
  }

  /** Trains on the examples with the classifier's settings (overridable here). See `trainTask`. */
  async train(examples: readonly ClassifyExample[], options: { validation?: readonly ClassifyExample[]; config?: Partial<ClassifyConfig>; hooks?: TrainHooks } = {}): Promise<TrainOutcome> {
    const config = options.config === undefined ? this.config : resolveClassifyConfig({ ...this.config, ...options.config })
    const outcome = await trainTask(this.session(examples, options.validation ?? []), config, options.hooks ?? {})
    this.training = {
      ...(this.training ?? {}), ...(config as unknown as Record<string, string | number | boolean>),
      trainedSteps: outcome.steps, keptStep: outcome.keptStep, valLoss: outcome.validation?.loss ?? null, [this.metricColumn]: outcome.validation?.metric ?? null,
    }
    return outcome
  }

  /** The validation metric: accuracy, or micro-averaged F1 for a multi-label model. */
  get metricName(): string {
    return this.multiLabel ? 'micro-F1' : 'accuracy'
  }

  /** The metric's column in the training log. */
  get metricColumn(): string {
    return this.multiLabel ? 'valMicroF1' : 'valAccuracy'
  }

  /**
   * Predicts the label(s) of each input, in order.
   * @param options.batch inputs per forward pass (default: the training batch)
   * @param options.threshold multi-label: a label is predicted when its probability is at least this (default 0.5)
   * @throws RecurError 'DATA' for an input without tokens.
   */
  async predict(inputs: readonly (FieldValue | readonly string[])[], options: { batch?: number; threshold?: number; where?: readonly string[] } = {}): Promise<ClassPrediction[]> {
    const threshold = options.threshold ?? 0.5
    const ids = encodeInputs('classify predict', inputs, (input) => this.encode(input), options.where)
    const { probabilities } = await this.score(ids, null, options.batch ?? this.config.batch)
    const names = this.labels.labels
    return probabilities.map((p) => {
      let best = 0
      for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k
      const all: Record<string, number> = {}
      names.forEach((name, k) => (all[name] = roundProbability(p[k]!)))
      const labels = this.multiLabel ? names.filter((_, k) => p[k]! >= threshold) : [names[best]!]
      return { label: names[best]!, probability: roundProbability(p[best]!), labels, probabilities: all }
    })
  }

  /**
   * Scores the classifier on labelled examples: accuracy, per-class precision, recall and F1,
   * macro averages and the confusion matrix (softmax), or micro/macro scores and exact match
   * (multi-label); and the mean loss.
   * @throws RecurError 'TOKEN' for a label the model does not know (naming it and the example), 'DATA' for no examples.
   */
  async evaluate(examples: readonly ClassifyExample[], options: { batch?: number } = {}): Promise<ClassifyEvaluation> {
    if (examples.length === 0) throw new RecurError('DATA', 'classify eval: there are no examples to score')
    const data = this.prepare(examples)
    const { probabilities, loss } = await this.score(data.ids, data.targets, options.batch ?? this.config.batch)
    const K = this.labels.size
    const labels = this.labels.labels.slice()
    if (this.multiLabel) {
      const truth = new Float32Array(examples.length * K)
      const predicted = new Float32Array(examples.length * K)
      probabilities.forEach((p, n) => {
        truth.set(data.targets[n] as Float32Array, n * K)
        for (let k = 0; k < K; k++) predicted[n * K + k] = p[k]! >= 0.5 ? 1 : 0
      })
      const report = multiLabelReport(truth, predicted, K)
      return { multiLabel: true, examples: examples.length, loss, labels, accuracy: report.exactMatch, macroF1: report.macroF1, report }
    }
    const report = classificationReport(data.targets as number[], probabilities.map(argmax), K)
    return { multiLabel: false, examples: examples.length, loss, labels, accuracy: report.accuracy, macroF1: report.macroF1, report }
  }

  /** The model file's contents (for `saveModelFile`). */
  async fileContents(): Promise<ModelFileInput> {
    return taskFileContents({
      kind: 'classifier', model: this.model, labels: this.labels.labels.slice(),
      input: { vocabulary: this.vocabulary, tokenizer: this.tokenizer }, training: this.training, optimizer: null,
    })
  }

  /** Saves the classifier as a model file (atomically). */
  async save(path: string): Promise<void> {
    await saveModelFile(path, await this.fileContents())
  }

  // -------------------------------------------------------------------------------------------

  /** Token ids and targets (class id, or a K-vector of 0/1) of labelled examples. */
  private prepare(examples: readonly ClassifyExample[]): { ids: Int32Array[]; targets: (number | Float32Array)[] } {
    const K = this.labels.size
    const ids: Int32Array[] = []
    const targets: (number | Float32Array)[] = []
    examples.forEach((e, i) => {
      const where = e.where ?? `example ${i + 1}`
      const encoded = this.encode(e.input)
      checkNotEmpty('classify', encoded, where)
      ids.push(encoded)
      const names = splitLabels(e.label)
      const idOf = (name: string): number => {
        try {
          return this.labels.id(name)
        } catch (error) {
          if (!(error instanceof RecurError)) throw error
          throw new RecurError('TOKEN', `classify: ${where}: ${error.message.replace(/^LabelSet\.id: /, '')}`)
        }
      }
      if (this.multiLabel) {
        const row = new Float32Array(K)
        for (const name of names) row[idOf(name)] = 1
        targets.push(row)
      } else {
        if (names.length !== 1) {
          throw new RecurError('DATA', `classify: ${where}: expected one label, got ${names.length === 0 ? 'none' : `${names.length} (${names.join(', ')})`}`, 'This model predicts one label per example')
        }
        targets.push(idOf(names[0]!))
      }
    })
    return { ids, targets }
  }

  private batchTargets(targets: readonly (number | Float32Array)[], indices: readonly number[]): Int32Array | Float32Array {
    if (!this.multiLabel) return Int32Array.from(indices, (i) => targets[i] as number)
    const K = this.labels.size
    const out = new Float32Array(indices.length * K)
    indices.forEach((i, b) => out.set(targets[i] as Float32Array, b * K))
    return out
  }

  /** Probabilities (K per example, in order) and, with targets, the mean loss. */
  private async score(ids: readonly Int32Array[], targets: readonly (number | Float32Array)[] | null, batch: number): Promise<{ probabilities: Float32Array[]; loss: number }> {
    const K = this.labels.size
    const probabilities: Float32Array[] = new Array(ids.length)
    let lossSum = 0
    for (const indices of predictionBatches(ids.map((s) => s.length), batch)) {
      this.model.forward(padInputs(indices.map((i) => ids[i]!), this.vocabulary), null)
      if (targets !== null) {
        this.model.lossAndBackward(this.batchTargets(targets, indices), false)
        lossSum += (await this.model.loss.mean(this.model.kernels)) * indices.length
      }
      const p = await this.model.probabilities()
      indices.forEach((i, b) => (probabilities[i] = p.slice(b * K, (b + 1) * K)))
    }
    return { probabilities, loss: targets === null ? Number.NaN : lossSum / Math.max(1, ids.length) }
  }

  private metricOf(probabilities: readonly Float32Array[], targets: readonly (number | Float32Array)[]): number {
    if (!this.multiLabel) {
      let right = 0
      probabilities.forEach((p, n) => (right += argmax(p) === targets[n] ? 1 : 0))
      return right / probabilities.length
    }
    const K = this.labels.size
    const truth = new Float32Array(probabilities.length * K)
    const predicted = new Float32Array(probabilities.length * K)
    probabilities.forEach((p, n) => {
      truth.set(targets[n] as Float32Array, n * K)
      for (let k = 0; k < K; k++) predicted[n * K + k] = p[k]! >= 0.5 ? 1 : 0
    })
    return multiLabelReport(truth, predicted, K).microF1
  }
}

/**
 * Trains a text classifier on labelled examples (see `TextClassifier.create` for how labels and
 * the vocabulary are chosen, `trainTask` for the loop). Without `kernels`, the best backend.
 */
export async function trainClassifier(
  examples: readonly ClassifyExample[],
  options: { config?: Partial<ClassifyConfig>; validation?: readonly ClassifyExample[]; kernels?: Kernels; hooks?: TrainHooks } = {},
): Promise<{ classifier: TextClassifier; outcome: TrainOutcome }> {
  const kernels = options.kernels ?? (await resolveBackend())
  const validation = options.validation ?? []
  const classifier = TextClassifier.create(kernels, examples, options.config ?? {}, validation)
  const outcome = await classifier.train(examples, { validation, ...(options.hooks === undefined ? {} : { hooks: options.hooks }) })
  return { classifier, outcome }
}

function argmax(p: ArrayLike<number>): number {
  let best = 0
  for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k
  return best
}

/** The settings recorded in a model file's training info (those that are valid), defaults for the rest. */
function configFromTraining(training: TaskTrainingInfo | null): ClassifyConfig {
  const partial = recordedSettings(training, Object.keys(CLASSIFY_FIELDS))
  try {
    return resolveClassifyConfig(partial as Partial<ClassifyConfig>)
  } catch {
    return resolveClassifyConfig({ maxLength: typeof partial['maxLength'] === 'number' ? partial['maxLength'] : 0 })
  }
}
