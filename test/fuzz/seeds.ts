/**
 * Valid seed inputs for the fuzz targets and the property-based tests, built in memory from tiny
 * models so they are small (a few KB) and always match the current format: a language model with
 * its training state, a classifier, a tagger and an encoder-decoder model file, two safetensors
 * exports (a language model and a tagger), and small JSON lines / CSV / TSV datasets.
 *
 * Everything here is deterministic: the same call returns the same bytes.
 */
import { encodeModelFile } from '../../src/io/model-format.js'
import { encodePyTorchSafetensors } from '../../src/io/pytorch.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import { LanguageModel, type LanguageModelArchitecture } from '../../src/models/language-model.js'
import { encodeLanguageModel, type LanguageModelBundle } from '../../src/models/language-model-file.js'
import { TextClassifier } from '../../src/tasks/classify.js'
import { TextTagger } from '../../src/tasks/tag.js'
import { TextTranslator } from '../../src/tasks/translate.js'
import { defaultTokenizerOptions, tokenize } from '../../src/text/tokenizers.js'
import { Vocabulary } from '../../src/text/vocabulary.js'
import { LanguageModelTrainer } from '../../src/train/language-model-trainer.js'

/** The backend every seed and fuzz target uses: the f32 reference kernels. */
export function seedKernels(): Kernels {
  return new ReferenceKernels('f32')
}

const TEXT = 'the cat sat on the mat.\na dog ran to the sea.\n'

/** A tiny character-level language model (vocabulary of TEXT) and its vocabulary. */
function tinyLanguageModel(architecture: Partial<LanguageModelArchitecture>): { model: LanguageModel; vocabulary: Vocabulary; ids: Int32Array } {
  const tokens = tokenize(TEXT, { level: 'char' })
  const vocabulary = Vocabulary.build(tokens)
  const model = new LanguageModel(seedKernels(), {
    cell: 'lstm', layers: 1, hidden: 3, vocabularySize: vocabulary.size, embedding: 0, dropout: 0, reset: 'after', peephole: false, ...architecture,
  }, 5)
  return { model, vocabulary, ids: vocabulary.encode(tokens) }
}

/**
 * A language model file after one training step, with the full training state (optimizer
 * moments, carried states, generator state) and the held-out ids, so every part of the decoder runs.
 */
export async function languageModelSeed(architecture: Partial<LanguageModelArchitecture> = {}): Promise<Uint8Array> {
  const { model, vocabulary, ids } = tinyLanguageModel(architecture)
  const options = { batch: 2, seqLength: 4, steps: 1, lr: 0.01, optimizer: 'adam', weightDecay: 0, clip: 1, schedule: 'constant', warmup: 0, seed: 3 } as const
  const trainer = new LanguageModelTrainer(model, ids, options)
  trainer.trainStep()
  const bundle: Omit<LanguageModelBundle, 'trainerState'> & { trainerState: LanguageModelBundle['trainerState'] } = {
    model, vocabulary, tokenizer: defaultTokenizerOptions('char'),
    training: { options, corpus: { name: 'seed', tokens: ids.length, valFraction: 0.1 } },
    trainerState: await trainer.getState(),
    validationIds: ids.slice(0, 6),
  }
  return encodeLanguageModel(bundle)
}

/** A language model file without training state (what `recur export` reads most often). */
export async function plainLanguageModelSeed(architecture: Partial<LanguageModelArchitecture> = {}): Promise<Uint8Array> {
  const { model, vocabulary } = tinyLanguageModel(architecture)
  return encodeLanguageModel({ model, vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, validationIds: null })
}

const TINY_TASK = { hidden: 3, batch: 2, steps: 1, checkpointEvery: 0, valFraction: 0 } as const

/** A classifier model file (one dense layer, mean pooling, so the head's checks run too). */
export async function classifierSeed(): Promise<Uint8Array> {
  const examples = [{ input: 'good fun', label: 'pos' }, { input: 'bad day', label: 'neg' }, { input: 'fun day', label: 'pos' }]
  const classifier = TextClassifier.create(seedKernels(), examples, { ...TINY_TASK, dense: '2', pooling: 'mean', inputLevel: 'word', embedding: 2 })
  return encodeModelFile(await classifier.fileContents())
}

/** A bidirectional tagger model file with one-hot input. */
export async function taggerSeed(): Promise<Uint8Array> {
  const examples = [{ input: 'Mary visits Rome', tags: 'B O B' }, { input: 'Rome sees Mary', tags: 'B O B' }]
  const tagger = TextTagger.create(seedKernels(), examples, { ...TINY_TASK, embedding: 0, cell: 'lstm' })
  return encodeModelFile(await tagger.fileContents())
}

/** An encoder-decoder model file (GRU, character input, word targets, a bridge between sizes). */
export async function seq2seqSeed(): Promise<Uint8Array> {
  const pairs = [{ input: 'ab', target: 'X Y' }, { input: 'ba', target: 'Y X' }]
  const translator = TextTranslator.create(seedKernels(), pairs, { ...TINY_TASK, cell: 'gru', inputLevel: 'char', targetLevel: 'word', bidirectional: true })
  return encodeModelFile(await translator.fileContents())
}

/** A safetensors export of a language model (PyTorch names, recur metadata). */
export async function languageModelSafetensorsSeed(): Promise<Uint8Array> {
  const { model, vocabulary } = tinyLanguageModel({ cell: 'gru', embedding: 2 })
  return encodePyTorchSafetensors({
    kind: 'language-model', bundle: { model, vocabulary, tokenizer: defaultTokenizerOptions('char'), training: null, trainerState: null, validationIds: null },
  })
}

/** A safetensors export of a bidirectional tagger. */
export async function taggerSafetensorsSeed(): Promise<Uint8Array> {
  const examples = [{ input: 'Mary visits Rome', tags: 'B O B' }, { input: 'Rome sees Mary', tags: 'B O B' }]
  const tagger = TextTagger.create(seedKernels(), examples, { ...TINY_TASK, embedding: 2, cell: 'rnn' })
  return encodePyTorchSafetensors({
    kind: 'tagger',
    bundle: {
      kind: 'tagger', model: tagger.model, labels: tagger.labels.labels.slice(), input: { vocabulary: tagger.vocabulary, tokenizer: tagger.tokenizer },
      training: null, optimizer: null,
    },
  })
}

/** The fields every dataset seed has, and that the dataset targets ask for. */
export const DATASET_FIELDS: readonly string[] = ['text', 'label']

/** Small datasets, one per format, that use the formats' corners (quotes, escapes, arrays, a BOM, CRLF). */
export const DATASET_SEEDS: Readonly<Record<'jsonl' | 'csv' | 'tsv', readonly string[]>> = {
  jsonl: [
    '{"text": "a fine day", "label": "pos"}\n{"text": ["pre", "tokenized"], "label": 1}\n\n{"text": "tab\\there", "label": true, "extra": {"x": [1, 2]}}\n',
    '\uFEFF{"label": "neg", "text": "caf\u00e9 \u{1F600}"}\r\n{"text": "", "label": ["B", "O"]}\r\n',
  ],
  csv: [
    'text,label\n"a, quoted ""field""",pos\nplain,neg\n"multi\nline",pos\n',
    '\uFEFFid,text,label\r\n1,5" screen,neg\r\n2,"",pos\r\n\r\n3,last,neg',
  ],
  tsv: [
    'text\tlabel\na\\tb\tpos\nback\\\\slash\tneg\nline\\nbreak\tpos\n',
    'label\ttext\textra\r\nneg\tplain text\t\\x\r\n\npos\t\u00e9\t\n',
  ],
}
