/**
 * Classifier, tagger and encoder-decoder models as recur model files (the same container as the
 * language model: ../io/model-format.ts), each with what it needs to read raw text again: the
 * input vocabulary and tokenizer, the label names (classifier, tagger) or the target vocabulary
 * and tokenizer (encoder-decoder), and the training settings.
 *
 *   meta: { architecture, input: { vocabulary, tokenizer }, labels | target, training }
 *   tensors: every parameter by name (f32); with an optimizer state, 'optimizer.moment{i}'.
 */
import { RecurError } from '../errors.js'
import type { Kernels } from '../kernels/types.js'
import { decodeModelFile, type ModelFileInput, type ModelTensor } from '../io/model-format.js'
import type { OptimizerState } from '../train/optimizers.js'
import type { TokenizerOptions } from '../text/tokenizers.js'
import { Vocabulary, type VocabularyJSON } from '../text/vocabulary.js'
import { SequenceClassifier, type ClassifierArchitecture } from './classifier.js'
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

/** Decodes a task model file of the expected kind onto `kernels`. */
export function decodeTaskModel(bytes: Uint8Array | ArrayBuffer, kernels: Kernels, expectKind: TaskKind, source = 'model file'): TaskBundle {
  const file = decodeModelFile(bytes, { expectKind, source })
  const meta = file.meta as unknown as Meta
  const bad = (what: string) => new RecurError('FORMAT', `${source}: ${what}`, 'The file is damaged or was not written by recur')
  if (typeof meta !== 'object' || meta === null || typeof meta.architecture !== 'object' || meta.architecture === null) throw bad('no architecture in the header')
  const input: TextSide = { vocabulary: Vocabulary.fromJSON(meta.input?.vocabulary), tokenizer: meta.input.tokenizer }
  let task: TaskModel
  if (expectKind === 'seq2seq') {
    if (meta.target === undefined) throw bad('no target vocabulary')
    task = { kind: 'seq2seq', model: new Seq2Seq(kernels, meta.architecture as Seq2SeqArchitecture), target: { vocabulary: Vocabulary.fromJSON(meta.target.vocabulary), tokenizer: meta.target.tokenizer } }
  } else {
    if (!Array.isArray(meta.labels) || !meta.labels.every((l) => typeof l === 'string')) throw bad('no label names')
    task = expectKind === 'classifier'
      ? { kind: 'classifier', model: new SequenceClassifier(kernels, meta.architecture as ClassifierArchitecture), labels: meta.labels }
      : { kind: 'tagger', model: new SequenceTagger(kernels, meta.architecture as TaggerArchitecture), labels: meta.labels }
  }
  const params = task.model.params
  const weights = new Map<string, Float32Array>()
  for (const p of params.params) {
    const t = file.tensors.get(p.name)
    if (t === undefined) throw bad(`missing tensor '${p.name}'`)
    if (!(t.data instanceof Float32Array) || t.shape.join('x') !== p.shape.join('x')) throw bad(`tensor '${p.name}' has shape [${t.shape.join(', ')}], the architecture needs [${p.shape.join(', ')}]`)
    weights.set(p.name, t.data)
  }
  params.writeValues(weights)
  let optimizer: OptimizerState | null = null
  if (meta.moments > 0) {
    const moments = Array.from({ length: meta.moments }, (_, i) => {
      const t = file.tensors.get(`optimizer.moment${i}`)
      if (t === undefined || !(t.data instanceof Float32Array) || t.data.length !== Math.max(params.size, 1)) throw bad(`missing or misshapen tensor 'optimizer.moment${i}'`)
      return t.data
    })
    optimizer = { step: meta.optimizerStep, moments }
  }
  return { ...task, input, training: meta.training ?? null, optimizer }
}
