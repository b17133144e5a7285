/**
 * Fuzz target: classifier, tagger and encoder-decoder model files (`decodeTaskModel`, then the
 * task's `fromBundle`, as `recur classify|tag|translate predict` load them), as read and with the
 * CRC-32 recomputed. A model that loads must predict (or translate) one short input and save again.
 */
import { encodeModelFile } from '../../../src/io/model-format.js'
import { TASK_KINDS, decodeTaskModel, type TaskKind } from '../../../src/models/task-file.js'
import { TextClassifier } from '../../../src/tasks/classify.js'
import { TextTagger } from '../../../src/tasks/tag.js'
import { TextTranslator } from '../../../src/tasks/translate.js'
import { buildModelFile, mutateContainer, repairChecksum, splitModelFile, type Random } from '../mutate.js'
import { classifierSeed, seedKernels, seq2seqSeed, taggerSeed } from '../seeds.js'
import { refusedOrValid, type FuzzTarget } from '../target.js'
import { MODEL_FILE_WORDS } from './model-file.js'

const WORDS: readonly string[] = [
  ...MODEL_FILE_WORDS, '"architecture"', '"encoder"', '"decoder"', '"cell"', '"layers"', '"hidden"', '"vocabularySize"', '"embedding"',
  '"bidirectional"', '"merge"', '"concat"', '"sum"', '"dropout"', '"reset"', '"peephole"', '"classes"', '"tags"', '"output"', '"softmax"',
  '"sigmoid"', '"pooling"', '"final"', '"mean"', '"max"', '"dense"', '"activation"', '"input"', '"target"', '"labels"', '"training"',
  '"moments"', '"optimizerStep"', '"vocabulary"', '"tokenizer"', '"decodeMaxLength"', '"head.out.weight"', '"encoder.l0.weight_hh"',
]

async function loadAndUse(bytes: Uint8Array, kind: TaskKind): Promise<void> {
  const bundle = decodeTaskModel(bytes, seedKernels(), kind, 'fuzz.recur')
  if (bundle.kind === 'classifier') {
    const classifier = TextClassifier.fromBundle(bundle)
    await classifier.predict(['ab c'])
    encodeModelFile(await classifier.fileContents())
  } else if (bundle.kind === 'tagger') {
    const tagger = TextTagger.fromBundle(bundle)
    await tagger.predict(['ab c'])
    encodeModelFile(await tagger.fileContents())
  } else {
    const translator = TextTranslator.fromBundle(bundle)
    await translator.translate('ab', { maxLength: 4 })
    encodeModelFile(await translator.fileContents())
  }
}

async function eachKind(bytes: Uint8Array, length: number): Promise<void> {
  for (const kind of TASK_KINDS) await refusedOrValid(length, () => loadAndUse(bytes, kind))
}

export const taskModelTarget: FuzzTarget = {
  name: 'task-model',
  description: 'decodeTaskModel (src/models/task-file.ts) and the tasks\' fromBundle',
  dictionary: WORDS,
  async seeds() {
    return [await classifierSeed(), await taggerSeed(), await seq2seqSeed()]
  },
  async fuzz(data) {
    await eachKind(data, data.length)
    const repaired = repairChecksum(data)
    if (repaired !== null) await eachKind(repaired, data.length)
  },
  mutate(data: Uint8Array, random: Random) {
    return mutateContainer(data, random, WORDS, splitModelFile, buildModelFile)
  },
}
