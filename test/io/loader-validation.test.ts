/**
 * What the model loaders refuse in a file that is well formed but describes something that cannot
 * be loaded safely, found by auditing them for the fuzzing work: vocabularies larger than the
 * embedding (token ids would index past the weights), labels that do not match the outputs,
 * training state that does not fit the model, and non-finite weights. Each is a one-line
 * RecurError naming the file and the problem ('FORMAT', or 'NON_FINITE' for weights).
 *
 * NaN or infinite weights: loading refuses them (rather than loading and letting the training
 * guard rails notice) because most loads are not for training: `recur sample`, `predict`,
 * `eval` and `export` would only compute NaN, or sample from NaN probabilities, with no clue why.
 * The container itself (`decodeModelFile`, `decodeSafetensors`) keeps any bit pattern exactly.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'

import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { decodePyTorchSafetensors } from '../../src/io/pytorch.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { decodeTaskModel } from '../../src/models/task-file.js'
import { editModelFileHeader, editSafetensorsHeader, type EditableHeader } from '../fuzz/mutate.js'
import { classifierSeed, languageModelSafetensorsSeed, languageModelSeed, seedKernels, seq2seqSeed, taggerSeed } from '../fuzz/seeds.js'

function assertRefused(run: () => unknown, code: RecurErrorCode, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof RecurError, `expected a RecurError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    assert.match(error.message, pattern)
    assert.ok(!error.message.includes('\n') && error.message.length < 500, error.message)
    return true
  })
}

const seeds: Record<'lm' | 'classifier' | 'tagger' | 'seq2seq' | 'safetensors', Uint8Array> = {} as never
before(async () => {
  Object.assign(seeds, {
    lm: await languageModelSeed(), classifier: await classifierSeed(), tagger: await taggerSeed(), seq2seq: await seq2seqSeed(),
    safetensors: await languageModelSafetensorsSeed(),
  })
})

const lm = (edit: (h: EditableHeader) => void) => () => decodeLanguageModel(editModelFileHeader(seeds.lm, edit), seedKernels(), 'lm.recur')
const task = (kind: 'classifier' | 'tagger' | 'seq2seq', edit: (h: EditableHeader) => void) => () =>
  decodeTaskModel(editModelFileHeader(seeds[kind], edit), seedKernels(), kind, 'task.recur')
const moreTokens = (vocabulary: { tokens: string[] }): void => {
  vocabulary.tokens.push('zz1', 'zz2')
}

describe('vocabularies must match the weights they index', () => {
  test('task models: an input or target vocabulary larger than its embedding', () => {
    assertRefused(task('classifier', (h) => moreTokens(h.meta.input.vocabulary)), 'FORMAT', /task\.recur: the input vocabulary has \d+ tokens but the architecture says \d+/)
    assertRefused(task('tagger', (h) => moreTokens(h.meta.input.vocabulary)), 'FORMAT', /input vocabulary/)
    assertRefused(task('seq2seq', (h) => moreTokens(h.meta.target.vocabulary)), 'FORMAT', /the target vocabulary has \d+ tokens/)
  })

  test('PyTorch import: recur metadata whose vocabulary is larger than the embedding', () => {
    const forged = editSafetensorsHeader(seeds.safetensors, (h) => {
      const vocabulary = JSON.parse(h.__metadata__['recur.vocabulary'])
      moreTokens(vocabulary)
      h.__metadata__['recur.vocabulary'] = JSON.stringify(vocabulary)
    })
    assertRefused(() => decodePyTorchSafetensors(forged, seedKernels(), null, 'w.safetensors'), 'FORMAT', /w\.safetensors: the vocabulary has \d+ tokens/)
  })
})

describe('task models: labels, architecture and training record', () => {
  test('labels that do not match the outputs', () => {
    assertRefused(task('classifier', (h) => { h.meta.labels = ['only'] }), 'FORMAT', /the file names 1 labels for 2 classes/)
    assertRefused(task('tagger', (h) => { h.meta.labels.push('extra') }), 'FORMAT', /labels for a softmax output/)
    assertRefused(task('classifier', (h) => { h.meta.labels = [1, 2] }), 'FORMAT', /labels\[0\] is 1, expected a string/)
  })

  test('an architecture with a field missing or of the wrong type names the field', () => {
    assertRefused(task('classifier', (h) => { h.meta.architecture = {} }), 'FORMAT', /architecture\.output is nothing/)
    assertRefused(task('seq2seq', (h) => { delete h.meta.architecture.decoder }), 'FORMAT', /architecture\.decoder is nothing, expected an object/)
    assertRefused(task('tagger', (h) => { h.meta.architecture.dense = [2, 'x'] }), 'FORMAT', /architecture\.dense\[1\] is "x"/)
    assertRefused(task('classifier', (h) => { h.meta.architecture.hidden = 1e6 }), 'FORMAT', /the architecture needs at least \d+ weights, but the file's tensors hold \d+/)
  })

  test('a training record of nested values, and an optimizer state that does not fit', () => {
    assertRefused(task('classifier', (h) => { h.meta.training = { lr: [0.1] } }), 'FORMAT', /training\.lr is an array of 1, expected a string, number, boolean or null/)
    assertRefused(task('classifier', (h) => { h.meta.moments = 1e9 }), 'FORMAT', /moments is 1000000000, expected an integer in \[0, 8\]/)
  })
})

describe('language models: the training state must fit the model', () => {
  test('invalid trainer options, corpus, generator state, counts', () => {
    assertRefused(lm((h) => { h.meta.training.options.batch = 1e9 }), 'FORMAT', /invalid training options \(config\.batch/)
    assertRefused(lm((h) => { h.meta.training.options.typo = 1 }), 'FORMAT', /invalid training options \(unknown config field 'typo'/)
    assertRefused(lm((h) => { h.meta.training.corpus.tokens = -1 }), 'FORMAT', /training\.corpus\.tokens is -1/)
    assertRefused(lm((h) => { h.meta.training.random = [1, 2] }), 'FORMAT', /training\.random is an array of 2, expected the generator's state/)
    assertRefused(lm((h) => { h.meta.training.random = [0, 0, 0, 0] }), 'FORMAT', /training\.random/)
    assertRefused(lm((h) => { h.meta.training.carried = 1e10 }), 'FORMAT', /training\.carried is 10000000000/)
    assertRefused(lm((h) => { h.meta.training.carried = 1 }), 'FORMAT', /carries 1 recurrent states, the architecture has 2/)
    assertRefused(lm((h) => { h.meta.training.step = -3 }), 'FORMAT', /training\.step is -3/)
  })

  test('optimizer moments and carried states of the wrong size', () => {
    assertRefused(lm((h) => {
      const moment = h.tensors.find((t: { name: string }) => t.name === 'optimizer.moment0')
      const other = h.tensors.find((t: { name: string }) => t.name === 'trainer.carried.0')
      moment.name = 'trainer.carried.0'
      other.name = 'optimizer.moment0'
    }), 'FORMAT', /tensor '(optimizer\.moment0|trainer\.carried\.0)' holds \d+ values, the training state needs \d+/)
  })
})
