/**
 * Sequence tagging end to end through the library API (src/tasks/tag.ts), on data drawn here from
 * a seeded Random, on the f32 reference backend.
 *
 * The learning tests use tags that depend on later tokens, so a model that reads only the past
 * cannot know them: a bidirectional encoder must reach 95% token accuracy and a unidirectional one
 * must stay clearly below it (both are asserted).
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
import { TextTagger, trainTagger, type TagExample } from '../../src/tasks/tag.js'

const kernels = new ReferenceKernels('f32')
const COLOURS = ['red', 'green', 'blue', 'gold']
const small = { inputLevel: 'word', hidden: 16, embedding: 8, lr: 0.01, batch: 32, seed: 1 } as const

/** Sentences of 4-9 colour words; each word's tag is the next word in capitals (END for the last). */
function nextWordData(n: number, seed: number): TagExample[] {
  const random = new Random(seed)
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 4 + random.int(6) }, () => COLOURS[random.int(COLOURS.length)]!)
    return { input: words.join(' '), tags: words.map((_, t) => words[t + 1]?.toUpperCase() ?? 'END').join(' ') }
  })
}

/** The same sentences; a word is tagged 1 when the next word is 'red', else 0 (a binary tag). */
function beforeRedData(n: number, seed: number): TagExample[] {
  const random = new Random(seed)
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 4 + random.int(6) }, () => COLOURS[random.int(COLOURS.length)]!)
    return { input: words, tags: words.map((_, t) => (words[t + 1] === 'red' ? '1' : '0')) }
  })
}

/**
 * BIO entities whose type is given by the word after them: "we met acme stone corp today" tags
 * "acme stone" B-ORG I-ORG because 'corp' follows; 'river' after a name makes it a LOC.
 */
function entityData(n: number, seed: number): TagExample[] {
  const random = new Random(seed)
  const filler = ['we', 'saw', 'the', 'near', 'today', 'went', 'to', 'and', 'then', 'met']
  const names = ['acme', 'stone', 'north', 'grand', 'silver', 'oak']
  return Array.from({ length: n }, () => {
    const words: string[] = []
    const tags: string[] = []
    const add = (word: string, tag: string) => {
      words.push(word)
      tags.push(tag)
    }
    for (let i = random.int(4); i > 0; i--) add(filler[random.int(filler.length)]!, 'O')
    const type = random.uniform() < 0.5 ? 'ORG' : 'LOC'
    const length = 1 + random.int(2)
    for (let i = 0; i < length; i++) add(names[random.int(names.length)]!, `${i === 0 ? 'B' : 'I'}-${type}`)
    add(type === 'ORG' ? 'corp' : 'river', 'O')
    for (let i = random.int(4); i > 0; i--) add(filler[random.int(filler.length)]!, 'O')
    return { input: words.join(' '), tags: tags.join(' ') }
  })
}

describe('tagger learning test: tags that depend on the next word', () => {
  const train = nextWordData(600, 1)
  const heldOut = nextWordData(300, 2)

  test('bidirectional: >= 95% token accuracy within 300 steps; unidirectional: <= 50% (it cannot see the next word)', async () => {
    const bi = await trainTagger(train, { kernels, config: { ...small, steps: 300 } })
    const uni = await trainTagger(train, { kernels, config: { ...small, steps: 300, bidirectional: false } })
    assert.equal(bi.tagger.model.architecture.bidirectional, true, 'bidirectional by default')
    assert.equal(bi.tagger.binary, false)
    assert.deepEqual(bi.tagger.labels.labels, ['BLUE', 'END', 'GOLD', 'GREEN', 'RED'])
    const biScore = (await bi.tagger.evaluate(heldOut)).tokenAccuracy
    const uniScore = (await uni.tagger.evaluate(heldOut)).tokenAccuracy
    assert.ok(biScore >= 0.95, `bidirectional token accuracy ${biScore}`)
    assert.ok(uniScore <= 0.5, `unidirectional token accuracy ${uniScore}`)
  })
})

describe('binary tags: one sigmoid per token with the per-step binary cross-entropy', () => {
  test("tags exactly '0'/'1' choose the sigmoid; bidirectional >= 95% within 300 steps, unidirectional clearly lower", async () => {
    const train = beforeRedData(600, 3)
    const heldOut = beforeRedData(300, 4)
    const bi = await trainTagger(train, { kernels, config: { ...small, steps: 300 } })
    const uni = await trainTagger(train, { kernels, config: { ...small, steps: 300, bidirectional: false } })
    assert.equal(bi.tagger.binary, true)
    assert.equal(bi.tagger.model.architecture.output, 'sigmoid')
    assert.equal(bi.tagger.model.architecture.tags, 1)
    const biScore = (await bi.tagger.evaluate(heldOut)).tokenAccuracy
    const uniScore = (await uni.tagger.evaluate(heldOut)).tokenAccuracy
    assert.ok(biScore >= 0.95, `bidirectional token accuracy ${biScore}`)
    // A word is followed by 'red' a quarter of the time: the best guess without the future is '0'.
    assert.ok(uniScore <= 0.85, `unidirectional token accuracy ${uniScore}`)
    const [p] = await bi.tagger.predict(['blue red gold red'])
    assert.deepEqual(p!.tags, ['1', '0', '1', '0'])
    assert.ok(p!.probabilities.every((q) => q >= 0.5 && q <= 1))
  })
})

describe('BIO entities typed by the word after them', () => {
  test('bidirectional: entity F1 >= 0.95 and token accuracy >= 95% within 300 steps; unidirectional: entity F1 <= 0.75', async () => {
    const train = entityData(600, 5)
    const heldOut = entityData(300, 6)
    const bi = await trainTagger(train, { kernels, config: { ...small, steps: 300 } })
    const uni = await trainTagger(train, { kernels, config: { ...small, steps: 300, bidirectional: false } })
    const biResult = await bi.tagger.evaluate(heldOut)
    const uniResult = await uni.tagger.evaluate(heldOut)
    assert.ok(biResult.entities !== null && uniResult.entities !== null, 'BIO tags give entity scores')
    assert.ok(biResult.tokenAccuracy >= 0.95, `bidirectional token accuracy ${biResult.tokenAccuracy}`)
    assert.ok(biResult.entities.f1 >= 0.95, `bidirectional entity F1 ${biResult.entities.f1}`)
    assert.ok(uniResult.entities.f1 <= 0.75, `unidirectional entity F1 ${uniResult.entities.f1}`)
    assert.ok(uniResult.tokenAccuracy < biResult.tokenAccuracy - 0.05, `unidirectional ${uniResult.tokenAccuracy} vs bidirectional ${biResult.tokenAccuracy}`)
    assert.deepEqual([...biResult.entities.perType.keys()], ['LOC', 'ORG'])
  })
})

describe('TextTagger', () => {
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'recur-tag-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('save and load give the same tags; tokens come back as written', async () => {
    const { tagger } = await trainTagger(nextWordData(64, 7), { kernels, config: { hidden: 8, steps: 5 } })
    const path = join(dir, 'tagger.recur')
    await tagger.save(path)
    const loaded = await TextTagger.load(path, kernels)
    const inputs = ['Red GREEN blue', ['gold', 'red'], 'purple red']
    const predictions = await loaded.predict(inputs)
    assert.deepEqual(predictions, await tagger.predict(inputs))
    assert.deepEqual(predictions[0]!.tokens, ['Red', 'GREEN', 'blue'])
    assert.equal(predictions[0]!.tags.length, 3)
    assert.equal(loaded.binary, false)
    assert.equal(loaded.model.architecture.bidirectional, true)
    // Padding changes nothing: each input alone gives the tags and probabilities it gets in the batch.
    for (let i = 0; i < inputs.length; i++) {
      const [alone] = await loaded.predict([inputs[i]!])
      assert.deepEqual(alone!.tags, predictions[i]!.tags)
      alone!.probabilities.forEach((p, t) => assert.ok(Math.abs(p - predictions[i]!.probabilities[t]!) < 1e-5))
    }
  })

  test('char level: one tag per character', async () => {
    const examples = [{ input: 'ab', tags: 'x y' }, { input: 'ba', tags: ['y', 'x'] }]
    const { tagger } = await trainTagger(examples, { kernels, config: { inputLevel: 'char', hidden: 4, steps: 2 } })
    const [p] = await tagger.predict(['abba'])
    assert.deepEqual(p!.tokens, ['a', 'b', 'b', 'a'])
    assert.equal(p!.tags.length, 4)
  })

  test('clear errors: tag count differs from token count, unknown tag at evaluation, binary with three tags', async () => {
    await assert.rejects(
      trainTagger([{ input: 'red blue gold', tags: 'O O', where: 'ner.jsonl line 3' }], { kernels }),
      (e: unknown) => e instanceof RecurError && e.code === 'DATA' && /ner\.jsonl line 3: 2 tags for 3 input tokens/.test(e.message),
    )
    const { tagger } = await trainTagger([{ input: 'a b', tags: 'O B-X' }], { kernels, config: { hidden: 4, steps: 1 } })
    await assert.rejects(tagger.evaluate([{ input: 'a b', tags: 'O B-Y', where: 'test.tsv line 2' }]), (e: unknown) => e instanceof RecurError && e.code === 'TOKEN' && /test\.tsv line 2: unknown tag "B-Y".*did you mean "B-X"/i.test(e.message))
    await assert.rejects(trainTagger([{ input: 'a b c', tags: 'x y z' }], { kernels, config: { binary: true } }), (e: unknown) => e instanceof RecurError && e.code === 'OPTION' && /exactly two tags/.test(e.message))
  })
})

describe('README', () => {
  test('the tagging example runs as written and prints what its comment says', () => {
    const readme = readFileSync(resolve('README.md'), 'utf8')
    const block = /### Library: sequence tagging\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)
    assert.ok(block, 'README has the example')
    const dir = mkdtempSync(join(tmpdir(), 'recur-readme-tag-'))
    try {
      const file = join(dir, 'example.mts')
      writeFileSync(file, block[1]!.replace("from 'recur'", `from ${JSON.stringify(resolve('src/index.ts'))}`))
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: resolve('.'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECUR_BACKEND: 'reference' } })
      const lines = out.trim().split('\n')
      assert.equal(lines[0], 'Grace/B-PER met/O Ada/B-PER in/O New/B-LOC York/I-LOC')
      assert.equal(lines[1], 'token accuracy 1 entity F1 1')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
