/**
 * Text classification end to end through the library API (src/tasks/classify.ts), on data drawn
 * here from a seeded Random, on the f32 reference backend.
 *
 * The learning test needs word order: every sentence holds 'cat' and 'dog' once among filler
 * words, and the label says which comes first. Both labels have the same distribution of bags of
 * words, so a bag-of-words model (the logistic regression below) cannot beat chance, while a GRU
 * reading the words in order must reach 95%.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { RecurError } from '../../src/errors.js'
import { ReferenceKernels } from '../../src/kernels/reference/index.js'
import { Random } from '../../src/random.js'
import { TextClassifier, parseWidths, splitLabels, trainClassifier, type ClassifyExample } from '../../src/tasks/classify.js'
import { resolveTaskConfig, TASK_FIELDS, totalSteps } from '../../src/tasks/common.js'
import { wordOrderSentence } from '../helpers/tasks.js'

const kernels = new ReferenceKernels('f32')
const FILLER = ['the', 'a', 'big', 'small', 'red', 'old', 'sat', 'ran', 'on', 'mat', 'near', 'saw']

/** n sentences of 5-9 words with 'cat' and 'dog' once each; label 'cat-first' or 'dog-first'. */
function wordOrderData(n: number, seed: number): ClassifyExample[] {
  const random = new Random(seed)
  return Array.from({ length: n }, () => {
    const { text, label } = wordOrderSentence(random, FILLER, 5, 5)
    return { input: text, label }
  })
}

/**
 * The baseline: logistic regression on word counts (a bag of words), full-batch gradient descent.
 * Returns its accuracy on `test`.
 */
function bagOfWordsAccuracy(train: readonly ClassifyExample[], test: readonly ClassifyExample[]): number {
  const words = [...FILLER, 'cat', 'dog']
  const features = (e: ClassifyExample) => {
    const x = new Float64Array(words.length + 1)
    x[words.length] = 1 // bias
    for (const word of (e.input as string).split(' ')) x[words.indexOf(word)]!++
    return x
  }
  const X = train.map(features)
  const y = train.map((e) => (e.label === 'cat-first' ? 1 : 0))
  const w = new Float64Array(words.length + 1)
  for (let iteration = 0; iteration < 500; iteration++) {
    const gradient = new Float64Array(w.length)
    X.forEach((x, n) => {
      let z = 0
      for (let j = 0; j < w.length; j++) z += w[j]! * x[j]!
      const error = 1 / (1 + Math.exp(-z)) - y[n]!
      for (let j = 0; j < w.length; j++) gradient[j]! += (error * x[j]!) / X.length
    })
    for (let j = 0; j < w.length; j++) w[j]! -= 0.5 * gradient[j]!
  }
  let right = 0
  for (const e of test) {
    const x = features(e)
    let z = 0
    for (let j = 0; j < w.length; j++) z += w[j]! * x[j]!
    if ((z > 0 ? 'cat-first' : 'dog-first') === e.label) right++
  }
  return right / test.length
}

describe('classifier learning test: word order (a bag of words cannot do it)', () => {
  const train = wordOrderData(600, 1)
  const validation = wordOrderData(100, 2)
  const heldOut = wordOrderData(400, 3)
  const small = { inputLevel: 'word', hidden: 16, embedding: 8, lr: 0.01, batch: 32, seed: 1 } as const

  test('a unidirectional GRU (final state) reaches >= 95% held-out accuracy within 300 steps', async () => {
    const { classifier, outcome } = await trainClassifier(train, { kernels, validation, config: { ...small, steps: 300 } })
    assert.equal(outcome.steps, 300)
    assert.equal(outcome.stopped, 'done')
    assert.ok(outcome.validation !== null && outcome.validation.metric >= 0.95, `validation accuracy ${outcome.validation?.metric}`)
    const result = await classifier.evaluate(heldOut)
    if (result.multiLabel) assert.fail('one label per example gives a softmax model')
    assert.ok(result.report.accuracy >= 0.95, `held-out accuracy ${result.report.accuracy}`)
    assert.ok(result.report.macroF1 >= 0.95, `macro-F1 ${result.report.macroF1}`)
    assert.equal(result.report.confusion.flat().reduce((a, b) => a + b, 0), heldOut.length)
  })

  test('max pooling with a hidden dense layer also reaches >= 95% within 300 steps', async () => {
    const { classifier } = await trainClassifier(train, { kernels, config: { ...small, steps: 300, pooling: 'max', dense: '16', activation: 'relu' } })
    assert.deepEqual(classifier.model.architecture.dense, [16])
    const result = await classifier.evaluate(heldOut)
    if (result.multiLabel) assert.fail('one label per example gives a softmax model')
    assert.ok(result.report.accuracy >= 0.95, `held-out accuracy ${result.report.accuracy}`)
  })

  test('the bag-of-words logistic regression baseline stays near chance (<= 60%)', () => {
    const accuracy = bagOfWordsAccuracy(train, heldOut)
    assert.ok(accuracy <= 0.6, `bag-of-words accuracy ${accuracy}`)
    // Sanity check of the baseline itself: it does learn a task that counting solves.
    const countable = train.map((e, i) => ({ input: `${e.input as string}${i % 2 === 0 ? ' red red red' : ''}`, label: i % 2 === 0 ? 'cat-first' : 'dog-first' }))
    assert.ok(bagOfWordsAccuracy(countable, countable) >= 0.95)
  })
})

describe('multi-label classification', () => {
  // Labels: which of 'cat' and 'dog' occur (none, one or both), written 'cat|dog', as a JSON array, or ''.
  function data(n: number, seed: number): ClassifyExample[] {
    const random = new Random(seed)
    return Array.from({ length: n }, () => {
      const words = Array.from({ length: 4 + random.int(4) }, () => FILLER[random.int(FILLER.length)]!)
      const labels: string[] = []
      if (random.uniform() < 0.5) {
        words[random.int(words.length)] = 'cat'
        labels.push('cat')
      }
      if (random.uniform() < 0.5) {
        let at = random.int(words.length)
        while (words[at] === 'cat') at = random.int(words.length)
        words[at] = 'dog'
        labels.push('dog')
      }
      return { input: words.join(' '), label: random.uniform() < 0.5 ? labels : labels.join('|') }
    })
  }

  test('several labels per example give one sigmoid per label, learnt to micro-F1 >= 0.95 in 200 steps', async () => {
    const { classifier } = await trainClassifier(data(400, 4), { kernels, config: { inputLevel: 'word', hidden: 16, embedding: 8, lr: 0.01, steps: 200, pooling: 'max' } })
    assert.equal(classifier.multiLabel, true)
    assert.equal(classifier.model.architecture.output, 'sigmoid')
    assert.deepEqual(classifier.labels.labels, ['cat', 'dog'])
    const result = await classifier.evaluate(data(200, 5))
    assert.ok(result.multiLabel && result.report.microF1 >= 0.95, `micro-F1 ${result.multiLabel ? result.report.microF1 : '?'}`)
    const [both, none] = await classifier.predict(['the dog saw a cat', 'the old mat'])
    assert.deepEqual(both!.labels, ['cat', 'dog'])
    assert.deepEqual(none!.labels, [])
  })
})

describe('TextClassifier', () => {
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'recur-classify-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('save and load give the same predictions, vocabulary, labels and settings', async () => {
    const examples = wordOrderData(100, 6)
    const { classifier } = await trainClassifier(examples, { kernels, config: { inputLevel: 'char', hidden: 8, steps: 5, maxLength: 30 } })
    const path = join(dir, 'model.recur')
    await classifier.save(path)
    const loaded = await TextClassifier.load(path, kernels)
    assert.deepEqual(loaded.labels.labels, classifier.labels.labels)
    assert.deepEqual(loaded.vocabulary.tokens, classifier.vocabulary.tokens)
    assert.deepEqual(loaded.tokenizer, classifier.tokenizer)
    assert.equal(loaded.maxLength, 30)
    const inputs = ['cat and dog', 'dog, then cat', ['pre', 'tokenized']]
    assert.deepEqual(await loaded.predict(inputs), await classifier.predict(inputs))
    assert.equal(loaded.training?.['trainedSteps'], 5)
  })

  test('predictions: the label is the most probable, probabilities sum to 1, batches do not change results', async () => {
    const { classifier } = await trainClassifier(wordOrderData(64, 7), { kernels, config: { hidden: 8, steps: 3 } })
    const inputs = ['cat dog', 'the big dog sat near the cat on a mat', 'dog cat', 'unseen words only']
    const together = await classifier.predict(inputs)
    const alone = await Promise.all(inputs.map(async (input) => (await classifier.predict([input]))[0]!))
    for (let i = 0; i < inputs.length; i++) {
      const p = together[i]!
      const total = Object.values(p.probabilities).reduce((a, b) => a + b, 0)
      assert.ok(Math.abs(total - 1) < 1e-5, `sum ${total}`)
      assert.equal(p.probability, Math.max(...Object.values(p.probabilities)))
      assert.equal(p.label, Object.entries(p.probabilities).find(([, q]) => q === p.probability)![0])
      for (const label of classifier.labels.labels) assert.ok(Math.abs(p.probabilities[label]! - alone[i]!.probabilities[label]!) < 1e-5, 'padding in a batch changes nothing')
    }
  })

  test('clear errors: one label in all, empty input, unknown label at evaluation, bad widths, unknown setting', async () => {
    await assert.rejects(trainClassifier([{ input: 'a', label: 'x' }, { input: 'b', label: 'x' }], { kernels }), (e: unknown) => e instanceof RecurError && e.code === 'DATA' && /every example has the label "x"/.test(e.message))
    await assert.rejects(trainClassifier([{ input: 'a', label: 'x' }, { input: '  ', label: 'y', where: 'data.jsonl line 2' }], { kernels }), (e: unknown) => e instanceof RecurError && e.code === 'DATA' && /data\.jsonl line 2: the input has no tokens/.test(e.message))
    const { classifier } = await trainClassifier([{ input: 'a', label: 'neg' }, { input: 'b', label: 'pos' }], { kernels, config: { hidden: 4, steps: 1 } })
    await assert.rejects(classifier.evaluate([{ input: 'a', label: 'Pos', where: 'test.csv line 9' }]), (e: unknown) => e instanceof RecurError && e.code === 'TOKEN' && /test\.csv line 9: unknown label "Pos".*did you mean "pos"/i.test(e.message))
    assert.throws(() => parseWidths('64,,8'), (e: unknown) => e instanceof RecurError && e.code === 'OPTION')
    assert.throws(() => TextClassifier.create(kernels, [{ input: 'a', label: 'x' }], { hiden: 3 } as never), (e: unknown) => e instanceof RecurError && e.code === 'OPTION' && /unknown field 'hiden'.*did you mean "hidden"/i.test(e.message))
  })

  test('labels: one per example, or several as an array or joined with |', () => {
    assert.deepEqual(splitLabels('spam'), ['spam'])
    assert.deepEqual(splitLabels('sports | politics|'), ['sports', 'politics'])
    assert.deepEqual(splitLabels(['a', 'b']), ['a', 'b'])
  })

  test('settings: defaults that follow the input level, steps from epochs', () => {
    const word = resolveTaskConfig(TASK_FIELDS, { inputLevel: 'word' })
    const char = resolveTaskConfig(TASK_FIELDS, { inputLevel: 'char' })
    assert.equal(word.lowercase, true)
    assert.equal(word.embedding, 64)
    assert.equal(char.lowercase, false)
    assert.equal(char.embedding, 0)
    assert.equal(totalSteps({ steps: 0, epochs: 3, batch: 32 }, 100), 12)
    assert.equal(totalSteps({ steps: 7, epochs: 3, batch: 32 }, 100), 7)
  })
})

describe('README', () => {
  test('the text-classification example runs as written and prints what its comments say', () => {
    const readme = readFileSync(resolve('README.md'), 'utf8')
    const block = /### Library: text classification\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)
    assert.ok(block, 'README has the example')
    const dir = mkdtempSync(join(tmpdir(), 'recur-readme-classify-'))
    try {
      const code = block[1]!
        .replace("from 'recur'", `from ${JSON.stringify(resolve('src/index.ts'))}`)
        .replace("'sentiment.recur'", JSON.stringify(join(dir, 'sentiment.recur')))
      const file = join(dir, 'example.mts')
      writeFileSync(file, code)
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: resolve('.'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECUR_BACKEND: 'reference' } })
      const lines = out.trim().split('\n')
      assert.deepEqual(lines.slice(0, 3).map((line) => line.split(' ')[0]), ['pos', 'pos', 'neg'], out)
      assert.ok(lines.slice(0, 3).every((line) => Number(line.split(' ')[1]) > 0.9), out)
      assert.equal(lines[3], 'accuracy 1')
      assert.ok(readFileSync(join(dir, 'sentiment.recur')).length > 0, 'the model was saved')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
