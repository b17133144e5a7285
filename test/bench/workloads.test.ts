/**
 * The workloads read the corpus exactly as the peers' common.py does (WORKLOADS.md): the distinct
 * characters in code-point order as the vocabulary (V = 83, no <UNK>), the first 90% for training.
 * The figures pinned here are the ones the PyTorch peer printed (bench/peers/w5-short-torch.json).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WORKLOADS, mobyDick, trainFlopsPerStep } from '../../src/bench/workloads.js'

test('mobyDick(): the peers\' vocabulary and split', () => {
  const { characters, train, validation } = mobyDick()
  assert.equal(characters.length, 83)
  assert.equal(train.length, 1071285)
  assert.equal(validation.length, 119032)
  assert.equal(characters[0], '\n')
  assert.deepEqual(characters.slice(-5), ['—', '‘', '’', '“', '”'])
  for (let i = 1; i < characters.length; i++) assert.ok(characters[i - 1]!.codePointAt(0)! < characters[i]!.codePointAt(0)!, 'code-point order')
  let maxId = 0
  for (const id of train) maxId = Math.max(maxId, id)
  assert.equal(maxId, 82, 'ids run over the 83 characters')
})

test('training FLOPs per step follow the WORKLOADS.md formula', () => {
  // W1 at V = 83: forward per time step 2*32*((83+256) + (256+256))*4*256 + 2*32*256*83, times 3 and T = 64.
  const forward = 2 * 32 * (83 + 256) * 4 * 256 + 2 * 32 * (256 + 256) * 4 * 256 + 2 * 32 * 256 * 83
  assert.equal(trainFlopsPerStep(WORKLOADS['W1']!, 83), 3 * forward * 64)
})
