/**
 * Fuzz target: the safetensors reader (`decodeSafetensors`, then `tensorToFloat32` on every
 * tensor, as the importer does).
 */
import { RecurError } from '../../../src/errors.js'
import { decodeSafetensors, tensorToFloat32 } from '../../../src/io/safetensors.js'
import { buildSafetensors, mutateContainer, splitSafetensors, type Random } from '../mutate.js'
import { languageModelSafetensorsSeed, taggerSafetensorsSeed } from '../seeds.js'
import { expectValid, refusedOrValid, type FuzzTarget } from '../target.js'

/** Field names and values of a safetensors header. */
export const SAFETENSORS_WORDS: readonly string[] = [
  '"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"F32"', '"F16"', '"BF16"', '"F64"', '"I64"', '"I32"', '"U8"', '"BOOL"',
  '"F8_E4M3"', '"format"', '"pt"', '"recur.kind"', '"recur.architecture"', '"recur.vocabulary"', '"recur.tokenizer"', '"recur.labels"',
]

function decode(bytes: Uint8Array): void {
  const file = decodeSafetensors(bytes, 'fuzz.safetensors')
  for (const [name, t] of file.tensors) {
    const elements = t.shape.reduce((a, b) => a * b, 1)
    try {
      const values = tensorToFloat32(t, name)
      expectValid(values.length === elements, `tensor "${name}" gives ${values.length} values for shape [${t.shape.join(', ')}]`)
    } catch (error) {
      if (!(error instanceof RecurError)) throw error
    }
  }
}

export const safetensorsTarget: FuzzTarget = {
  name: 'safetensors',
  description: 'decodeSafetensors and tensorToFloat32 (src/io/safetensors.ts)',
  dictionary: SAFETENSORS_WORDS,
  async seeds() {
    return [await languageModelSafetensorsSeed(), await taggerSafetensorsSeed()]
  },
  async fuzz(data) {
    await refusedOrValid(data.length, () => decode(data))
  },
  mutate(data: Uint8Array, random: Random) {
    return mutateContainer(data, random, SAFETENSORS_WORDS, splitSafetensors, buildSafetensors)
  },
}
