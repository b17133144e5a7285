import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { LabelSet, splitTags } from '../../src/data/labels.js'
import { isRecurError } from '../helpers/recur-error.js'

describe('LabelSet.fromLabels', () => {
  test('alphabetical by default: code-point order of the distinct labels', () => {
    const labels = LabelSet.fromLabels(['spam', 'ham', 'spam', 'ham', 'spam'])
    assert.deepEqual(labels.labels, ['ham', 'spam'])
    assert.equal(labels.size, 2)
    assert.equal(labels.id('spam'), 1)
    assert.equal(labels.label(0), 'ham')
  })

  test('code points, not UTF-16 units: U+FF21 sorts before U+1F600', () => {
    assert.deepEqual(LabelSet.fromLabels(['😀', 'Ａ', 'b']).labels, ['b', 'Ａ', '😀'])
  })

  test('frequency: most frequent first, ties in code-point order', () => {
    const labels = LabelSet.fromLabels(['O', 'B-PER', 'O', 'I-PER', 'O', 'B-LOC', 'I-PER', 'B-PER'], { order: 'frequency' })
    assert.deepEqual(labels.labels, ['O', 'B-PER', 'I-PER', 'B-LOC'])
  })

  test('the same labels in any order give the same ids', () => {
    const data = ['c', 'a', 'b', 'a', 'c', 'c']
    for (const order of ['alphabetical', 'frequency'] as const) {
      const forward = LabelSet.fromLabels(data, { order })
      const backward = LabelSet.fromLabels(data.slice().reverse(), { order })
      assert.deepEqual(forward.labels, backward.labels, order)
    }
  })

  test('takes any iterable (a generator)', () => {
    function* tags(): Generator<string> {
      yield* ['x', 'y', 'x']
    }
    assert.deepEqual(LabelSet.fromLabels(tags()).labels, ['x', 'y'])
  })

  test('no labels, an empty label or a bad order are errors', () => {
    assert.throws(() => LabelSet.fromLabels([]), isRecurError('DATA', 'no labels'))
    assert.throws(() => LabelSet.fromLabels(['a', '']), isRecurError('DATA', 'label 1 is empty'))
    assert.throws(() => LabelSet.fromLabels(['a', 3 as unknown as string]), isRecurError('DATA', 'label 1 is a number'))
    assert.throws(() => LabelSet.fromLabels(['a'], { order: 'random' as 'frequency' }), isRecurError('OPTION', 'unknown order "random"'))
  })
})

describe('LabelSet lookups', () => {
  const labels = LabelSet.fromList(['neg', 'neu', 'pos'])

  test('fromList keeps the order given', () => {
    assert.deepEqual(LabelSet.fromList(['z', 'a']).labels, ['z', 'a'])
    assert.deepEqual([labels.id('neg'), labels.id('neu'), labels.id('pos')], [0, 1, 2])
  })

  test('encode and decode', () => {
    assert.deepEqual(labels.encode(['pos', 'neg', 'pos']), Int32Array.of(2, 0, 2))
    assert.deepEqual(labels.decode([1, 2]), ['neu', 'pos'])
    assert.ok(labels.has('neu'))
    assert.ok(!labels.has('NEU'))
  })

  test('an unknown label is a TOKEN error naming it, listing the known ones and suggesting the closest', () => {
    assert.throws(() => labels.id('Pos'), isRecurError('TOKEN', 'unknown label "Pos"', 'the 3 known labels are "neg", "neu", "pos"', 'Did you mean "pos"?'))
    assert.throws(() => labels.id('banana'), (error) => isRecurError('TOKEN', 'unknown label "banana"')(error) && !(error as Error).message.includes('Did you mean'))
  })

  test('a long label list is cut in the message', () => {
    const many = LabelSet.fromList(Array.from({ length: 25 }, (_, i) => `class${String(i).padStart(2, '0')}`))
    assert.throws(() => many.id('nope'), isRecurError('TOKEN', 'the 25 known labels are "class00"', '"class09" and 15 more'))
  })

  test('an id outside [0, K) is a RANGE error', () => {
    assert.throws(() => labels.label(3), isRecurError('RANGE', 'id 3', '[0, 2]'))
    assert.throws(() => labels.label(-1), isRecurError('RANGE'))
    assert.throws(() => labels.label(0.5), isRecurError('RANGE'))
  })

  test('fromList refuses no labels, empty labels and repeats', () => {
    assert.throws(() => LabelSet.fromList([]), isRecurError('OPTION', 'non-empty array'))
    assert.throws(() => LabelSet.fromList(['a', '']), isRecurError('OPTION', 'label 1 is ""'))
    assert.throws(() => LabelSet.fromList(['a', 'b', 'a']), isRecurError('OPTION', '"a" appears twice (ids 0 and 2)'))
  })

  test('the label list cannot be changed from outside', () => {
    const list = ['a', 'b']
    const set = LabelSet.fromList(list)
    list[0] = 'z'
    assert.equal(set.label(0), 'a')
    assert.throws(() => (set.labels as string[]).push('c'), TypeError)
  })
})

describe('LabelSet JSON', () => {
  test('round trip, as an object and as text', () => {
    const labels = LabelSet.fromLabels(['b', 'a', 'c'], { order: 'frequency' })
    const json = labels.toJSON()
    assert.deepEqual(json, { format: 'recur-labels', version: 1, labels: ['a', 'b', 'c'] })
    assert.deepEqual(LabelSet.fromJSON(json).labels, labels.labels)
    assert.deepEqual(LabelSet.fromJSON(JSON.stringify(labels)).labels, labels.labels)
  })

  test('malformed input is a FORMAT error, another version a VERSION error', () => {
    assert.throws(() => LabelSet.fromJSON('{not json'), isRecurError('FORMAT', 'not valid JSON'))
    assert.throws(() => LabelSet.fromJSON([]), isRecurError('FORMAT', 'expected an object'))
    assert.throws(() => LabelSet.fromJSON(null), isRecurError('FORMAT', 'got null'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-vocabulary', version: 1, labels: ['a'] }), isRecurError('FORMAT', 'format is "recur-vocabulary"', 'label set written by recur'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-labels', version: 2, labels: ['a'] }), isRecurError('VERSION', 'version 2'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-labels', version: 1 }), isRecurError('FORMAT', 'labels is missing'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-labels', version: 1, labels: [] }), isRecurError('FORMAT', 'non-empty array'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-labels', version: 1, labels: ['a', 1] }), isRecurError('FORMAT', 'label 1 is 1'))
    assert.throws(() => LabelSet.fromJSON({ format: 'recur-labels', version: 1, labels: ['a', 'a'] }), isRecurError('FORMAT', 'appears twice'))
  })
})

describe('splitTags', () => {
  test('a string splits at runs of whitespace; an array is copied', () => {
    assert.deepEqual(splitTags('B-PER I-PER  O\tB-LOC\n'), ['B-PER', 'I-PER', 'O', 'B-LOC'])
    assert.deepEqual(splitTags('  O  '), ['O'])
    assert.deepEqual(splitTags(''), [])
    assert.deepEqual(splitTags('   '), [])
    const array = ['O', 'B-X']
    const tags = splitTags(array)
    assert.deepEqual(tags, array)
    assert.notEqual(tags, array)
  })

  test('an array with a non-string or empty tag is a DATA error', () => {
    assert.throws(() => splitTags(['O', '']), isRecurError('DATA', 'tag 1 is ""'))
    assert.throws(() => splitTags(['O', 1 as unknown as string]), isRecurError('DATA', 'tag 1 is 1'))
    assert.throws(() => splitTags(null as unknown as string), isRecurError('DATA', 'got null'))
  })
})
