/**
 * Encoder-decoder translation (many-to-many, Tx != Ty) from raw text: an input text becomes a
 * target text of another length. Dates written as people write them -> ISO dates, a spelling ->
 * its sounds, a sentence -> the same sentence in another language.
 *
 *     const { translator } = await trainTranslator(pairs, { config: { steps: 1500 } })   // pairs: { input, target }[]
 *     const r = await translator.translate('the 25th of June, 2009', { beam: 3 })       // { output: '2009-06-25', score, ... }
 *     await translator.save('dates.recur')                                              // TextTranslator.load(...) reads it back
 *
 * Data, stated once (time-major like the kernels, B pairs per batch):
 *
 *     input text  -> tokens at `inputLevel`  (char | word) -> ids x<1> ... x<Tx>
 *     target text -> tokens at `targetLevel` (char | word) -> ids y<1> ... y<Ty>
 *     src    (Tx,B)    x<1> ... x<Tx>, right-padded with <PAD>, mask 1 on the real tokens
 *     tgtIn  (Ty+1,B)  <BOS> y<1> ... y<Ty>      the decoder's inputs (teacher forcing)
 *     tgtOut (Ty+1,B)  y<1> ... y<Ty> <EOS>      what each decoder step must predict (tgtIn's mask)
 *
 * - Both vocabularies start with the specials <PAD> <UNK> <EOS> <BOS> (ids 0 .. 3) and are built
 *   from the training pairs. A target token the target vocabulary lacks is trained on as <UNK>,
 *   and counts as a token the model can never get right.
 * - Neither tokenizer inserts <EOS> markers: the decoder's <EOS> ends the output. The input is
 *   lower-cased as `lowercase` says (default: at word level); the target keeps its case. A field
 *   given as a JSON array is tokens already.
 * - Training is `trainTask` (./common.ts): teacher forcing, the mean cross-entropy per target
 *   token, length-bucketed batches. Validation decodes the first `valExamples` validation pairs
 *   greedily; its metric is their exact match, its loss their teacher-forced loss.
 * - Decoding is greedy (beam 1) or a beam search ranked by log P / length^α (`Seq2Seq.decode`).
 * - Scores: exact match (every target token right, no more, no fewer) and the token error rate
 *   (Σ edit distance / Σ reference tokens), both over target tokens.
 */

import { gridLength, longestLength, padBatch, type PaddedBatch } from '../data/batches.js'
import { sequenceReport, type SequenceReport } from '../data/metrics.js'
import type { FieldValue } from '../data/parse.js'
import { RecurError } from '../errors.js'
import { fileInt } from '../io/file-values.js'
import { saveModelFile } from '../io/model-file.js'
import type { ModelFileInput } from '../io/model-format.js'
import { resolveBackend } from '../kernels/registry.js'
import type { Kernels } from '../kernels/types.js'
import { Seq2Seq, type Hypothesis } from '../models/seq2seq.js'
import { taskFileContents, type TaskBundle, type TaskTrainingInfo, type TextSide } from '../models/task-file.js'
import type { Random } from '../random.js'
import { BOS, EOS, PAD, UNK } from '../text/special-tokens.js'
import { detokenize, type TokenizerOptions } from '../text/tokenizers.js'
import type { Vocabulary } from '../text/vocabulary.js'
import {
  TASK_FIELDS, buildInputVocabulary, checkNotEmpty, encodeTokens, encoderArchitecture, inputTokenizer, loadTaskModel,
  predictionBatches, recordedSettings, resolveTaskConfig, textTokens, trainTask,
  type ConfigField, type ConfigOf, type TaskSession, type TrainHooks, type TrainOutcome, type ValidationScore,
} from './common.js'

// ---------------------------------------------------------------------------------------------
// Settings

/**
 * The most target tokens a model's default decoding limit (`decodeMaxLength` in its file) may be:
 * it bounds the decoding loop, so a forged file must not set it to billions. The same bound as
 * `--max-length` when training.
 */
export const MAX_DECODE_LENGTH = 65536

/** The decoding limit of a model file that does not record one (files written before it was saved). */
const DEFAULT_DECODE_LENGTH = 50

/**
 * The encoder-decoder's settings: the shared ones, with defaults for translation (characters in,
 * an LSTM: on the dates task a GRU of the same size learned far more slowly), plus the target side.
 */
export const TRANSLATE_FIELDS = {
  ...TASK_FIELDS,
  cell: { ...TASK_FIELDS.cell, default: 'lstm' },
  inputLevel: { ...TASK_FIELDS.inputLevel, default: 'char' },
  lr: { ...TASK_FIELDS.lr, default: 0.01 },
  targetLevel: { type: 'enum', values: ['char', 'word'], default: 'char', description: 'Target tokens: characters, or words and marks (e.g. space-separated symbols)' },
  targetEmbedding: { type: 'int', default: -1, min: -1, max: 8192, description: 'Decoder embedding width; 0 = one-hot, -1 = 0 at char level, 64 at word level (of the target)' },
  maxLength: { type: 'int', default: 0, min: 0, max: MAX_DECODE_LENGTH, description: 'Most target tokens to produce when decoding (0 = twice the longest training target, at least 10)' },
  valExamples: { type: 'int', default: 200, min: 0, description: 'Validation pairs decoded (greedily) for the exact match while training (0 = all)' },
} as const satisfies Record<string, ConfigField>

export type TranslateConfig = ConfigOf<typeof TRANSLATE_FIELDS>

/** Fills in the defaults and checks the settings. @throws RecurError 'OPTION'. */
export function resolveTranslateConfig(partial: Partial<TranslateConfig> = {}): TranslateConfig {
  return resolveTaskConfig(TRANSLATE_FIELDS, partial, 'translate config')
}

/** How to decode: the settings of `translate`, `evaluate` and the predict and eval commands. */
export const DECODE_FIELDS = {
  beam: { type: 'int', default: 1, min: 1, max: 1000, description: 'Beam width (1 = greedy search)' },
  lengthPenalty: { type: 'number', default: 0.6, min: 0, max: 10, description: 'Length normalisation α: hypotheses are ranked by log P / length^α (0 = none)' },
  maxLength: { type: 'int', default: 0, min: 0, max: MAX_DECODE_LENGTH, description: "Most target tokens to produce (0 = the model's default: twice its longest training target, at least 10)" },
} as const satisfies Record<string, ConfigField>

export type DecodeConfig = ConfigOf<typeof DECODE_FIELDS>

/** Fills in the decoding defaults and checks them. @throws RecurError 'OPTION'. */
export function resolveDecodeConfig(partial: Partial<DecodeConfig> = {}): DecodeConfig {
  return resolveTaskConfig(DECODE_FIELDS, partial, 'decode options')
}

/** The specials of both vocabularies, in id order. */
export const TRANSLATE_SPECIALS: readonly string[] = Object.freeze([PAD, UNK, EOS, BOS])

// ---------------------------------------------------------------------------------------------
// Examples and batches

/** One pair: an input and the target it should become. */
export interface TranslateExample {
  /** The input text, or its tokens. */
  input: FieldValue | readonly string[]
  /** The target text, or its tokens. */
  target: FieldValue | readonly string[]
  /** Where it is, for error messages, e.g. 'train.jsonl line 7'. */
  where?: string
}

/** A pair as token ids. */
export interface EncodedPair {
  /** x<1> ... x<Tx>, Tx >= 1. */
  source: Int32Array
  /** y<1> ... y<Ty>, Ty >= 0, without <BOS> or <EOS>. */
  target: Int32Array
  /** The target's tokens as text (a token outside the vocabulary stays itself), for the scores. */
  targetTokens: string[]
}

/** One teacher-forcing batch (see the module comment). */
export interface TranslationBatch {
  /** (Tx,B) */
  src: PaddedBatch
  /** (Ty+1,B) <BOS> y<1> ... y<Ty>, padded. */
  tgtIn: PaddedBatch
  /** (Ty+1,B) y<1> ... y<Ty> <EOS>, padded with <PAD>; its mask is tgtIn.mask. */
  tgtOut: Int32Array
}

/**
 * Pads B encoded pairs into one teacher-forcing batch.
 * @throws RecurError 'SHAPE' for no pairs, 'OPTION' for a target vocabulary without the specials.
 */
export function translationBatch(pairs: readonly EncodedPair[], inputVocabulary: Vocabulary, targetVocabulary: Vocabulary): TranslationBatch {
  const { pad, bos, eos } = targetSpecials(targetVocabulary)
  // Both sides are padded to the shape grid (see gridLength): few distinct shapes, few buffer sets.
  const sources = pairs.map((p) => p.source)
  const targets = pairs.map((p) => [bos, ...p.target])
  const src = padBatch(sources, inputVocabulary.padId >= 0 ? inputVocabulary.padId : inputVocabulary.unkId, { length: gridLength(longestLength(sources)) })
  const tgtIn = padBatch(targets, pad, { length: gridLength(longestLength(targets)) })
  const B = pairs.length
  const tgtOut = new Int32Array(tgtIn.T * B).fill(pad)
  pairs.forEach((p, b) => {
    for (let t = 0; t < p.target.length; t++) tgtOut[t * B + b] = p.target[t]!
    tgtOut[p.target.length * B + b] = eos
  })
  return { src, tgtIn, tgtOut }
}

// ---------------------------------------------------------------------------------------------
// The translator

/** One output of `translate`. */
export interface TranslationCandidate {
  /** The output text: the target tokens written back at the target level. */
  output: string
  tokens: string[]
  /** The ranking score: log P / length^α (length counts the <EOS>). */
  score: number
  /** log P(tokens, <EOS> | input). */
  logProb: number
  /** False when decoding stopped at the length limit before <EOS>. */
  finished: boolean
}

/** What `translate` returns: the best output and, with a beam, the other finished ones, best first. */
export interface Translation extends TranslationCandidate {
  alternatives: TranslationCandidate[]
}

/** What `evaluate` measures (over target tokens); `outputs` holds every best output, in order. */
export interface TranslateEvaluation extends SequenceReport {
  outputs: string[]
}

/** A trained (or freshly made) encoder-decoder: both tokenizers and vocabularies, and the model. */
export class TextTranslator {
  readonly model: Seq2Seq
  readonly input: TextSide
  readonly target: TextSide
  /** The default decoding limit in target tokens: twice the longest training target, at least 10 (at most MAX_DECODE_LENGTH). */
  readonly maxLength: number
  /** The settings it was made with (defaults, for a model read from a file that does not record them). */
  readonly config: TranslateConfig
  /** What training recorded; saved in the model file. */
  training: TaskTrainingInfo | null = null

  private constructor(model: Seq2Seq, input: TextSide, target: TextSide, config: TranslateConfig, maxLength: number) {
    targetSpecials(target.vocabulary)
    this.model = model
    this.input = input
    this.target = target
    this.config = config
    this.maxLength = maxLength
  }

  /**
   * A new, untrained encoder-decoder for these pairs: both vocabularies from the training pairs,
   * the architecture from the settings (the decoder has the encoder's layers and width).
   * @throws RecurError 'DATA' for no pairs or an empty input; 'OPTION' for bad settings.
   */
  static create(kernels: Kernels, examples: readonly TranslateExample[], config: Partial<TranslateConfig> = {}): TextTranslator {
    const resolved = resolveTranslateConfig(config)
    if (examples.length === 0) throw new RecurError('DATA', 'translate: there are no training pairs', 'Give at least one { input, target } pair')
    const sides = translateTokenizers(resolved)
    const inputs: string[][] = []
    const targets: string[][] = []
    examples.forEach((e, i) => {
      const tokens = textTokens(e.input as FieldValue, sides.input)
      checkNotEmpty('translate', tokens, e.where ?? `pair ${i + 1}`)
      inputs.push(tokens)
      targets.push(textTokens(e.target as FieldValue, sides.target))
    })
    const inputVocabulary = buildInputVocabulary(inputs, resolved, TRANSLATE_SPECIALS)
    const targetVocabulary = buildInputVocabulary(targets, { vocabSize: 0, minCount: 1 }, TRANSLATE_SPECIALS)
    const targetWidth = resolved.targetEmbedding >= 0 ? resolved.targetEmbedding : resolved.targetLevel === 'char' ? 0 : 64
    const model = new Seq2Seq(kernels, {
      encoder: encoderArchitecture(resolved, inputVocabulary.size),
      decoder: { layers: resolved.layers, hidden: resolved.hidden, vocabularySize: targetVocabulary.size, embedding: targetWidth, dropout: resolved.dropout },
    }, resolved.seed)
    const longest = targets.reduce((most, tokens) => Math.max(most, tokens.length), 0)
    const maxLength = resolved.maxLength > 0 ? resolved.maxLength : Math.min(MAX_DECODE_LENGTH, Math.max(10, 2 * longest))
    return new TextTranslator(model, { vocabulary: inputVocabulary, tokenizer: sides.input }, { vocabulary: targetVocabulary, tokenizer: sides.target }, resolved, maxLength)
  }

  /**
   * A translator from a decoded model file (`decodeTaskModel(bytes, kernels, 'seq2seq')`).
   * @param source names the file in errors (default 'model file')
   * @throws RecurError 'FORMAT' when the recorded `decodeMaxLength` is not an integer in [1, MAX_DECODE_LENGTH].
   */
  static fromBundle(bundle: TaskBundle, source = 'model file'): TextTranslator {
    if (bundle.kind !== 'seq2seq') throw new RecurError('VERSION', `expected an encoder-decoder (seq2seq) model, got a ${bundle.kind} model`)
    const config = configFromTraining(bundle.training)
    const maxLength = recordedDecodeLength(bundle.training, source)
    const translator = new TextTranslator(bundle.model, bundle.input, bundle.target, config, maxLength)
    translator.training = bundle.training
    return translator
  }

  /** Reads an encoder-decoder model file. @throws RecurError 'FILE', 'FORMAT' or 'VERSION', naming the file. */
  static async load(path: string, kernels?: Kernels): Promise<TextTranslator> {
    const k = kernels ?? (await resolveBackend())
    return TextTranslator.fromBundle(await loadTaskModel(path, k, { command: 'translate', kind: 'seq2seq' }), path)
  }

  /** The token ids of an input (unknown tokens as <UNK>). */
  encodeInput(input: FieldValue | readonly string[]): Int32Array {
    return encodeTokens(this.input.vocabulary, textTokens(input as FieldValue, this.input.tokenizer))
  }

  /**
   * Token ids of pairs.
   * @throws RecurError 'DATA' for a pair whose input has no tokens, naming it.
   */
  encodePairs(examples: readonly TranslateExample[]): EncodedPair[] {
    return examples.map((e, i) => {
      const source = this.encodeInput(e.input)
      checkNotEmpty('translate', source, e.where ?? `pair ${i + 1}`)
      const targetTokens = textTokens(e.target as FieldValue, this.target.tokenizer)
      return { source, target: encodeTokens(this.target.vocabulary, targetTokens), targetTokens }
    })
  }

  /**
   * A training session over these pairs for `trainTask` (or a loop of your own). Validation scores
   * the first `valExamples` validation pairs (0 = all): exact match of greedy decoding, and the
   * teacher-forced loss.
   * @throws RecurError 'DATA' for an input without tokens.
   */
  session(examples: readonly TranslateExample[], validation: readonly TranslateExample[] = [], valExamples = this.config.valExamples): TaskSession {
    const train = this.encodePairs(examples)
    const valid = validation.length > 0 ? this.encodePairs(valExamples > 0 ? validation.slice(0, valExamples) : validation) : null
    const model = this.model
    return {
      params: model.params,
      lengths: train.map((p) => p.source.length),
      trainBatch: (indices: readonly number[], random: Random | null) => {
        const batch = translationBatch(indices.map((i) => train[i]!), this.input.vocabulary, this.target.vocabulary)
        model.forward(batch.src, batch.tgtIn, random)
        model.lossAndBackward(batch.tgtOut)
      },
      readLoss: () => model.loss.mean(model.kernels),
      validate: valid === null ? null : async (): Promise<ValidationScore> => {
        const loss = await this.teacherForcedLoss(valid)
        const report = await this.score(valid, {})
        return { loss, metric: report.exactMatch }
      },
    }
  }

  /** Trains on the pairs with the translator's settings (overridable here). See `trainTask`. */
  async train(examples: readonly TranslateExample[], options: { validation?: readonly TranslateExample[]; config?: Partial<TranslateConfig>; hooks?: TrainHooks } = {}): Promise<TrainOutcome> {
    const config = options.config === undefined ? this.config : resolveTranslateConfig({ ...this.config, ...options.config })
    const outcome = await trainTask(this.session(examples, options.validation ?? [], config.valExamples), config, options.hooks ?? {})
    this.training = {
      ...(this.training ?? {}), ...(config as unknown as Record<string, string | number | boolean>), decodeMaxLength: this.maxLength,
      trainedSteps: outcome.steps, keptStep: outcome.keptStep, valLoss: outcome.validation?.loss ?? null, valExactMatch: outcome.validation?.metric ?? null,
    }
    return outcome
  }

  /**
   * Translates one input: greedy search, or beam search with `beam` > 1 (the other finished
   * hypotheses of the beam come back as `alternatives`, best first).
   * @param options.where names the input in error messages (default 'the input'), e.g. 'stdin line 3'
   * @throws RecurError 'DATA' for an input without tokens; 'OPTION' for bad decoding options.
   */
  async translate(input: FieldValue | readonly string[], options: Partial<DecodeConfig> & { where?: string } = {}): Promise<Translation> {
    const { where, ...decode } = options
    const source = this.encodeInput(input)
    checkNotEmpty('translate', source, where ?? 'the input')
    const [best, ...rest] = (await this.decode(source, decode)).map((h) => this.candidate(h))
    return { ...best!, alternatives: rest }
  }

  /**
   * Scores the translator on pairs: exact match and token error rate over target tokens, decoding
   * greedily or with a beam.
   * @param options.onProgress called after each pair with (done, total)
   * @throws RecurError 'DATA' for no pairs, an empty input, or targets that are all empty.
   */
  async evaluate(examples: readonly TranslateExample[], options: Partial<DecodeConfig> & { onProgress?: (done: number, total: number) => void } = {}): Promise<TranslateEvaluation> {
    if (examples.length === 0) throw new RecurError('DATA', 'translate eval: there are no pairs to score')
    const { onProgress, ...decode } = options
    return this.score(this.encodePairs(examples), decode, onProgress)
  }

  /** The model file's contents (for `saveModelFile`). */
  async fileContents(): Promise<ModelFileInput> {
    return taskFileContents({
      kind: 'seq2seq', model: this.model, target: this.target, input: this.input,
      training: { ...(this.training ?? {}), decodeMaxLength: this.maxLength }, optimizer: null,
    })
  }

  /** Saves the translator as a model file (atomically). */
  async save(path: string): Promise<void> {
    await saveModelFile(path, await this.fileContents())
  }

  // -------------------------------------------------------------------------------------------

  private async decode(source: Int32Array, options: Partial<DecodeConfig>): Promise<Hypothesis[]> {
    const o = resolveDecodeConfig(options)
    const { pad, bos, eos } = targetSpecials(this.target.vocabulary)
    return this.model.decode(source, { beam: o.beam, lengthPenalty: o.lengthPenalty, maxLength: o.maxLength > 0 ? o.maxLength : this.maxLength, bos, eos, exclude: [pad] })
  }

  private candidate(h: Hypothesis): TranslationCandidate {
    const tokens = this.target.vocabulary.decode(h.tokens)
    return { output: detokenize(tokens, this.target.tokenizer), tokens, score: h.score, logProb: h.logProb, finished: h.finished }
  }

  private async score(pairs: readonly EncodedPair[], options: Partial<DecodeConfig>, onProgress?: (done: number, total: number) => void): Promise<TranslateEvaluation> {
    const predictions: string[][] = []
    const outputs: string[] = []
    for (let i = 0; i < pairs.length; i++) {
      const [best] = await this.decode(pairs[i]!.source, options)
      const tokens = best === undefined ? [] : this.target.vocabulary.decode(best.tokens)
      predictions.push(tokens)
      outputs.push(detokenize(tokens, this.target.tokenizer))
      onProgress?.(i + 1, pairs.length)
    }
    return { ...sequenceReport(pairs.map((p) => p.targetTokens), predictions), outputs }
  }

  /** The mean teacher-forced loss per target token over pairs, in length-bucketed batches. */
  private async teacherForcedLoss(pairs: readonly EncodedPair[]): Promise<number> {
    let sum = 0
    let count = 0
    for (const indices of predictionBatches(pairs.map((p) => p.source.length), this.config.batch)) {
      const batch = translationBatch(indices.map((i) => pairs[i]!), this.input.vocabulary, this.target.vocabulary)
      this.model.forward(batch.src, batch.tgtIn, null)
      this.model.lossAndBackward(batch.tgtOut, false)
      let tokens = 0
      for (const m of batch.tgtIn.mask) tokens += m
      sum += (await this.model.loss.mean(this.model.kernels)) * tokens
      count += tokens
    }
    return sum / Math.max(1, count)
  }
}

/**
 * Trains an encoder-decoder on pairs (see `TextTranslator.create` for the vocabularies,
 * `trainTask` for the loop). Without `kernels`, the best backend.
 */
export async function trainTranslator(
  examples: readonly TranslateExample[],
  options: { config?: Partial<TranslateConfig>; validation?: readonly TranslateExample[]; kernels?: Kernels; hooks?: TrainHooks } = {},
): Promise<{ translator: TextTranslator; outcome: TrainOutcome }> {
  const kernels = options.kernels ?? (await resolveBackend())
  const translator = TextTranslator.create(kernels, examples, options.config ?? {})
  const outcome = await translator.train(examples, { validation: options.validation ?? [], ...(options.hooks === undefined ? {} : { hooks: options.hooks }) })
  return { translator, outcome }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The tokenizers of both sides: the shared input tokenizer; the target at its level, case kept, no <EOS> markers. */
export function translateTokenizers(config: Pick<TranslateConfig, 'inputLevel' | 'lowercase' | 'targetLevel'>): { input: TokenizerOptions; target: TokenizerOptions } {
  return { input: inputTokenizer(config), target: { level: config.targetLevel, lowercase: false, punctuation: 'keep', eos: 'none' } }
}

function targetSpecials(vocabulary: Vocabulary): { pad: number; bos: number; eos: number } {
  const { padId: pad, bosId: bos, eosId: eos } = vocabulary
  if (pad < 0 || bos < 0 || eos < 0) {
    const missing = [pad < 0 ? PAD : '', bos < 0 ? BOS : '', eos < 0 ? EOS : ''].filter((s) => s !== '')
    throw new RecurError('FORMAT', `the target vocabulary lacks ${missing.join(', ')}`, `an encoder-decoder's target vocabulary needs the specials ${TRANSLATE_SPECIALS.join(' ')}`)
  }
  return { pad, bos, eos }
}

/** The settings recorded in a model file's training info (those that are valid), defaults for the rest. */
/**
 * The decoding limit a model file records (`training.decodeMaxLength`), checked: it bounds the
 * decoding loop. Absent (older files): 50.
 */
function recordedDecodeLength(training: TaskTrainingInfo | null, source: string): number {
  const recorded = training?.['decodeMaxLength']
  if (recorded === undefined) return DEFAULT_DECODE_LENGTH
  const bad = (what: string) => new RecurError('FORMAT', `${source}: ${what}`, 'The file is damaged or was not written by recur')
  return fileInt(recorded, 'training.decodeMaxLength', 1, MAX_DECODE_LENGTH, bad)
}

function configFromTraining(training: TaskTrainingInfo | null): TranslateConfig {
  const partial = recordedSettings(training, Object.keys(TRANSLATE_FIELDS))
  try {
    return resolveTranslateConfig(partial as Partial<TranslateConfig>)
  } catch {
    return resolveTranslateConfig()
  }
}
