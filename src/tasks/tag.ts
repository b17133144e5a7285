/**
 * Sequence tagging (many-to-many, Tx = Ty) from raw text: one tag per input token, e.g. BIO
 * named-entity tags, or "is this word part of a person's name" (0/1).
 *
 *     const { tagger } = await trainTagger([{ input: 'John lives in Paris', tags: 'B-PER O O B-LOC' }, ...])
 *     const [p] = await tagger.predict(['Mary visits Rome'])   // { tokens: [...], tags: ['B-PER', 'O', 'B-LOC'], probabilities: [...] }
 *
 * Tokens and tags, stated once:
 * - The tag field holds one tag per input token: a JSON array, or a string of tags separated by
 *   whitespace. At word level a string input is cut at whitespace only (so "Paris." is one token,
 *   as in CoNLL files), at char level into code points; an array input is tokens already. A
 *   record whose tag count differs from its token count is an error naming the record.
 * - Output: a softmax over the K tags seen (ids in code-point order); or, for binary tags (tags
 *   exactly '0' and '1', or `binary: true` with any two tags), one sigmoid per token giving the
 *   probability of the second tag in code-point order ('1'), trained with the course note's
 *   per-step binary cross-entropy L = -Σt y<t> log ŷ<t> + (1 - y<t>) log(1 - ŷ<t>).
 * - The encoder is bidirectional by default: a tag often depends on the words after it.
 * - `maxLength` cuts training examples (tokens and tags); prediction reads whole inputs.
 */

import { gridLength, longestLength, padLabels } from '../data/batches.js'
import { LabelSet, splitTags } from '../data/labels.js'
import { classificationReport, entityReport, isBioLabelSet, tokenAccuracy, type ClassificationReport, type EntityReport } from '../data/metrics.js'
import type { FieldValue } from '../data/parse.js'
import { RecurError } from '../errors.js'
import { saveModelFile } from '../io/model-file.js'
import type { ModelFileInput } from '../io/model-format.js'
import { resolveBackend } from '../kernels/registry.js'
import type { Kernels } from '../kernels/types.js'
import { SequenceTagger } from '../models/tagger.js'
import { taskFileContents, type TaskBundle, type TaskTrainingInfo } from '../models/task-file.js'
import type { Random } from '../random.js'
import type { TokenizerOptions } from '../text/tokenizers.js'
import type { Vocabulary } from '../text/vocabulary.js'
import { parseWidths } from './classify.js'
import {
  TASK_FIELDS, buildInputVocabulary, checkNotEmpty, encodeInputs, encodeTokens, encoderArchitecture, inputTokenizer, loadTaskModel,
  padInputs, predictionBatches, recordedSettings, resolveTaskConfig, roundProbability, splitTokens, trainTask,
  type ConfigField, type ConfigOf, type TaskSession, type TrainHooks, type TrainOutcome, type ValidationScore,
} from './common.js'

/** The tagger's settings: the shared ones (bidirectional by default) plus the output and dense layers. */
export const TAG_FIELDS = {
  ...TASK_FIELDS,
  bidirectional: { ...TASK_FIELDS.bidirectional, default: true, description: 'Read the input in both directions (a tag often depends on the words after it)' },
  binary: { type: 'boolean', description: "One sigmoid per token for two tags (default: when the tags are exactly '0' and '1')" },
  dense: { type: 'string', default: '', placeholder: 'widths', description: 'Hidden dense layers before the output, as comma-separated widths, e.g. 64 (default: none)' },
  activation: { type: 'enum', values: ['tanh', 'relu', 'sigmoid'], default: 'tanh', description: 'Activation of the hidden dense layers' },
} as const satisfies Record<string, ConfigField>

/** The tagger's settings; `binary` undefined means: decide from the tags. */
export type TagConfig = Omit<ConfigOf<typeof TAG_FIELDS>, 'binary'> & { binary: boolean | undefined }

/** Fills in the defaults and checks the settings. @throws RecurError 'OPTION'. */
export function resolveTagConfig(partial: Partial<TagConfig> = {}): TagConfig {
  const { binary, ...rest } = partial
  const fields: Record<string, ConfigField> = { ...TAG_FIELDS }
  delete fields['binary']
  const config = resolveTaskConfig(fields, rest as Partial<ConfigOf<typeof fields>>, 'tag config') as unknown as TagConfig
  if (binary !== undefined && typeof binary !== 'boolean') throw new RecurError('OPTION', `tag config.binary: expected true, false or undefined, got ${JSON.stringify(binary)}`)
  parseWidths(config.dense, 'tag config.dense')
  return { ...config, binary }
}

/** One training or evaluation example. */
export interface TagExample {
  /** The text (cut at whitespace at word level), or its tokens. */
  input: FieldValue | readonly string[]
  /** One tag per token: an array, or a string of tags separated by whitespace. */
  tags: FieldValue | readonly string[]
  /** Where it is, for error messages, e.g. 'train.jsonl line 7'. */
  where?: string
}

/** The tags of one input. */
export interface TagPrediction {
  /** The input's tokens as written (before lower-casing). */
  tokens: string[]
  /** One tag per token. */
  tags: string[]
  /** The probability of each tag given (rounded to 6 decimals). */
  probabilities: number[]
}

/** What `evaluate` measures: token accuracy, a per-tag report over tokens, and entity scores for BIO tags. */
export interface TagEvaluation {
  examples: number
  tokens: number
  loss: number
  tokenAccuracy: number
  labels: string[]
  /** Per-tag precision, recall and F1 over the tokens, with the confusion matrix. */
  perTag: ClassificationReport
  /** Entity-level precision, recall and F1 (conlleval), when the tags are BIO tags; else null. */
  entities: EntityReport | null
}

/** A trained (or freshly made) tagger: tokenizer, vocabulary, tag set and model. */
export class TextTagger {
  readonly model: SequenceTagger
  readonly vocabulary: Vocabulary
  readonly tokenizer: TokenizerOptions
  readonly labels: LabelSet
  /** One sigmoid per token: P(labels[1]). */
  readonly binary: boolean
  readonly config: TagConfig
  training: TaskTrainingInfo | null = null

  private constructor(model: SequenceTagger, vocabulary: Vocabulary, tokenizer: TokenizerOptions, labels: LabelSet, config: TagConfig) {
    this.model = model
    this.vocabulary = vocabulary
    this.tokenizer = tokenizer
    this.labels = labels
    this.binary = model.architecture.output === 'sigmoid'
    this.config = { ...config, binary: this.binary }
  }

  /**
   * A new, untrained tagger for these examples: the vocabulary from the training inputs, the tags
   * from the training and validation examples, the architecture from the settings.
   * @throws RecurError 'DATA' for no examples, an empty input, a tag count that differs from the
   *   token count, or one tag in all; 'OPTION' for bad settings (binary with other than two tags).
   */
  static create(kernels: Kernels, examples: readonly TagExample[], config: Partial<TagConfig> = {}, validation: readonly TagExample[] = []): TextTagger {
    const resolved = resolveTagConfig(config)
    if (examples.length === 0) throw new RecurError('DATA', 'TextTagger.create: there are no training examples', 'Give examples with one tag per input token')
    const tokenizer = inputTokenizer(resolved)
    const tokenLists = examples.map((e, i) => alignedTokens(e, i, tokenizer).tokens)
    const names: string[] = []
    validation.forEach((e, i) => alignedTokens(e, i, tokenizer))
    for (const e of [...examples, ...validation]) names.push(...splitTags(e.tags as FieldValue))
    const labels = LabelSet.fromLabels(names)
    const zeroOne = labels.size === 2 && labels.labels[0] === '0' && labels.labels[1] === '1'
    const binary = resolved.binary ?? zeroOne
    if (binary && labels.size !== 2) {
      throw new RecurError('OPTION', `tag: binary tagging needs exactly two tags, the data has ${labels.size} (${labels.labels.slice(0, 10).join(', ')})`, 'Leave out --binary for a softmax over the tags')
    }
    if (labels.size < 2) throw new RecurError('DATA', `tag: every token has the tag ${JSON.stringify(labels.labels[0])}`, 'A tagger needs at least two tags to choose between')
    const vocabulary = buildInputVocabulary(tokenLists, resolved)
    const model = new SequenceTagger(kernels, {
      ...encoderArchitecture(resolved, vocabulary.size),
      tags: binary ? 1 : labels.size, output: binary ? 'sigmoid' : 'softmax', dense: parseWidths(resolved.dense), activation: resolved.activation,
    }, resolved.seed)
    return new TextTagger(model, vocabulary, tokenizer, labels, { ...resolved, binary })
  }

  /** A tagger from a decoded model file (`decodeTaskModel(bytes, kernels, 'tagger')`). */
  static fromBundle(bundle: TaskBundle): TextTagger {
    if (bundle.kind !== 'tagger') throw new RecurError('VERSION', `expected a tagger model, got a ${bundle.kind} model`)
    const tagger = new TextTagger(bundle.model, bundle.input.vocabulary, bundle.input.tokenizer, LabelSet.fromList(bundle.labels), configFromTraining(bundle.training))
    tagger.training = bundle.training
    return tagger
  }

  /** Reads a tagger model file. @throws RecurError 'FILE', 'FORMAT' or 'VERSION', naming the file. */
  static async load(path: string, kernels?: Kernels): Promise<TextTagger> {
    const k = kernels ?? (await resolveBackend())
    return TextTagger.fromBundle(await loadTaskModel(path, k, { command: 'tag', kind: 'tagger' }))
  }

  /** The tokens of an input as written (see the module comment for how text is cut). */
  tokens(input: FieldValue | readonly string[]): string[] {
    return splitTokens(input as FieldValue, { ...this.tokenizer, lowercase: false })
  }

  /** The token ids of an input (unknown tokens as <UNK>). */
  encode(input: FieldValue | readonly string[]): Int32Array {
    return encodeTokens(this.vocabulary, splitTokens(input as FieldValue, this.tokenizer))
  }

  /** A training session over these examples for `trainTask` (or a loop of your own). */
  session(examples: readonly TagExample[], validation: readonly TagExample[] = []): TaskSession {
    const train = this.prepare(examples, this.config.maxLength)
    const valid = validation.length > 0 ? this.prepare(validation, 0) : null
    const model = this.model
    return {
      params: model.params,
      lengths: train.ids.map((ids) => ids.length),
      trainBatch: (indices: readonly number[], random: Random | null) => {
        model.forward(padInputs(indices.map((i) => train.ids[i]!), this.vocabulary), random)
        model.lossAndBackward(this.batchTargets(train.tags, indices))
      },
      readLoss: () => model.loss.mean(model.kernels),
      validate: valid === null ? null : async (): Promise<ValidationScore> => {
        const scored = await this.score(valid.ids, valid.tags, this.config.batch)
        let right = 0
        let count = 0
        scored.predicted.forEach((tags, n) => tags.forEach((tag, t) => {
          count++
          if (tag === valid.tags[n]![t]) right++
        }))
        return { loss: scored.loss, metric: right / Math.max(1, count) }
      },
    }
  }

  /** Trains on the examples with the tagger's settings (overridable here). See `trainTask`. */
  async train(examples: readonly TagExample[], options: { validation?: readonly TagExample[]; config?: Partial<TagConfig>; hooks?: TrainHooks } = {}): Promise<TrainOutcome> {
    const config = options.config === undefined ? this.config : resolveTagConfig({ ...this.config, ...options.config, binary: this.binary })
    const outcome = await trainTask(this.session(examples, options.validation ?? []), config, options.hooks ?? {})
    this.training = {
      ...(this.training ?? {}), ...(config as unknown as Record<string, string | number | boolean>), binary: this.binary, // binary last: never undefined
      trainedSteps: outcome.steps, keptStep: outcome.keptStep, valLoss: outcome.validation?.loss ?? null, valTokenAccuracy: outcome.validation?.metric ?? null,
    }
    return outcome
  }

  /**
   * Tags each input, in order.
   * @throws RecurError 'DATA' for an input without tokens.
   */
  async predict(inputs: readonly (FieldValue | readonly string[])[], options: { batch?: number; where?: readonly string[] } = {}): Promise<TagPrediction[]> {
    const ids = encodeInputs('tag predict', inputs, (input) => this.encode(input), options.where)
    const { predicted, confidence } = await this.score(ids, null, options.batch ?? this.config.batch)
    return inputs.map((input, n) => ({
      tokens: this.tokens(input),
      tags: predicted[n]!.map((id) => this.labels.label(id)),
      probabilities: confidence[n]!.map(roundProbability),
    }))
  }

  /**
   * Scores the tagger on tagged examples: token accuracy, per-tag scores over tokens, and
   * entity-level precision, recall and F1 when the tags are BIO tags.
   * @throws RecurError 'TOKEN' for a tag the model does not know, 'DATA' for a count mismatch or no examples.
   */
  async evaluate(examples: readonly TagExample[], options: { batch?: number } = {}): Promise<TagEvaluation> {
    if (examples.length === 0) throw new RecurError('DATA', 'tag eval: there are no examples to score')
    const data = this.prepare(examples, 0)
    const { predicted, loss } = await this.score(data.ids, data.tags, options.batch ?? this.config.batch)
    const truth = data.tags.flatMap((tags) => Array.from(tags))
    const guess = predicted.flat()
    const labels = this.labels.labels.slice()
    const bio = isBioLabelSet(labels)
    return {
      examples: examples.length,
      tokens: truth.length,
      loss,
      tokenAccuracy: tokenAccuracy(truth, guess),
      labels,
      perTag: classificationReport(truth, guess, this.labels.size),
      entities: bio ? entityReport(data.tags.map((tags) => this.labels.decode(tags)), predicted.map((tags) => this.labels.decode(tags))) : null,
    }
  }

  /** The model file's contents (for `saveModelFile`). */
  async fileContents(): Promise<ModelFileInput> {
    return taskFileContents({
      kind: 'tagger', model: this.model, labels: this.labels.labels.slice(),
      input: { vocabulary: this.vocabulary, tokenizer: this.tokenizer }, training: this.training, optimizer: null,
    })
  }

  /** Saves the tagger as a model file (atomically). */
  async save(path: string): Promise<void> {
    await saveModelFile(path, await this.fileContents())
  }

  // -------------------------------------------------------------------------------------------

  /** Token ids and tag ids of tagged examples, cut to `maxLength` tokens (0 = whole). */
  private prepare(examples: readonly TagExample[], maxLength: number): { ids: Int32Array[]; tags: Int32Array[] } {
    const ids: Int32Array[] = []
    const tags: Int32Array[] = []
    examples.forEach((e, i) => {
      const where = e.where ?? `example ${i + 1}`
      const aligned = alignedTokens(e, i, this.tokenizer)
      const cut = maxLength > 0 ? maxLength : aligned.tokens.length
      ids.push(encodeTokens(this.vocabulary, aligned.tokens, cut))
      tags.push(Int32Array.from(aligned.tags.slice(0, cut), (tag) => this.tagId(tag, where)))
    })
    return { ids, tags }
  }

  /** The id of a tag. @throws RecurError 'TOKEN' for a tag the model does not know, naming it and where. */
  private tagId(tag: string, where: string): number {
    try {
      return this.labels.id(tag)
    } catch (error) {
      if (!(error instanceof RecurError)) throw error
      throw new RecurError('TOKEN', `tag: ${where}: ${error.message.replace(/^LabelSet\.id: unknown label/, 'unknown tag')}`)
    }
  }

  /** The (T,B) targets of a batch: tag ids (softmax) or 0/1 (sigmoid), padding 0, padded as `padInputs` pads the tokens. */
  private batchTargets(tags: readonly Int32Array[], indices: readonly number[]): Int32Array | Float32Array {
    const sequences = indices.map((i) => tags[i]!)
    const padded = padLabels(sequences, 0, { length: gridLength(longestLength(sequences)) }).labels
    return this.binary ? Float32Array.from(padded) : padded
  }

  /** Predicted tag ids and their probabilities per example (in order) and, with tags, the mean loss per token. */
  private async score(ids: readonly Int32Array[], tags: readonly Int32Array[] | null, batch: number): Promise<{ predicted: number[][]; confidence: number[][]; loss: number }> {
    const predicted: number[][] = new Array(ids.length)
    const confidence: number[][] = new Array(ids.length)
    const K = this.binary ? 1 : this.labels.size
    let lossSum = 0
    let tokens = 0
    for (const indices of predictionBatches(ids.map((s) => s.length), batch)) {
      const padded = padInputs(indices.map((i) => ids[i]!), this.vocabulary)
      const B = padded.B
      this.model.forward(padded, null)
      let count = 0
      for (const i of indices) count += ids[i]!.length
      if (tags !== null) {
        this.model.lossAndBackward(this.batchTargets(tags, indices), false)
        lossSum += (await this.model.loss.mean(this.model.kernels)) * count
      }
      tokens += count
      const p = await this.model.probabilities()
      indices.forEach((i, b) => {
        const L = ids[i]!.length
        const best: number[] = new Array(L)
        const prob: number[] = new Array(L)
        for (let t = 0; t < L; t++) {
          const row = t * B + b
          if (this.binary) {
            const y = p[row]!
            best[t] = y >= 0.5 ? 1 : 0
            prob[t] = y >= 0.5 ? y : 1 - y
          } else {
            let k = 0
            for (let j = 1; j < K; j++) if (p[row * K + j]! > p[row * K + k]!) k = j
            best[t] = k
            prob[t] = p[row * K + k]!
          }
        }
        predicted[i] = best
        confidence[i] = prob
      })
    }
    return { predicted, confidence, loss: tags === null ? Number.NaN : lossSum / Math.max(1, tokens) }
  }
}

/**
 * Trains a tagger on tagged examples (see `TextTagger.create` for how tokens, tags and the output
 * are chosen, `trainTask` for the loop). Without `kernels`, the best backend.
 */
export async function trainTagger(
  examples: readonly TagExample[],
  options: { config?: Partial<TagConfig>; validation?: readonly TagExample[]; kernels?: Kernels; hooks?: TrainHooks } = {},
): Promise<{ tagger: TextTagger; outcome: TrainOutcome }> {
  const kernels = options.kernels ?? (await resolveBackend())
  const validation = options.validation ?? []
  const tagger = TextTagger.create(kernels, examples, options.config ?? {}, validation)
  const outcome = await tagger.train(examples, { validation, ...(options.hooks === undefined ? {} : { hooks: options.hooks }) })
  return { tagger, outcome }
}

/** The tokens and tags of an example, checked to pair up. @throws RecurError 'DATA' naming the example. */
function alignedTokens(e: TagExample, index: number, tokenizer: TokenizerOptions): { tokens: string[]; tags: string[] } {
  const where = e.where ?? `example ${index + 1}`
  const tokens = splitTokens(e.input as FieldValue, tokenizer)
  checkNotEmpty('tag', tokens, where)
  let tags: string[]
  try {
    tags = splitTags(e.tags as FieldValue)
  } catch (error) {
    throw new RecurError('DATA', `tag: ${where}: ${(error as Error).message.replace(/^splitTags: /, '')}`)
  }
  if (tags.length !== tokens.length) {
    const unit = tokenizer.level === 'char' ? 'characters' : 'words, cut at whitespace'
    throw new RecurError(
      'DATA',
      `tag: ${where}: ${tags.length} ${tags.length === 1 ? 'tag' : 'tags'} for ${tokens.length} input ${tokens.length === 1 ? 'token' : 'tokens'} (${unit})`,
      'The tag field needs one tag per input token (an array, or tags separated by spaces)',
    )
  }
  return { tokens, tags }
}

function configFromTraining(training: TaskTrainingInfo | null): TagConfig {
  const partial = recordedSettings(training, Object.keys(TAG_FIELDS).filter((name) => name !== 'binary'))
  try {
    return resolveTagConfig(partial as Partial<TagConfig>)
  } catch {
    return resolveTagConfig()
  }
}
