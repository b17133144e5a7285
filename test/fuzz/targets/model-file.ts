/**
 * Fuzz target: the recur model-file container (`decodeModelFile`), as read and with its CRC-32
 * recomputed so that byte mutations reach the header parser behind the checksum.
 */
import { decodeModelFile } from '../../../src/io/model-format.js'
import { buildModelFile, mutateContainer, repairChecksum, splitModelFile, type Random } from '../mutate.js'
import { classifierSeed, languageModelSeed, plainLanguageModelSeed, seq2seqSeed, taggerSeed } from '../seeds.js'
import { expectValid, refusedOrValid, type FuzzTarget } from '../target.js'

/** Field names and values of the model-file header. */
export const MODEL_FILE_WORDS: readonly string[] = [
  '"format"', '"recur-model"', '"formatVersion"', '"kind"', '"meta"', '"tensors"', '"name"', '"dtype"', '"shape"', '"offset"',
  '"byteLength"', '"f32"', '"i32"', '"f64"', '"language-model"', '"classifier"', '"tagger"', '"seq2seq"', 'RECUR\u0000MF',
]

/** Decodes `bytes`; a valid result must hold tensors whose data match their shapes. */
function decode(bytes: Uint8Array): void {
  const file = decodeModelFile(bytes)
  for (const [name, t] of file.tensors) {
    const elements = t.shape.reduce((a, b) => a * b, 1)
    expectValid(t.data.length === elements, `tensor "${name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`)
  }
}

export const modelFileTarget: FuzzTarget = {
  name: 'model-file',
  description: 'decodeModelFile (src/io/model-format.ts)',
  dictionary: MODEL_FILE_WORDS,
  async seeds() {
    return [await languageModelSeed(), await plainLanguageModelSeed({ cell: 'gru', embedding: 2 }), await classifierSeed(), await taggerSeed(), await seq2seqSeed()]
  },
  async fuzz(data) {
    await refusedOrValid(data.length, () => decode(data))
    const repaired = repairChecksum(data)
    if (repaired !== null) await refusedOrValid(data.length, () => decode(repaired))
  },
  mutate(data: Uint8Array, random: Random) {
    return mutateContainer(data, random, MODEL_FILE_WORDS, splitModelFile, buildModelFile)
  },
}
