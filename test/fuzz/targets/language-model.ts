/**
 * Fuzz target: a language model from a model file (`decodeLanguageModel`: the container, then the
 * architecture, vocabulary, tokenizer, training state and tensors), as read and with its CRC-32
 * recomputed. A model that loads must run a forward pass and save again, as `recur` would.
 */
import { encodeLanguageModel, decodeLanguageModel } from '../../../src/models/language-model-file.js'
import { buildModelFile, mutateContainer, repairChecksum, splitModelFile, type Random } from '../mutate.js'
import { languageModelSeed, plainLanguageModelSeed, seedKernels } from '../seeds.js'
import { refusedOrValid, type FuzzTarget } from '../target.js'
import { MODEL_FILE_WORDS } from './model-file.js'

const WORDS: readonly string[] = [
  ...MODEL_FILE_WORDS, '"architecture"', '"cell"', '"layers"', '"hidden"', '"vocabularySize"', '"embedding"', '"dropout"', '"reset"',
  '"peephole"', '"vocabulary"', '"recur-vocabulary"', '"tokens"', '"tokenizer"', '"level"', '"training"', '"options"', '"corpus"', '"step"',
  '"position"', '"random"', '"optimizerStep"', '"moments"', '"carried"', '"guard"', '"validation.ids"', '"optimizer.moment0"', '"<UNK>"',
]

async function loadAndUse(bytes: Uint8Array): Promise<void> {
  const bundle = decodeLanguageModel(bytes, seedKernels(), 'fuzz.recur')
  bundle.model.forward(2, 1, [0, 1], null)
  await encodeLanguageModel(bundle)
}

export const languageModelTarget: FuzzTarget = {
  name: 'language-model',
  description: 'decodeLanguageModel (src/models/language-model-file.ts)',
  dictionary: WORDS,
  async seeds() {
    return [await languageModelSeed(), await languageModelSeed({ cell: 'gru', layers: 2, embedding: 2 }), await plainLanguageModelSeed({ cell: 'rnn' })]
  },
  async fuzz(data) {
    await refusedOrValid(data.length, () => loadAndUse(data))
    const repaired = repairChecksum(data)
    if (repaired !== null) await refusedOrValid(data.length, () => loadAndUse(repaired))
  },
  mutate(data: Uint8Array, random: Random) {
    return mutateContainer(data, random, WORDS, splitModelFile, buildModelFile)
  },
}
