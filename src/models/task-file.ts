/**
 * Classifier, tagger and encoder-decoder models as recur model files (the same container as the
 * language model: ../io/model-format.ts), each with what it needs to read raw text again: the
 * input vocabulary and tokenizer, the label names (classifier, tagger) or the target vocabulary
 * and tokenizer (encoder-decoder), and the training settings.
 *
 *   meta: { architecture, input: { vocabulary, tokenizer }, labels | target, training }
 *   tensors: every parameter by name (f32); with an optimizer state, 'optimizer.moment{i}'.
 */
import type { CellKind } from '../cells/recurrent.js'
import { RecurError } from '../errors.js'
import { describeShape, describeValue } from '../io/describe.js'
import {
  checkFiniteWeights, checkParameterBudget, fileBoolean, fileEnum, fileInt, fileNumber, fileRecord, fileScalarRecord, fileStrings, fileTokenizer,
  fileVocabulary, inFileOrder, storedFloats,
  type BadFile,
} from '../io/file-values.js'
import { decodeModelFile, type DecodedModelFile, type ModelFileInput, type ModelTensor } from '../io/model-format.js'
import type { Activation, Kernels, Pooling } from '../kernels/types.js'
import type { EncoderArchitecture } from '../layers/token-encoder.js'
import type { OptimizerState } from '../train/optimizers.js'
import type { TokenizerOptions } from '../text/tokenizers.js'
import { Vocabulary, type VocabularyJSON } from '../text/vocabulary.js'
import { SequenceClassifier, type ClassifierArchitecture } from './classifier.js'
import { CELL_GATES } from './language-model.js'
import { Seq2Seq, type Seq2SeqArchitecture } from './seq2seq.js'
import { SequenceTagger, type TaggerArchitecture } from './tagger.js'

export type TaskKind = 'classifier' | 'tagger' | 'seq2seq'
export const TASK_KINDS: readonly TaskKind[] = ['classifier', 'tagger', 'seq2seq']

/** The text side of a model: its vocabulary and how raw text becomes tokens. */
export interface TextSide {
  vocabulary: Vocabulary
  tokenizer: TokenizerOptions
}

/** What the training run recorded (JSON). */
export type TaskTrainingInfo = Record<string, string | number | boolean | null>

export type TaskModel =
  | { kind: 'classifier'; model: SequenceClassifier; labels: string[] }
  | { kind: 'tagger'; model: SequenceTagger; labels: string[] }
  | { kind: 'seq2seq'; model: Seq2Seq; target: TextSide }

export type TaskBundle = TaskModel & {
  input: TextSide
  training: TaskTrainingInfo | null
  optimizer: OptimizerState | null
}

interface Meta {
  architecture: ClassifierArchitecture | TaggerArchitecture | Seq2SeqArchitecture
  input: { vocabulary: VocabularyJSON; tokenizer: TokenizerOptions }
  labels?: string[]
  target?: { vocabulary: VocabularyJSON; tokenizer: TokenizerOptions }
  training: TaskTrainingInfo | null
  moments: number
  optimizerStep: number
}

/** The model file's contents (for saveModelFile / encodeModelFile). */
export async function taskFileContents(bundle: TaskBundle): Promise<ModelFileInput> {
  const params = bundle.model.params
  const values = await params.readValues()
  const tensors: ModelTensor[] = params.params.map((p) => ({ name: p.name, shape: p.shape, data: values.get(p.name)! }))
  bundle.optimizer?.moments.forEach((m, i) => tensors.push({ name: `optimizer.moment${i}`, shape: [m.length], data: m }))
  const meta: Meta = {
    architecture: bundle.model.architecture,
    input: { vocabulary: bundle.input.vocabulary.toJSON(), tokenizer: bundle.input.tokenizer },
    training: bundle.training,
    moments: bundle.optimizer?.moments.length ?? 0,
    optimizerStep: bundle.optimizer?.step ?? 0,
  }
  if (bundle.kind === 'seq2seq') meta.target = { vocabulary: bundle.target.vocabulary.toJSON(), tokenizer: bundle.target.tokenizer }
  else meta.labels = bundle.labels
  return { kind: bundle.kind, meta, tensors }
}

/**
 * Decodes a task model file of the expected kind onto `kernels`. Everything from the file is
 * checked before it sizes anything: the architecture field by field, its weight count against the
 * floats the file holds (so a forged header cannot allocate more than the file), the vocabularies
 * against the architecture, the labels against the outputs, every tensor's shape, the weights'
 * finiteness ('NON_FINITE'), the training record and the optimizer state. Anything else is
 * refused with 'FORMAT' naming `source`.
 */
export function decodeTaskModel(bytes: Uint8Array | ArrayBuffer, kernels: Kernels, expectKind: TaskKind, source = 'model file'): TaskBundle {
  const file = decodeModelFile(bytes, { expectKind, source })
  const bad: BadFile = (what) => new RecurError('FORMAT', `${source}: ${what}`, 'The file is damaged or was not written by recur')
  if (typeof file.meta !== 'object' || file.meta === null || Array.isArray(file.meta)) throw bad('no architecture in the header')
  const meta = file.meta as Record<string, unknown>
  if (typeof meta['architecture'] !== 'object' || meta['architecture'] === null) throw bad('no architecture in the header')
  const input = textSide(meta['input'], 'input', source, bad)
  let task: TaskModel
  if (expectKind === 'seq2seq') {
    const architecture = checkSeq2SeqArchitecture(meta['architecture'], bad)
    checkParameterBudget(seq2seqWeights(architecture), storedFloats(file.tensors), 'the architecture', bad)
    if (meta['target'] === undefined) throw bad('no target vocabulary')
    const target = textSide(meta['target'], 'target', source, bad)
    checkVocabularySize('input', input.vocabulary, architecture.encoder.vocabularySize, bad)
    checkVocabularySize('target', target.vocabulary, architecture.decoder.vocabularySize, bad)
    task = { kind: 'seq2seq', model: new Seq2Seq(kernels, architecture), target }
  } else {
    if (!Array.isArray(meta['labels'])) throw bad('no label names')
    const labels = fileStrings(meta['labels'], 'labels', bad)
    if (expectKind === 'classifier') {
      const architecture = checkClassifierArchitecture(meta['architecture'], bad)
      checkParameterBudget(classifierWeights(architecture), storedFloats(file.tensors), 'the architecture', bad)
      checkVocabularySize('input', input.vocabulary, architecture.vocabularySize, bad)
      if (labels.length !== architecture.classes) throw bad(`the file names ${labels.length} labels for ${architecture.classes} classes`)
      task = { kind: 'classifier', model: new SequenceClassifier(kernels, architecture), labels }
    } else {
      const architecture = checkTaggerArchitecture(meta['architecture'], bad)
      checkParameterBudget(taggerWeights(architecture), storedFloats(file.tensors), 'the architecture', bad)
      checkVocabularySize('input', input.vocabulary, architecture.vocabularySize, bad)
      if (architecture.output === 'softmax' ? labels.length !== architecture.tags : labels.length < 2) {
        throw bad(`the file names ${labels.length} labels for a ${architecture.output} output of ${architecture.tags} (a softmax needs one label per output, a sigmoid two)`)
      }
      task = { kind: 'tagger', model: new SequenceTagger(kernels, architecture), labels }
    }
  }
  const params = task.model.params
  const weights = new Map<string, Float32Array>()
  for (const p of params.params) {
    const t = file.tensors.get(p.name)
    if (t === undefined) throw bad(`missing tensor '${p.name}'`)
    if (!(t.data instanceof Float32Array) || t.shape.join('x') !== p.shape.join('x')) throw bad(`tensor '${p.name}' has shape ${describeShape(t.shape)}, the architecture needs [${p.shape.join(', ')}]`)
    checkFiniteWeights(source, p.name, t.data)
    weights.set(p.name, t.data)
  }
  params.writeValues(weights)
  const training = fileScalarRecord(meta['training'], 'training', bad)
  const optimizer = optimizerState(meta, file, Math.max(params.size, 1), source, bad)
  return { ...task, input, training, optimizer }
}

/** The optimizer state recorded with the model (its moments, each the size of the parameter store), or null. */
function optimizerState(meta: Record<string, unknown>, file: DecodedModelFile, size: number, source: string, bad: BadFile): OptimizerState | null {
  const count = meta['moments'] === undefined ? 0 : fileInt(meta['moments'], 'moments', 0, MAX_MOMENTS, bad)
  if (count === 0) return null
  const step = fileInt(meta['optimizerStep'], 'optimizerStep', 0, Number.MAX_SAFE_INTEGER, bad)
  const moments = Array.from({ length: count }, (_, i) => {
    const t = file.tensors.get(`optimizer.moment${i}`)
    if (t === undefined || !(t.data instanceof Float32Array) || t.data.length !== size) throw bad(`missing or misshapen tensor 'optimizer.moment${i}'`)
    checkFiniteWeights(source, `optimizer.moment${i}`, t.data)
    return t.data
  })
  return { step, moments }
}

/** The most optimizer moments a file may declare (Adam keeps 2). */
const MAX_MOMENTS = 8

/** A vocabulary and tokenizer from the file: `{ vocabulary, tokenizer }`. */
function textSide(value: unknown, what: string, source: string, bad: BadFile): TextSide {
  const side = fileRecord(value, what, bad)
  return { vocabulary: fileVocabulary(side['vocabulary'], source, `the ${what} vocabulary`), tokenizer: fileTokenizer(side['tokenizer'], `${what} tokenizer settings`, bad) }
}

/** Token ids index the embedding: the vocabulary must have exactly the architecture's V tokens. */
function checkVocabularySize(what: string, vocabulary: Vocabulary, V: number, bad: BadFile): void {
  if (vocabulary.size !== V) throw bad(`the ${what} vocabulary has ${vocabulary.size} tokens but the architecture says ${V}`)
}

// ---------------------------------------------------------------------------------------------
// Architectures from a file: every field checked, then the weights they imply counted

const CELLS: readonly CellKind[] = ['rnn', 'gru', 'lstm']
const ACTIVATIONS: readonly Activation[] = ['identity', 'tanh', 'sigmoid', 'relu']
const OUTPUTS: readonly ('softmax' | 'sigmoid')[] = ['softmax', 'sigmoid']
const POOLINGS: readonly ('final' | Pooling)[] = ['final', 'mean', 'max']
const MAX_SIZE = Number.MAX_SAFE_INTEGER

function checkEncoderArchitecture(value: unknown, what: string, bad: BadFile): EncoderArchitecture {
  const a = fileRecord(value, what, bad)
  return inFileOrder(a, {
    cell: fileEnum(a['cell'], `${what}.cell`, CELLS, bad),
    layers: fileInt(a['layers'], `${what}.layers`, 1, MAX_SIZE, bad),
    hidden: fileInt(a['hidden'], `${what}.hidden`, 1, MAX_SIZE, bad),
    vocabularySize: fileInt(a['vocabularySize'], `${what}.vocabularySize`, 2, MAX_SIZE, bad),
    embedding: fileInt(a['embedding'], `${what}.embedding`, 0, MAX_SIZE, bad),
    bidirectional: fileBoolean(a['bidirectional'], `${what}.bidirectional`, bad),
    merge: fileEnum(a['merge'], `${what}.merge`, ['concat', 'sum'] as const, bad),
    dropout: fileNumber(a['dropout'], `${what}.dropout`, 0, 0.999, bad),
    reset: fileEnum(a['reset'], `${what}.reset`, ['after', 'before'] as const, bad),
    peephole: fileBoolean(a['peephole'], `${what}.peephole`, bad),
  })
}

function checkDense(value: unknown, what: string, bad: BadFile): number[] {
  if (!Array.isArray(value)) throw bad(`${what} is ${describeValue(value)}, expected a list of layer widths`)
  return value.map((width, i) => fileInt(width, `${what}[${i}]`, 1, MAX_SIZE, bad))
}

function checkClassifierArchitecture(value: unknown, bad: BadFile): ClassifierArchitecture {
  const a = fileRecord(value, 'architecture', bad)
  const output = fileEnum(a['output'], 'architecture.output', OUTPUTS, bad)
  return inFileOrder(a, {
    ...checkEncoderArchitecture(a, 'architecture', bad),
    classes: fileInt(a['classes'], 'architecture.classes', output === 'softmax' ? 2 : 1, MAX_SIZE, bad),
    output,
    pooling: fileEnum(a['pooling'], 'architecture.pooling', POOLINGS, bad),
    dense: checkDense(a['dense'], 'architecture.dense', bad),
    activation: fileEnum(a['activation'], 'architecture.activation', ACTIVATIONS, bad),
  })
}

function checkTaggerArchitecture(value: unknown, bad: BadFile): TaggerArchitecture {
  const a = fileRecord(value, 'architecture', bad)
  const output = fileEnum(a['output'], 'architecture.output', OUTPUTS, bad)
  return inFileOrder(a, {
    ...checkEncoderArchitecture(a, 'architecture', bad),
    tags: fileInt(a['tags'], 'architecture.tags', output === 'softmax' ? 2 : 1, output === 'softmax' ? MAX_SIZE : 1, bad),
    output,
    dense: checkDense(a['dense'], 'architecture.dense', bad),
    activation: fileEnum(a['activation'], 'architecture.activation', ACTIVATIONS, bad),
  })
}

function checkSeq2SeqArchitecture(value: unknown, bad: BadFile): Seq2SeqArchitecture {
  const a = fileRecord(value, 'architecture', bad)
  const d = fileRecord(a['decoder'], 'architecture.decoder', bad)
  return inFileOrder(a, {
    encoder: checkEncoderArchitecture(a['encoder'], 'architecture.encoder', bad),
    decoder: inFileOrder(d, {
      layers: fileInt(d['layers'], 'architecture.decoder.layers', 1, MAX_SIZE, bad),
      hidden: fileInt(d['hidden'], 'architecture.decoder.hidden', 1, MAX_SIZE, bad),
      vocabularySize: fileInt(d['vocabularySize'], 'architecture.decoder.vocabularySize', 2, MAX_SIZE, bad),
      embedding: fileInt(d['embedding'], 'architecture.decoder.embedding', 0, MAX_SIZE, bad),
      dropout: fileNumber(d['dropout'], 'architecture.decoder.dropout', 0, 0.999, bad),
    }),
  })
}

/*
 * The weights an architecture needs at least: its weight matrices (biases and peepholes left out;
 * they are smaller than the matrix beside them). Computed in floating point, so a product of huge
 * fields is a huge number, never a wrapped one. G gates, D directions, H hidden, V vocabulary, E embedding.
 */

/** The embedding (or one-hot lookup) and the recurrent matrices of a token encoder. */
function encoderWeights(e: EncoderArchitecture): number {
  const G = CELL_GATES[e.cell], D = e.bidirectional ? 2 : 1, H = e.hidden
  const input = e.embedding > 0 ? e.vocabularySize * e.embedding : D * e.vocabularySize * G * H
  return input + e.layers * D * G * H * H
}

/** The dense layers from `width` inputs through `dense` to `outputs`. */
function headWeights(width: number, dense: readonly number[], outputs: number): number {
  let total = 0
  let x = width
  for (const y of [...dense, outputs]) {
    total += x * y
    x = y
  }
  return total
}

function encoderOutputWidth(e: EncoderArchitecture): number {
  return e.bidirectional && e.merge === 'concat' ? 2 * e.hidden : e.hidden
}

function classifierWeights(a: ClassifierArchitecture): number {
  const pooled = a.pooling === 'final' ? (a.bidirectional ? 2 : 1) * a.hidden : encoderOutputWidth(a)
  return encoderWeights(a) + headWeights(pooled, a.dense, a.classes)
}

function taggerWeights(a: TaggerArchitecture): number {
  return encoderWeights(a) + headWeights(encoderOutputWidth(a), a.dense, a.tags)
}

function seq2seqWeights(a: Seq2SeqArchitecture): number {
  const { encoder: e, decoder: d } = a
  const decoder = encoderWeights({ ...e, layers: d.layers, hidden: d.hidden, vocabularySize: d.vocabularySize, embedding: d.embedding, bidirectional: false })
  return encoderWeights(e) + decoder + d.hidden * d.vocabularySize
}
