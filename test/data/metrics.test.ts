import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Random } from '../../src/random.js'
import {
  accuracy,
  bioEntities,
  classificationReport,
  confusionMatrix,
  editDistance,
  entityReport,
  exactMatchAccuracy,
  formatClassificationReport,
  formatConfusionMatrix,
  formatEntityReport,
  isBioLabelSet,
  macroF1,
  multiLabelReport,
  sequenceReport,
  tokenAccuracy,
  tokenErrorRate,
} from '../../src/data/metrics.js'
import { closestMatch, listSome } from '../../src/data/suggest.js'
import { isRecurError } from '../helpers/recur-error.js'

function near(actual: number, expected: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`)
}

// 5 examples, 3 classes. Confusion (rows true): [1 1 0] [0 2 0] [1 0 0].
const TRUTH = [0, 0, 1, 1, 2]
const PREDICTED = [0, 1, 1, 1, 0]

describe('classification', () => {
  test('confusion matrix: rows = true class, columns = predicted class', () => {
    assert.deepEqual(confusionMatrix(TRUTH, PREDICTED, 3), [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
  })

  test('accuracy, per-class precision / recall / F1 / support, macro averages (worked by hand)', () => {
    const report = classificationReport(TRUTH, PREDICTED, 3)
    near(report.accuracy, 3 / 5)
    near(accuracy(TRUTH, PREDICTED), 3 / 5)
    assert.equal(report.total, 5)
    // class 0: tp 1, predicted 2, support 2
    assert.deepEqual(report.perClass[0], { precision: 0.5, recall: 0.5, f1: 0.5, support: 2, predicted: 2 })
    // class 1: tp 2, predicted 3, support 2 -> P 2/3, R 1, F1 = 2*2 / (3 + 2) = 0.8
    near(report.perClass[1]!.precision, 2 / 3)
    near(report.perClass[1]!.recall, 1)
    near(report.perClass[1]!.f1, 0.8)
    // class 2: never predicted -> precision 0 (zero division), recall 0, F1 0
    assert.deepEqual(report.perClass[2], { precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 })
    near(report.macroF1, (0.5 + 0.8 + 0) / 3)
    near(report.macroPrecision, (0.5 + 2 / 3 + 0) / 3)
    near(report.macroRecall, (0.5 + 1 + 0) / 3)
    near(macroF1(TRUTH, PREDICTED, 3), (0.5 + 0.8) / 3)
  })

  test('a class absent from truth and predictions is left out of the macro average', () => {
    const report = classificationReport(TRUTH, PREDICTED, 5)
    near(report.macroF1, (0.5 + 0.8 + 0) / 3)
    assert.deepEqual(report.perClass[4], { precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 })
  })

  test('F1 equals 2PR/(P+R) for every class of random predictions', () => {
    const random = new Random(12)
    const truth = Array.from({ length: 300 }, () => random.int(4))
    const predicted = truth.map((y) => (random.uniform() < 0.6 ? y : random.int(4)))
    const report = classificationReport(truth, predicted, 4)
    for (const s of report.perClass) near(s.f1, s.precision + s.recall === 0 ? 0 : (2 * s.precision * s.recall) / (s.precision + s.recall))
    assert.equal(report.confusion.flat().reduce((a, b) => a + b, 0), 300)
    near(report.accuracy, truth.filter((y, i) => y === predicted[i]).length / 300)
  })

  test('perfect and binary cases', () => {
    const perfect = classificationReport([0, 1, 1], [0, 1, 1], 2)
    assert.equal(perfect.accuracy, 1)
    assert.equal(perfect.macroF1, 1)
    // Binary spam example: positive class 1; tp 3, fp 1, fn 1 -> P = R = F1 = 0.75.
    const spam = classificationReport([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0], 2)
    near(spam.perClass[1]!.f1, 0.75)
    near(spam.accuracy, 0.75)
  })

  test('errors: lengths, no examples, class ids out of range', () => {
    assert.throws(() => confusionMatrix([0, 1], [0], 2), isRecurError('SHAPE', '2 true values but 1 predicted'))
    assert.throws(() => accuracy([], []), isRecurError('DATA', 'no examples'))
    assert.throws(() => confusionMatrix([0, 2], [0, 1], 2), isRecurError('RANGE', 'true class 2 at index 1', '[0, 1]'))
    assert.throws(() => confusionMatrix([0, 1], [0, -1], 2), isRecurError('RANGE', 'predicted class -1'))
    assert.throws(() => confusionMatrix([0], [0], 0), isRecurError('RANGE', 'K = 0'))
  })

  test('formatted confusion matrix and per-class table', () => {
    const report = classificationReport(TRUTH, PREDICTED, 3)
    assert.equal(
      formatConfusionMatrix(report.confusion, ['neg', 'pos', 'neutral']),
      [
        'true \\ predicted  neg  pos  neutral',
        'neg                 1    1        0',
        'pos                 0    2        0',
        'neutral             1    0        0',
      ].join('\n'),
    )
    assert.equal(
      formatClassificationReport(report, ['neg', 'pos', 'neutral']),
      [
        '           precision  recall      f1  support',
        'neg           0.5000  0.5000  0.5000        2',
        'pos           0.6667  1.0000  0.8000        2',
        'neutral       0.0000  0.0000  0.0000        1',
        'macro avg     0.3889  0.5000  0.4333        5',
        'accuracy 0.6000 (3 of 5)',
      ].join('\n'),
    )
    assert.throws(() => formatConfusionMatrix(report.confusion, ['a', 'b']), isRecurError('SHAPE'))
    assert.throws(() => formatClassificationReport(report, ['a']), isRecurError('SHAPE'))
  })
})

describe('multi-label', () => {
  test('micro and macro F1, exact match (worked by hand)', () => {
    // N = 3 rows of K = 3 labels.
    const truth = [1, 0, 1, 0, 1, 0, 1, 1, 0]
    const predicted = [1, 0, 0, 0, 1, 1, 1, 1, 0]
    const report = multiLabelReport(truth, predicted, 3)
    // label 0: F1 1; label 1: F1 1; label 2: tp 0, fp 1, fn 1 -> 0. Pooled: tp 4, fp 1, fn 1.
    assert.equal(report.total, 3)
    near(report.microPrecision, 0.8)
    near(report.microRecall, 0.8)
    near(report.microF1, 0.8)
    near(report.macroF1, 2 / 3)
    near(report.exactMatch, 1 / 3)
    assert.deepEqual(report.perLabel.map((s) => s.f1), [1, 1, 0])
  })

  test('errors: shape, values other than 0 and 1', () => {
    assert.throws(() => multiLabelReport([1, 0, 1], [1, 0, 1], 2), isRecurError('SHAPE', 'not N rows of K = 2'))
    assert.throws(() => multiLabelReport([1, 0], [0.7, 0], 2), isRecurError('RANGE', 'predicted value 0.7', 'Threshold'))
  })
})

describe('tagging', () => {
  test('token accuracy counts unmasked positions only', () => {
    // (T=2, B=3): the padded positions disagree, but do not count.
    const truth = [1, 2, 3, 4, 0, 0]
    const predicted = [1, 2, 0, 4, 9, 9]
    const mask = [1, 1, 1, 1, 0, 0]
    near(tokenAccuracy(truth, predicted, mask), 3 / 4)
    near(tokenAccuracy(truth, predicted), 3 / 6)
    assert.throws(() => tokenAccuracy([1], [1], [0]), isRecurError('DATA', 'no real tokens'))
    assert.throws(() => tokenAccuracy([1, 2], [1], undefined), isRecurError('SHAPE'))
    assert.throws(() => tokenAccuracy([1, 2], [1, 2], [1]), isRecurError('SHAPE', 'mask has 1 values for 2'))
  })

  test('BIO entities: B starts, I continues the same type', () => {
    assert.deepEqual(bioEntities(['B-PER', 'I-PER', 'O', 'B-LOC']), [
      { type: 'PER', start: 0, end: 2 },
      { type: 'LOC', start: 3, end: 4 },
    ])
    assert.deepEqual(bioEntities(['B-PER', 'B-PER', 'I-PER']), [
      { type: 'PER', start: 0, end: 1 },
      { type: 'PER', start: 1, end: 3 },
    ])
    assert.deepEqual(bioEntities(['O', 'O']), [])
    assert.deepEqual(bioEntities([]), [])
  })

  test('BIO entities: ill-formed I- starts a new entity (at the start, after O, after another type)', () => {
    assert.deepEqual(bioEntities(['I-PER', 'I-PER', 'O']), [{ type: 'PER', start: 0, end: 2 }])
    assert.deepEqual(bioEntities(['O', 'I-LOC']), [{ type: 'LOC', start: 1, end: 2 }])
    assert.deepEqual(bioEntities(['B-PER', 'I-LOC', 'I-LOC']), [
      { type: 'PER', start: 0, end: 1 },
      { type: 'LOC', start: 1, end: 3 },
    ])
    assert.deepEqual(bioEntities(['I-PER', 'I-LOC', 'B-LOC', 'I-PER']), [
      { type: 'PER', start: 0, end: 1 },
      { type: 'LOC', start: 1, end: 2 },
      { type: 'LOC', start: 2, end: 3 },
      { type: 'PER', start: 3, end: 4 },
    ])
  })

  test('BIO types may hold hyphens; other tags are DATA errors', () => {
    assert.deepEqual(bioEntities(['B-MISC-X', 'I-MISC-X']), [{ type: 'MISC-X', start: 0, end: 2 }])
    assert.throws(() => bioEntities(['O', 'PER']), isRecurError('DATA', 'tag "PER" at position 1', 'token accuracy'))
    assert.throws(() => bioEntities(['B-']), isRecurError('DATA', '"B-"'))
    assert.throws(() => bioEntities(['b-per']), isRecurError('DATA'))
    assert.ok(isBioLabelSet(['O', 'B-PER', 'I-PER']))
    assert.ok(!isBioLabelSet(['0', '1']))
    assert.ok(!isBioLabelSet([]))
  })

  test('entity precision / recall / F1: exact span and type', () => {
    const report = entityReport([['B-PER', 'I-PER', 'O', 'B-LOC']], [['B-PER', 'O', 'O', 'B-LOC']])
    // true: PER[0,2) LOC[3,4); predicted: PER[0,1) (wrong span) LOC[3,4) (right)
    assert.equal(report.correct, 1)
    assert.equal(report.predicted, 2)
    assert.equal(report.support, 2)
    near(report.precision, 0.5)
    near(report.recall, 0.5)
    near(report.f1, 0.5)
    assert.deepEqual([...report.perType.keys()], ['LOC', 'PER'])
    assert.equal(report.perType.get('LOC')!.f1, 1)
    assert.equal(report.perType.get('PER')!.f1, 0)
  })

  test('entity scores: wrong type, extra and missed entities, ill-formed starts that match', () => {
    const report = entityReport(
      [
        ['B-PER', 'I-PER', 'O', 'B-ORG', 'O'],
        ['O', 'B-LOC', 'O'],
      ],
      [
        ['I-PER', 'I-PER', 'O', 'B-LOC', 'B-MISC'], // PER right (ill-formed but same span), LOC wrong type, MISC extra
        ['O', 'O', 'O'], // LOC missed
      ],
    )
    assert.equal(report.support, 3)
    assert.equal(report.predicted, 3)
    assert.equal(report.correct, 1)
    near(report.precision, 1 / 3)
    near(report.recall, 1 / 3)
    near(report.f1, 1 / 3)
    assert.deepEqual([...report.perType.keys()], ['LOC', 'MISC', 'ORG', 'PER'])
    assert.deepEqual(report.perType.get('MISC'), { precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 })
  })

  test('entities do not run across sentences', () => {
    const truth = [['O', 'B-X'], ['I-X', 'O']]
    const report = entityReport(truth, [['O', 'B-X'], ['B-X', 'O']])
    assert.equal(report.support, 2)
    assert.equal(report.correct, 2)
  })

  test('no entities anywhere: scores are 0, not NaN', () => {
    const report = entityReport([['O']], [['O']])
    assert.deepEqual([report.precision, report.recall, report.f1], [0, 0, 0])
  })

  test('entity report errors and its table', () => {
    assert.throws(() => entityReport([['O']], []), isRecurError('SHAPE', '1 true sentences but 0'))
    assert.throws(() => entityReport([['O', 'O']], [['O']]), isRecurError('SHAPE', 'sentence 0 has 2 true tags but 1'))
    const table = formatEntityReport(entityReport([['B-PER', 'I-PER', 'O', 'B-LOC']], [['B-PER', 'O', 'O', 'B-LOC']]))
    assert.equal(
      table,
      [
        '              precision  recall      f1  support',
        'LOC              1.0000  1.0000  1.0000        1',
        'PER              0.0000  0.0000  0.0000        1',
        'all entities     0.5000  0.5000  0.5000        2',
      ].join('\n'),
    )
  })
})

/** Levenshtein by plain recursion over all edit paths: the definition, for small inputs. */
function editDistanceByDefinition(a: string, b: string): number {
  if (a.length === 0) return b.length
  if (b.length === 0) return a.length
  const cost = a[0] === b[0] ? 0 : 1
  return Math.min(
    editDistanceByDefinition(a.slice(1), b.slice(1)) + cost,
    editDistanceByDefinition(a.slice(1), b) + 1,
    editDistanceByDefinition(a, b.slice(1)) + 1,
  )
}

describe('encoder-decoder', () => {
  test('edit distance: known cases', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3)
    assert.equal(editDistance('flaw', 'lawn'), 2)
    assert.equal(editDistance('ab', 'ba'), 2) // a transposition is two edits
    assert.equal(editDistance('', 'abc'), 3)
    assert.equal(editDistance('abc', ''), 3)
    assert.equal(editDistance('', ''), 0)
    assert.equal(editDistance('same', 'same'), 0)
    assert.equal(editDistance(['the', 'cat', 'sat'], ['the', 'sat']), 1)
    assert.equal(editDistance(['2009', '-', '06', '-', '25'], ['2009', '-', '25', '-', '06']), 2)
    assert.equal(editDistance([1, 2, 3], Int32Array.of(1, 2, 4)), 1)
  })

  test('edit distance equals the recursive definition, and is symmetric', () => {
    const random = new Random(21)
    const word = (): string => Array.from({ length: random.int(7) }, () => 'abc'[random.int(3)]).join('')
    for (let trial = 0; trial < 300; trial++) {
      const a = word()
      const b = word()
      const d = editDistance(a, b)
      assert.equal(d, editDistanceByDefinition(a, b), `${a} / ${b}`)
      assert.equal(editDistance(b, a), d)
      assert.ok(d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length))
    }
  })

  test('exact match and token error rate = Σ edit distance / Σ reference length', () => {
    const references = [['a', 'b', 'c'], ['d']]
    const predictions = [['a', 'c'], ['d']]
    const report = sequenceReport(references, predictions)
    assert.deepEqual(report, { total: 2, exactMatch: 0.5, tokenErrorRate: 0.25, editDistance: 1, referenceTokens: 4 })
    near(exactMatchAccuracy(references, predictions), 0.5)
    near(tokenErrorRate(references, predictions), 0.25)
    // Pooled, not a mean of per-sequence rates: (0 + 2) / (10 + 1), not (0 + 2) / 2.
    near(tokenErrorRate([[...'0123456789'], ['x']], [[...'0123456789'], ['y', 'z']]), 2 / 11)
    // A long prediction can make the rate exceed 1.
    near(tokenErrorRate([['a']], [['a', 'b', 'c']]), 2)
    // Strings work as character sequences.
    assert.equal(exactMatchAccuracy(['2009-06-25', '2010-01-01'], ['2009-06-25', '2010-01-02']), 0.5)
  })

  test('errors: list lengths, no sequences, all references empty', () => {
    assert.throws(() => sequenceReport([['a']], []), isRecurError('SHAPE'))
    assert.throws(() => exactMatchAccuracy([], []), isRecurError('DATA', 'no examples'))
    assert.throws(() => tokenErrorRate([[]], [['a']]), isRecurError('DATA', 'references are empty'))
  })
})

describe('suggestions', () => {
  test('closestMatch prefers a case-only difference, then the smallest edit distance within a limit', () => {
    assert.equal(closestMatch('label', ['text', 'Label', 'lable']), 'Label')
    assert.equal(closestMatch('label', ['text', 'lable']), 'lable')
    assert.equal(closestMatch('label', ['text', 'sentence']), undefined)
    assert.equal(closestMatch('input_text', ['input-text', 'text']), 'input-text')
    assert.equal(closestMatch('x', []), undefined)
  })

  test('listSome cuts long lists', () => {
    assert.equal(listSome(['a', 'b']), '"a", "b"')
    assert.equal(listSome(['a', 'b', 'c'], 2), '"a", "b" and 1 more')
  })
})
