/**
 * A language model as one file: architecture, vocabulary, tokenizer settings, weights, and (for a
 * checkpoint) the full training state, so training resumes exactly. The container is the recur
 * model file (../io/model-format.ts); this module decides what goes in it and checks it on the way out.
 *
 *   meta: { architecture, vocabulary, tokenizer, training?: { options, step, position, random,
 *           optimizerStep, guard?: { lrScale, inRow, total }, earlyStopping?: { best, sinceBest },
 *           corpus } }
 *   tensors: every parameter by name (f32); with training state, 'optimizer.moment{i}' (f32,
 *            the store's layout) and 'trainer.carried.{i}' (f32); 'validation.ids' (i32) when the
 *            held-out part of the training corpus is recorded, so `recur eval` can use it later.
 */
import { resolveTrainConfig, type RunSettings, type TrainConfig } from '../config.js'
import { RecurError } from '../errors.js'
import { describeShape, describeValue } from '../io/describe.js'
import { causeText, checkFiniteWeights, fileInt, fileNumber, fileRecord, fileTokenizer, fileVocabulary, inFileOrder, type BadFile } from '../io/file-values.js'
import type { Kernels } from '../kernels/types.js'
import { decodeModelFile, encodeModelFile, type DecodedModelFile, type ModelFileInput, type ModelTensor } from '../io/model-format.js'
import type { EarlyStoppingState, TrainerOptions, TrainerState } from '../train/language-model-trainer.js'
import type { NanGuardState } from '../train/guard.js'
import type { TokenizerOptions } from '../text/tokenizers.js'
import { Vocabulary, type VocabularyJSON } from '../text/vocabulary.js'
import { CELL_GATES, LanguageModel, type LanguageModelArchitecture } from './language-model.js'

export const LANGUAGE_MODEL_KIND = 'language-model'

/** Where the training text came from and how it was split. */
export interface CorpusInfo {
  name: string
  tokens: number
  valFraction: number
}

export interface TrainingInfo {
  /** The trainer's options, and the run's settings that a resumed run keeps (`RUN_SETTINGS`). */
  options: TrainerOptions & Partial<RunSettings>
  corpus: CorpusInfo
  /** Validation loss (nats) at the last evaluation, when there was one. */
  valLoss?: number
}

export interface LanguageModelBundle {
  model: LanguageModel
  vocabulary: Vocabulary
  tokenizer: TokenizerOptions
  training: TrainingInfo | null
  trainerState: TrainerState | null
  validationIds: Int32Array | null
}

interface Meta {
  architecture: LanguageModelArchitecture
  vocabulary: VocabularyJSON
  tokenizer: TokenizerOptions
  training: (TrainingInfo & Omit<TrainerState, 'optimizer' | 'carried'> & { optimizerStep: number; moments: number; carried: number }) | null
}

type BundleToSave = Omit<LanguageModelBundle, 'trainerState'> & { trainerState?: TrainerState | null }

/** Encodes a model (and, when given, its training state) into model-file bytes. */
export async function encodeLanguageModel(bundle: BundleToSave): Promise<Uint8Array> {
  return encodeModelFile(await languageModelFileContents(bundle))
}

/** What a model file holds for this model: kind, meta and tensors (for saveModelFile). */
export async function languageModelFileContents(bundle: BundleToSave): Promise<ModelFileInput> {
  const { model, vocabulary, tokenizer, training, validationIds } = bundle
  const state = bundle.trainerState ?? null
  const values = await model.params.readValues()
  const tensors: ModelTensor[] = model.params.params.map((p) => ({ name: p.name, shape: p.shape, data: values.get(p.name)! }))
  let trainingMeta: Meta['training'] = null
  if (training !== null && state !== null) {
    state.optimizer.moments.forEach((m, i) => tensors.push({ name: `optimizer.moment${i}`, shape: [m.length], data: m }))
    state.carried.forEach((c, i) => tensors.push({ name: `trainer.carried.${i}`, shape: [c.length], data: c }))
    trainingMeta = {
      ...training, step: state.step, position: state.position, random: state.random,
      optimizerStep: state.optimizer.step, moments: state.optimizer.moments.length, carried: state.carried.length,
      ...(state.guard === undefined ? {} : { guard: state.guard }),
      ...(state.earlyStopping === undefined ? {} : { earlyStopping: state.earlyStopping }),
    }
  } else if (training !== null) {
    trainingMeta = { ...training, step: 0, position: 0, random: [], optimizerStep: 0, moments: 0, carried: 0 }
  }
  if (validationIds !== null) tensors.push({ name: 'validation.ids', shape: [validationIds.length], data: validationIds })
  const meta: Meta = { architecture: model.architecture, vocabulary: vocabulary.toJSON(), tokenizer, training: trainingMeta }
  return { kind: LANGUAGE_MODEL_KIND, meta, tensors }
}

/** Decodes model-file bytes into a model on `kernels`, with its vocabulary and training state. */
export function decodeLanguageModel(bytes: Uint8Array | ArrayBuffer, kernels: Kernels, source = 'model file'): LanguageModelBundle {
  const file = decodeModelFile(bytes, { expectKind: LANGUAGE_MODEL_KIND, source })
  return bundleFromFile(file, kernels, source)
}

function bundleFromFile(file: DecodedModelFile, kernels: Kernels, source: string): LanguageModelBundle {
  const meta = file.meta as unknown as Meta
  const bad = (what: string) => new RecurError('FORMAT', `${source}: ${what}`, 'The file is damaged or was not written by recur')
  if (typeof meta !== 'object' || meta === null || typeof meta.architecture !== 'object' || meta.architecture === null) throw bad('no architecture in the header')
  const vocabulary = fileVocabulary(meta.vocabulary, source, 'the vocabulary')
  const vocabularySize: unknown = meta.architecture.vocabularySize
  if (vocabulary.size !== vocabularySize) throw bad(`the vocabulary has ${vocabulary.size} tokens but the architecture says ${describeValue(vocabularySize)}`)
  checkArchitecture(meta.architecture, file, bad)
  const architecture = knownArchitectureFields(meta.architecture)
  const tokenizer = fileTokenizer(meta.tokenizer, 'tokenizer settings', bad)
  const t = meta.training === null || meta.training === undefined ? null : checkTrainingRecord(meta.training, bad)
  const model = new LanguageModel(kernels, architecture)
  const weights = new Map<string, Float32Array>()
  for (const p of model.params.params) {
    const t = file.tensors.get(p.name)
    if (t === undefined) throw bad(`missing tensor '${p.name}'`)
    if (!(t.data instanceof Float32Array) || t.shape.join('x') !== p.shape.join('x')) {
      throw bad(`tensor '${p.name}' has shape ${describeShape(t.shape)}, the architecture needs [${p.shape.join(', ')}]`)
    }
    checkFiniteWeights(source, p.name, t.data)
    weights.set(p.name, t.data)
  }
  model.params.writeValues(weights)
  const floats = (name: string, length: number): Float32Array => {
    const t = file.tensors.get(name)
    if (t === undefined || !(t.data instanceof Float32Array)) throw bad(`missing tensor '${name}'`)
    if (t.data.length !== length) throw bad(`tensor '${name}' holds ${t.data.length} values, the training state needs ${length}`)
    checkFiniteWeights(source, name, t.data)
    return t.data
  }
  const momentSize = Math.max(model.params.size, 1)
  const carriedSize = t === null ? 0 : t.options.batch * architecture.hidden
  const carriedCount = architecture.layers * (architecture.cell === 'lstm' ? 2 : 1)
  if (t !== null && t.moments > 0 && t.carried !== carriedCount) {
    throw bad(`the training state carries ${t.carried} recurrent states, the architecture has ${carriedCount}`)
  }
  let trainerState: TrainerState | null = null
  if (t !== null && t.moments > 0) {
    trainerState = {
      step: t.step, position: t.position, random: t.random,
      optimizer: { step: t.optimizerStep, moments: Array.from({ length: t.moments }, (_, i) => floats(`optimizer.moment${i}`, momentSize)) },
      carried: Array.from({ length: t.carried }, (_, i) => floats(`trainer.carried.${i}`, carriedSize)),
      ...(t.guard === undefined ? {} : { guard: checkGuardState(t.guard, bad) }),
      ...(t.earlyStopping === undefined ? {} : { earlyStopping: checkEarlyStoppingState(t.earlyStopping, bad) }),
    }
  }
  const val = file.tensors.get('validation.ids')
  const validationIds = val !== undefined && val.data instanceof Int32Array ? val.data : null
  if (validationIds !== null) {
    for (const id of validationIds) if (id < 0 || id >= vocabulary.size) throw bad(`validation token id ${id} is outside the vocabulary`)
  }
  const training: TrainingInfo | null = t === null ? null : { options: t.options, corpus: t.corpus, ...(t.valLoss === undefined ? {} : { valLoss: t.valLoss }) }
  return { model, vocabulary, tokenizer, training, trainerState, validationIds }
}

/**
 * Checks the header's architecture before anything is allocated: every field has a valid value,
 * and the largest parameters (the output layer, each layer's recurrent weights, the embedding) are
 * in the file with the shapes it implies, so a damaged or forged header cannot make the model
 * allocate more memory than the file itself holds.
 */
function checkArchitecture(a: LanguageModelArchitecture, file: DecodedModelFile, bad: (what: string) => RecurError): void {
  const int = (name: 'vocabularySize' | 'hidden' | 'layers' | 'embedding', min: number): void => {
    const v: unknown = a[name]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(`architecture.${name} is ${describeValue(v)}, expected an integer >= ${min}`)
  }
  int('vocabularySize', 2)
  int('hidden', 1)
  int('layers', 1)
  int('embedding', 0)
  if (typeof a.cell !== 'string' || !Object.hasOwn(CELL_GATES, a.cell)) throw bad(`architecture.cell is ${describeValue(a.cell)}, expected one of ${Object.keys(CELL_GATES).join(', ')}`)
  if (a.reset !== 'after' && a.reset !== 'before') throw bad(`architecture.reset is ${describeValue(a.reset)}, expected 'after' or 'before'`)
  if (typeof a.peephole !== 'boolean') throw bad(`architecture.peephole is ${describeValue(a.peephole)}, expected true or false`)
  if (typeof a.dropout !== 'number' || !(a.dropout >= 0 && a.dropout < 1)) throw bad(`architecture.dropout is ${describeValue(a.dropout)}, expected a number in [0, 1)`)
  const { vocabularySize: V, hidden: H, embedding: E } = a
  const GH = CELL_GATES[a.cell] * H
  const expect = (name: string, shape: number[]): void => {
    const tensor = file.tensors.get(name)
    if (tensor === undefined) throw bad(`missing tensor '${name}'`)
    if (tensor.shape.join('x') !== shape.join('x')) throw bad(`tensor '${name}' has shape ${describeShape(tensor.shape)}, the architecture needs [${shape.join(', ')}]`)
  }
  expect('out.weight', [V, H])
  if (E > 0) expect('embedding.weight', [V, E])
  for (let l = 0; l < a.layers; l++) expect(`rnn.l${l}.weight_hh`, [GH, H])
}

/** The numerical guard's counters of a checkpoint (`../train/guard.ts`): three finite numbers. */
function checkGuardState(guard: unknown, bad: (what: string) => RecurError): NanGuardState {
  const g = guard as Partial<Record<keyof NanGuardState, unknown>> | null
  const ok = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min
  if (typeof g !== 'object' || g === null || !ok(g.lrScale, 0) || !ok(g.inRow, 0) || !ok(g.total, 0)) {
    throw bad(`training.guard is ${describeValue(guard)}, expected { lrScale, inRow, total } (numbers >= 0)`)
  }
  return { lrScale: g.lrScale, inRow: g.inRow, total: g.total }
}

/**
 * Early stopping's counters of a checkpoint (`EarlyStopping` in ../train/language-model-trainer.ts):
 * the best validation loss (a finite number >= 0) and the validations since (an integer >= 0).
 */
function checkEarlyStoppingState(value: unknown, bad: (what: string) => RecurError): EarlyStoppingState {
  const e = value as Partial<Record<keyof EarlyStoppingState, unknown>> | null
  const best = typeof e === 'object' && e !== null ? e.best : undefined
  const sinceBest = typeof e === 'object' && e !== null ? e.sinceBest : undefined
  if (typeof best !== 'number' || !Number.isFinite(best) || best < 0 || typeof sinceBest !== 'number' || !Number.isSafeInteger(sinceBest) || sinceBest < 0) {
    throw bad(`training.earlyStopping is ${describeValue(value)}, expected { best, sinceBest } (a loss >= 0 and an integer >= 0)`)
  }
  return { best, sinceBest }
}

/** The training record of a checkpoint, as `bundleFromFile` reads it. */
type TrainingRecord = NonNullable<Meta['training']>

/**
 * Checks a checkpoint's training record before it sizes anything: the trainer's options (every
 * field valid, as `recur train` would accept it: the batch size sizes the carried states), the
 * corpus description, and the counters and generator state of the trainer.
 */
function checkTrainingRecord(value: unknown, bad: BadFile): TrainingRecord {
  const t = fileRecord(value, 'the training record', bad)
  if (typeof t['options'] !== 'object' || t['options'] === null || typeof t['corpus'] !== 'object' || t['corpus'] === null) {
    throw bad('the training record has no options or corpus')
  }
  const options = fileRecord(t['options'], 'training.options', bad)
  try {
    resolveTrainConfig(options as Partial<TrainConfig>)
  } catch (error) {
    throw bad(`invalid training options (${causeText(error)})`)
  }
  const corpus = fileRecord(t['corpus'], 'training.corpus', bad)
  if (typeof corpus['name'] !== 'string') throw bad(`training.corpus.name is ${describeValue(corpus['name'])}, expected a string`)
  const checkedCorpus: CorpusInfo = {
    name: corpus['name'],
    tokens: fileInt(corpus['tokens'], 'training.corpus.tokens', 0, Number.MAX_SAFE_INTEGER, bad),
    valFraction: fileNumber(corpus['valFraction'], 'training.corpus.valFraction', 0, 1, bad),
  }
  if (t['valLoss'] !== undefined) fileNumber(t['valLoss'], 'training.valLoss', 0, Number.MAX_VALUE, bad)
  for (const name of ['step', 'position', 'optimizerStep'] as const) fileInt(t[name], `training.${name}`, 0, Number.MAX_SAFE_INTEGER, bad)
  const moments = fileInt(t['moments'], 'training.moments', 0, 8, bad)
  fileInt(t['carried'], 'training.carried', 0, 2 * 1024, bad)
  const random = t['random']
  const words = Array.isArray(random) ? random : []
  const generator = Array.isArray(random) && (moments === 0 ? random.length === 0 || random.length === 4 : random.length === 4)
  const uint32 = (w: unknown): boolean => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff
  if (!generator || !words.every(uint32) || (words.length > 0 && words.every((w) => w === 0))) {
    throw bad(`training.random is ${describeValue(random)}, expected the generator's state: 4 unsigned 32-bit integers`)
  }
  return { ...t, corpus: inFileOrder(corpus, checkedCorpus) } as unknown as TrainingRecord
}

/**
 * The architecture's own fields, in the file's order: a field the file adds (which nothing
 * checks, and which could be nested deep enough to overflow the stack when the model is saved
 * again) is left behind. Call after `checkArchitecture`.
 */
function knownArchitectureFields(a: LanguageModelArchitecture): LanguageModelArchitecture {
  const { cell, layers, hidden, vocabularySize, embedding, dropout, reset, peephole } = a
  return inFileOrder(a as unknown as Record<string, unknown>, { cell, layers, hidden, vocabularySize, embedding, dropout, reset, peephole })
}
