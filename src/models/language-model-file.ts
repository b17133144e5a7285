/**
 * A language model as one file: architecture, vocabulary, tokenizer settings, weights, and (for a
 * checkpoint) the full training state, so training resumes exactly. The container is the recur
 * model file (../io/model-format.ts); this module decides what goes in it and checks it on the way out.
 *
 *   meta: { architecture, vocabulary, tokenizer, training?: { options, step, position, random,
 *           optimizerStep, corpus } }
 *   tensors: every parameter by name (f32); with training state, 'optimizer.moment{i}' (f32,
 *            the store's layout) and 'trainer.carried.{i}' (f32); 'validation.ids' (i32) when the
 *            held-out part of the training corpus is recorded, so `recur eval` can use it later.
 */
import { RecurError } from '../errors.js'
import type { Kernels } from '../kernels/types.js'
import { decodeModelFile, encodeModelFile, type DecodedModelFile, type ModelFileInput, type ModelTensor } from '../io/model-format.js'
import type { TrainerOptions, TrainerState } from '../train/language-model-trainer.js'
import { resolveTokenizerOptions, type TokenizerOptions } from '../text/tokenizers.js'
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
  options: TrainerOptions
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
  const vocabulary = Vocabulary.fromJSON(meta.vocabulary)
  if (vocabulary.size !== meta.architecture.vocabularySize) {
    throw bad(`the vocabulary has ${vocabulary.size} tokens but the architecture says ${meta.architecture.vocabularySize}`)
  }
  checkArchitecture(meta.architecture, file, bad)
  let tokenizer: TokenizerOptions
  try {
    tokenizer = resolveTokenizerOptions(meta.tokenizer)
  } catch (error) {
    throw bad(`invalid tokenizer settings (${error instanceof Error ? error.message : String(error)})`)
  }
  const t = meta.training
  if (t !== null && t !== undefined && (typeof t !== 'object' || typeof t.options !== 'object' || t.options === null || typeof t.corpus !== 'object' || t.corpus === null)) {
    throw bad('the training record has no options or corpus')
  }
  const model = new LanguageModel(kernels, meta.architecture)
  const weights = new Map<string, Float32Array>()
  for (const p of model.params.params) {
    const t = file.tensors.get(p.name)
    if (t === undefined) throw bad(`missing tensor '${p.name}'`)
    if (!(t.data instanceof Float32Array) || t.shape.join('x') !== p.shape.join('x')) {
      throw bad(`tensor '${p.name}' has shape [${t.shape.join(', ')}], the architecture needs [${p.shape.join(', ')}]`)
    }
    weights.set(p.name, t.data)
  }
  model.params.writeValues(weights)
  const floats = (name: string): Float32Array => {
    const t = file.tensors.get(name)
    if (t === undefined || !(t.data instanceof Float32Array)) throw bad(`missing tensor '${name}'`)
    return t.data
  }
  let trainerState: TrainerState | null = null
  if (t !== null && t !== undefined && t.moments > 0) {
    trainerState = {
      step: t.step, position: t.position, random: t.random,
      optimizer: { step: t.optimizerStep, moments: Array.from({ length: t.moments }, (_, i) => floats(`optimizer.moment${i}`)) },
      carried: Array.from({ length: t.carried }, (_, i) => floats(`trainer.carried.${i}`)),
    }
  }
  const val = file.tensors.get('validation.ids')
  const validationIds = val !== undefined && val.data instanceof Int32Array ? val.data : null
  if (validationIds !== null) {
    for (const id of validationIds) if (id < 0 || id >= vocabulary.size) throw bad(`validation token id ${id} is outside the vocabulary`)
  }
  const training: TrainingInfo | null = t === null || t === undefined ? null : { options: t.options, corpus: t.corpus, ...(t.valLoss === undefined ? {} : { valLoss: t.valLoss }) }
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
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(`architecture.${name} is ${JSON.stringify(v)}, expected an integer >= ${min}`)
  }
  int('vocabularySize', 2)
  int('hidden', 1)
  int('layers', 1)
  int('embedding', 0)
  if (!Object.hasOwn(CELL_GATES, a.cell)) throw bad(`architecture.cell is ${JSON.stringify(a.cell)}, expected one of ${Object.keys(CELL_GATES).join(', ')}`)
  if (a.reset !== 'after' && a.reset !== 'before') throw bad(`architecture.reset is ${JSON.stringify(a.reset)}, expected 'after' or 'before'`)
  if (typeof a.peephole !== 'boolean') throw bad(`architecture.peephole is ${JSON.stringify(a.peephole)}, expected true or false`)
  if (typeof a.dropout !== 'number' || !(a.dropout >= 0 && a.dropout < 1)) throw bad(`architecture.dropout is ${JSON.stringify(a.dropout)}, expected a number in [0, 1)`)
  const { vocabularySize: V, hidden: H, embedding: E } = a
  const GH = CELL_GATES[a.cell] * H
  const expect = (name: string, shape: number[]): void => {
    const tensor = file.tensors.get(name)
    if (tensor === undefined) throw bad(`missing tensor '${name}'`)
    if (tensor.shape.join('x') !== shape.join('x')) throw bad(`tensor '${name}' has shape [${tensor.shape.join(', ')}], the architecture needs [${shape.join(', ')}]`)
  }
  expect('out.weight', [V, H])
  if (E > 0) expect('embedding.weight', [V, E])
  for (let l = 0; l < a.layers; l++) expect(`rnn.l${l}.weight_hh`, [GH, H])
}
