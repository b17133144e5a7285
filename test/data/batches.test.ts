import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Random } from '../../src/random.js'
import { batchOrder, gridLength, longestLength, multiHot, padBatch, padLabels, padTargets, shuffleInPlace, splitTrainValidation } from '../../src/data/batches.js'
import { isRecurError } from '../helpers/recur-error.js'

describe('padBatch', () => {
  test('right padding, time-major (T,B): ids[t*B + b], mask 1 on real tokens', () => {
    const batch = padBatch([Int32Array.of(5, 6), Int32Array.of(7), Int32Array.of(1, 2, 3)], 0)
    assert.equal(batch.T, 3)
    assert.equal(batch.B, 3)
    // t = 0: 5 7 1 | t = 1: 6 pad 2 | t = 2: pad pad 3
    assert.deepEqual(batch.ids, Int32Array.of(5, 7, 1, 6, 0, 2, 0, 0, 3))
    assert.deepEqual(batch.mask, Float32Array.of(1, 1, 1, 1, 0, 1, 0, 0, 1))
    assert.deepEqual(batch.lengths, Int32Array.of(2, 1, 3))
  })

  test('the pad id fills padding; plain arrays are accepted', () => {
    const batch = padBatch([[4], [4, 4]], 9)
    assert.deepEqual(batch.ids, Int32Array.of(4, 4, 9, 4))
  })

  test('one sequence, equal lengths: no padding', () => {
    const batch = padBatch([[1, 2, 3], [4, 5, 6]], 0)
    assert.deepEqual(batch.mask, new Float32Array(6).fill(1))
    assert.deepEqual(batch.ids, Int32Array.of(1, 4, 2, 5, 3, 6))
    assert.deepEqual(padBatch([[8, 9]], 0).ids, Int32Array.of(8, 9))
  })

  test('a zero-length sequence is all padding', () => {
    const batch = padBatch([[], [3, 4]], 0)
    assert.deepEqual(batch.lengths, Int32Array.of(0, 2))
    assert.deepEqual(batch.mask, Float32Array.of(0, 1, 0, 1))
    const empty = padBatch([[]], 0)
    assert.equal(empty.T, 0)
    assert.equal(empty.ids.length, 0)
  })

  test('a sequence on its own reads the same as inside a padded batch', () => {
    const random = new Random(3)
    const sequences = Array.from({ length: 7 }, () => Int32Array.from({ length: 1 + random.int(9) }, () => random.int(50)))
    const batch = padBatch(sequences, 0)
    sequences.forEach((sequence, b) => {
      const alone = padBatch([sequence], 0)
      const column = Array.from({ length: batch.lengths[b]! }, (_, t) => batch.ids[t * batch.B + b]!)
      assert.deepEqual(Int32Array.from(column), alone.ids)
      for (let t = 0; t < batch.T; t++) assert.equal(batch.mask[t * batch.B + b], t < sequence.length ? 1 : 0)
    })
  })

  test('errors: no sequences, bad ids, bad pad id', () => {
    assert.throws(() => padBatch([], 0), isRecurError('SHAPE', 'padBatch', 'non-empty array'))
    assert.throws(() => padBatch([[1], [2, -1]], 0), isRecurError('RANGE', 'sequence 1 has id -1 at position 1'))
    assert.throws(() => padBatch([[1.5]], 0), isRecurError('RANGE', 'id 1.5'))
    assert.throws(() => padBatch([[1]], -1), isRecurError('RANGE', 'padId'))
    assert.throws(() => padBatch([null as unknown as number[]], 0), isRecurError('SHAPE', 'sequence 0 is not an array'))
  })
})

describe('padLabels and padTargets', () => {
  test('padLabels pads with label 0 by default, with the same mask as the ids', () => {
    const labels = padLabels([Int32Array.of(2, 1), Int32Array.of(3)])
    assert.deepEqual(labels.labels, Int32Array.of(2, 3, 1, 0))
    assert.deepEqual(labels.mask, padBatch([[1, 1], [1]], 0).mask)
    assert.deepEqual(padLabels([[2], []], 7).labels, Int32Array.of(2, 7))
    assert.throws(() => padLabels([[-2]]), isRecurError('RANGE', 'label -2'))
  })

  test('padTargets pads floats', () => {
    const targets = padTargets([[1, 0, 1], [0.5]])
    assert.equal(targets.T, 3)
    assert.deepEqual(targets.targets, Float32Array.of(1, 0.5, 0, 0, 1, 0))
    assert.deepEqual(targets.mask, Float32Array.of(1, 1, 1, 0, 1, 0))
    assert.deepEqual(padTargets([[1], []], -1).targets, Float32Array.of(1, -1))
    assert.throws(() => padTargets([[Number.NaN]]), isRecurError('NON_FINITE', 'sequence 0 has NaN at position 0'))
  })

  test('multiHot writes (B,K) rows of 0/1', () => {
    assert.deepEqual(multiHot([[0, 2], [], [1, 1]], 3), Float32Array.of(1, 0, 1, 0, 0, 0, 0, 1, 0))
    assert.throws(() => multiHot([[3]], 3), isRecurError('RANGE', 'example 0 has label id 3'))
  })
})

/** Checks that the batches hold every index in [0, N) exactly once, in batches of `size` (one may be short). */
function assertPartition(batches: number[][], N: number, size: number): void {
  const seen = new Array<number>(N).fill(0)
  let short = 0
  for (const batch of batches) {
    assert.ok(batch.length >= 1 && batch.length <= size, `batch of ${batch.length}`)
    if (batch.length < size) short++
    for (const index of batch) {
      assert.ok(Number.isInteger(index) && index >= 0 && index < N, `index ${index}`)
      seen[index]!++
    }
  }
  assert.ok(short <= 1, `${short} short batches`)
  assert.deepEqual(seen, new Array<number>(N).fill(1))
  assert.equal(batches.length, Math.ceil(N / size))
}

function randomLengths(N: number, seed: number): number[] {
  const random = new Random(seed)
  return Array.from({ length: N }, () => 1 + random.int(40))
}

describe('batchOrder', () => {
  test('every index appears exactly once, for every option and many sizes', () => {
    for (const N of [0, 1, 2, 7, 50, 101, 333]) {
      const lengths = randomLengths(N, N + 1)
      for (const batchSize of [1, 3, 8, 64, 500]) {
        for (const bucket of [false, true]) {
          for (const shuffle of [false, true]) {
            for (const bucketBatches of [1, 2, 50]) {
              const batches = batchOrder(lengths, batchSize, new Random(N * 7 + batchSize), { bucket, shuffle, bucketBatches })
              assertPartition(batches, N, batchSize)
            }
          }
        }
      }
    }
  })

  test('no shuffle and no bucketing: file order', () => {
    assert.deepEqual(batchOrder([5, 4, 3, 2, 1], 2, new Random(1), { bucket: false, shuffle: false }), [[0, 1], [2, 3], [4]])
  })

  test('bucketing without shuffle: each chunk sorted by length (stable), then cut', () => {
    const lengths = [5, 1, 4, 1, 3, 2, 9, 8]
    // chunks of bucketBatches * batchSize = 4: [5,1,4,1] -> 1,3,2,0 ; [3,2,9,8] -> 5,4,7,6
    assert.deepEqual(batchOrder(lengths, 2, new Random(1), { bucket: true, shuffle: false, bucketBatches: 2 }), [[1, 3], [2, 0], [5, 4], [7, 6]])
  })

  test('the random generator is not touched without shuffle', () => {
    const random = { uniform: (): number => assert.fail('uniform called') }
    batchOrder([3, 1, 2], 2, random, { bucket: true, shuffle: false })
  })

  test('deterministic for a seed; another seed gives another order', () => {
    const lengths = randomLengths(200, 5)
    const options = { bucket: true, shuffle: true, bucketBatches: 4 }
    const first = batchOrder(lengths, 8, new Random(42), options)
    const again = batchOrder(lengths, 8, new Random(42), options)
    const other = batchOrder(lengths, 8, new Random(43), options)
    assert.deepEqual(first, again)
    assert.notDeepEqual(first, other)
    // And the same seed does not give the same order as a plain shuffle: bucketing changes it.
    assert.notDeepEqual(first, batchOrder(lengths, 8, new Random(42), { bucket: false, shuffle: true }))
  })

  test('with one chunk, bucketed batches do not overlap in length', () => {
    const lengths = randomLengths(120, 9)
    const batches = batchOrder(lengths, 10, new Random(7), { bucket: true, shuffle: true, bucketBatches: 100 })
    const spans = batches.map((batch) => [Math.min(...batch.map((i) => lengths[i]!)), Math.max(...batch.map((i) => lengths[i]!))] as const)
    spans.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1]![1] <= spans[i]![0], `batches overlap: ${spans[i - 1]} and ${spans[i]}`)
  })

  test('bucketing cuts padding', () => {
    const lengths = randomLengths(400, 11)
    const padded = (batches: number[][]): number => batches.reduce((sum, batch) => sum + batch.length * Math.max(...batch.map((i) => lengths[i]!)), 0)
    const plain = padded(batchOrder(lengths, 16, new Random(1), { bucket: false, shuffle: true }))
    const bucketed = padded(batchOrder(lengths, 16, new Random(1), { bucket: true, shuffle: true }))
    assert.ok(bucketed < 0.75 * plain, `bucketed ${bucketed} vs plain ${plain}`)
  })

  test('shuffling mixes the batches: the short batch is not always last', () => {
    const lengths = randomLengths(21, 2)
    const lastIsShort = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => batchOrder(lengths, 5, new Random(seed), { bucket: true, shuffle: true }).at(-1)!.length === 1)
    assert.ok(lastIsShort.includes(false))
  })

  test('errors: bad batch size, bucketBatches or length', () => {
    assert.throws(() => batchOrder([1], 0, new Random(1), { bucket: false, shuffle: false }), isRecurError('RANGE', 'batchSize'))
    assert.throws(() => batchOrder([1], 2, new Random(1), { bucket: true, shuffle: false, bucketBatches: 0 }), isRecurError('RANGE', 'bucketBatches'))
    assert.throws(() => batchOrder([1, -1], 2, new Random(1), { bucket: true, shuffle: false }), isRecurError('RANGE', 'length of example 1'))
  })
})

describe('splitTrainValidation', () => {
  test('a seeded split into disjoint sorted parts covering every index', () => {
    const { train, validation } = splitTrainValidation(100, 0.1, new Random(4))
    assert.equal(validation.length, 10)
    assert.equal(train.length, 90)
    assert.deepEqual([...train, ...validation].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i))
    assert.deepEqual(train, train.slice().sort((a, b) => a - b))
    assert.deepEqual(validation, validation.slice().sort((a, b) => a - b))
    assert.deepEqual(splitTrainValidation(100, 0.1, new Random(4)), { train, validation })
    assert.notDeepEqual(splitTrainValidation(100, 0.1, new Random(5)).validation, validation)
  })

  test('rounding keeps at least one example on each side', () => {
    assert.equal(splitTrainValidation(10, 0.01, new Random(1)).validation.length, 1)
    assert.equal(splitTrainValidation(10, 0.99, new Random(1)).train.length, 1)
    assert.equal(splitTrainValidation(2, 0.5, new Random(1)).validation.length, 1)
    assert.equal(splitTrainValidation(7, 0.25, new Random(1)).validation.length, 2)
  })

  test('fraction 0 keeps everything for training', () => {
    assert.deepEqual(splitTrainValidation(3, 0, new Random(1)), { train: [0, 1, 2], validation: [] })
  })

  test('errors: fraction outside [0, 1), too few examples', () => {
    assert.throws(() => splitTrainValidation(10, 1, new Random(1)), isRecurError('RANGE', 'fraction 1 is not in [0, 1)'))
    assert.throws(() => splitTrainValidation(10, -0.1, new Random(1)), isRecurError('RANGE'))
    assert.throws(() => splitTrainValidation(10, Number.NaN, new Random(1)), isRecurError('RANGE'))
    assert.throws(() => splitTrainValidation(1, 0.5, new Random(1)), isRecurError('DATA', 'cannot hold out', '1 example'))
    assert.throws(() => splitTrainValidation(-1, 0.5, new Random(1)), isRecurError('RANGE', 'n'))
  })
})

describe('shuffleInPlace', () => {
  test('a permutation; every position reachable', () => {
    const random = new Random(8)
    const firstSeen = new Set<number>()
    for (let trial = 0; trial < 200; trial++) {
      const items = shuffleInPlace([0, 1, 2, 3, 4], random)
      assert.deepEqual(items.slice().sort(), [0, 1, 2, 3, 4])
      firstSeen.add(items[0]!)
    }
    assert.equal(firstSeen.size, 5)
  })
})

describe('gridLength: the padded lengths of the task models', () => {
  test('exact up to 8, then four steps per octave', () => {
    assert.deepEqual([0, 1, 7, 8, 9, 10, 11, 13, 16, 17, 33, 300].map(gridLength), [0, 1, 7, 8, 10, 10, 12, 14, 16, 20, 40, 320])
  })
  test('never shorter, never more than 25% padding, and few distinct shapes', () => {
    const seen = new Set<number>()
    for (let T = 1; T <= 1000; T++) {
      const g = gridLength(T)
      assert.ok(g >= T && g <= Math.max(T, Math.ceil(T * 1.25)), `T ${T} -> ${g}`)
      seen.add(g)
    }
    assert.ok(seen.size <= 40, `${seen.size} shapes for lengths 1..1000`)
  })
  test('padBatch pads to a longer length when asked, with the mask to match', () => {
    const batch = padBatch([[1, 2], [3]], 0, { length: longestLength([[1, 2], [3]]) + 2 })
    assert.equal(batch.T, 4)
    assert.deepEqual([...batch.mask], [1, 1, 1, 0, 0, 0, 0, 0])
    assert.throws(() => padBatch([[1, 2, 3]], 0, { length: 2 }), /length/)
  })
})
