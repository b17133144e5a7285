/**
 * Fuzz target: importing PyTorch weights from safetensors (`decodePyTorchSafetensors`), both from
 * recur's own metadata and with a config (the path for files PyTorch wrote). An imported model
 * must run a forward pass.
 */
import { decodePyTorchSafetensors, type PyTorchCompatibleModel } from '../../../src/io/pytorch.js'
import { buildSafetensors, mutateContainer, splitSafetensors, type Random } from '../mutate.js'
import { languageModelSafetensorsSeed, seedKernels, taggerSafetensorsSeed } from '../seeds.js'
import { refusedOrValid, type FuzzTarget } from '../target.js'
import { SAFETENSORS_WORDS } from './safetensors.js'

const WORDS: readonly string[] = [
  ...SAFETENSORS_WORDS, '"embedding.weight"', '"rnn.weight_ih_l0"', '"rnn.weight_hh_l0"', '"rnn.bias_ih_l0"', '"rnn.bias_hh_l0"',
  '"rnn.weight_hh_l1"', '_reverse', '"out.weight"', '"out.bias"', '"cell"', '"layers"', '"hidden"', '"vocabularySize"', '"embedding"',
  '"bidirectional"', '"tags"', '"output"', '"dense"', '"merge"',
]

/** A config for a file that has no recur metadata: the seed language model's characters. */
const CONFIG = {
  vocabulary: ['<UNK>', '<EOS>', ' ', 't', 'a', 'e', 'h', '.', 'n', 'o', 's', '\n', 'm', 'c', 'd', 'g', 'r'],
  level: 'char',
}

function use(model: PyTorchCompatibleModel): void {
  if (model.kind === 'language-model') model.bundle.model.forward(2, 1, [0, 1], null)
}

export const pytorchImportTarget: FuzzTarget = {
  name: 'pytorch-import',
  description: 'decodePyTorchSafetensors (src/io/pytorch.ts)',
  dictionary: WORDS,
  async seeds() {
    return [await languageModelSafetensorsSeed(), await taggerSafetensorsSeed()]
  },
  async fuzz(data) {
    await refusedOrValid(data.length, () => use(decodePyTorchSafetensors(data, seedKernels(), null, 'fuzz.safetensors')))
    await refusedOrValid(data.length, () => use(decodePyTorchSafetensors(data, seedKernels(), CONFIG, 'fuzz.safetensors', 'config.json')))
  },
  mutate(data: Uint8Array, random: Random) {
    return mutateContainer(data, random, WORDS, splitSafetensors, buildSafetensors)
  },
}
