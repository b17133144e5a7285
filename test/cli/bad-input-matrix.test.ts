/**
 * The bad-input matrix: every `recur` command against every kind of bad input it can be given:
 * a missing, empty, binary or non-UTF-8 file, a file of the wrong format, wrong field names,
 * labels the model does not know, numbers out of range or not numbers at all, a model of the
 * wrong kind, a truncated model. Every case must end the same way:
 *
 * - a non-zero exit: 2 for a mistake on the command line, 1 for a bad file or value;
 * - nothing on stdout, and exactly one line on stderr, `recur: error: <problem>. <fix>`, that
 *   names the file or flag at fault and says what to do (a hint sentence, or what is allowed);
 * - no stack trace, and not reported as a bug in recur;
 * - no file left behind or changed: the working folder is compared before and after each case.
 *
 * The commands run in this process (`main` with collecting streams and an injected standard
 * input), on the f32 reference backend, so the whole matrix takes a few seconds.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { program } from '../../src/cli/main.js'
import type { CommandGroup, CommandSpec, FlagSpec } from '../../src/cli/args.js'
import { runCli, stackLines, syntheticCorpus } from '../helpers/lm.js'

/** Runs `recur ...argv` in this process; standard input holds `stdin` (default: nothing). */
const recur = (argv: readonly string[], stdin = '') => runCli(argv, { stdin })

let dir: string
const path = (name: string) => join(dir, name)

/** Every file and folder under `root` with its size and modification time. */
function snapshot(root: string): Map<string, string> {
  const entries = new Map<string, string>()
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const full = join(folder, name)
      const stats = statSync(full)
      entries.set(full, stats.isDirectory() ? 'dir' : `${stats.size}:${stats.mtimeMs}`)
      if (stats.isDirectory()) walk(full)
    }
  }
  walk(root)
  return entries
}

/** What an error line must hold besides the problem: a hint sentence, or what is allowed. */
const NAMES_A_FIX = /\. \S|must be|expected|Did you mean|needs? /

/**
 * One case of the matrix: runs it and checks the shape of the failure. `mentions`: the file or
 * flag the message must name (default: the basename of every path in argv that names a fixture).
 */
let casesRun = 0

async function fails(argv: readonly string[], options: { code?: 1 | 2; mentions?: RegExp; stdin?: string } = {}): Promise<void> {
  casesRun++
  const what = `recur ${argv.map((a) => a.replace(dir, '$DIR')).join(' ')}`
  const before = snapshot(dir)
  const r = await recur(argv, options.stdin)
  assert.notEqual(r.code, 0, `${what}: must fail (stderr: ${r.err})`)
  if (options.code !== undefined) assert.equal(r.code, options.code, `${what}: exit code (stderr: ${r.err})`)
  assert.equal(r.out, '', `${what}: nothing on stdout`)
  assert.match(r.err, /^recur: error: [^\n]+\n$/, `${what}: exactly one error line, got ${JSON.stringify(r.err)}`)
  assert.deepEqual(stackLines(r.err), [], `${what}: no stack trace`)
  assert.doesNotMatch(r.err, /internal error|bug in recur|Error: |undefined|\[object /, `${what}: a clear message, not a bug report`)
  assert.match(r.err, NAMES_A_FIX, `${what}: the message says what to do: ${r.err}`)
  if (options.mentions !== undefined) assert.match(r.err, options.mentions, `${what}: names the problem`)
  assert.deepEqual(snapshot(dir), before, `${what}: no file written, changed or left behind`)
}

/** The file name as a pattern, for `mentions`. */
function named(file: string): RegExp {
  return new RegExp(basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
}

// ---------------------------------------------------------------------------------------------
// Fixtures: good models of every kind, and bad files of every kind.

const tinyLm = ['--hidden', '6', '--batch', '2', '--seq-length', '8', '--steps', '2', '--sample-every', '0']
const tinyTask = ['--hidden', '6', '--embedding', '4', '--batch', '4', '--steps', '2', '--checkpoint-every', '0']

const MODELS = { lm: 'lm.recur', classifier: 'classifier.recur', tagger: 'tagger.recur', seq2seq: 'seq2seq.recur' } as const
type ModelKind = keyof typeof MODELS

/** Files that are bad for any reader: name -> content. */
const BAD_FILES: Record<string, string | Uint8Array> = {
  'empty.txt': '',
  'binary.bin': new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x10, 0x0a]),
  'latin1.txt': Buffer.from('caf\xe9 au lait, cr\xe8me br\xfbl\xe9e\n'.repeat(20), 'latin1'),
  'blank.txt': '  \n\t\n\n',
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recur-bad-input-'))
  writeFileSync(path('corpus.txt'), syntheticCorpus(60))
  for (const [name, content] of Object.entries(BAD_FILES)) writeFileSync(path(name), content)
  const classify = Array.from({ length: 24 }, (_, i) => ({ text: i % 2 === 0 ? `the cat sat ${i}` : `a dog ran ${i}`, label: i % 2 === 0 ? 'cat' : 'dog' }))
  writeFileSync(path('classify.jsonl'), classify.map((r) => JSON.stringify(r)).join('\n') + '\n')
  writeFileSync(path('classify.csv'), `text,label\n${classify.map((r) => `${r.text},${r.label}`).join('\n')}\n`)
  const tag = Array.from({ length: 24 }, (_, i) => ({ text: i % 2 === 0 ? 'ada met bob' : 'bob saw ada today', tags: i % 2 === 0 ? 'B-PER O B-PER' : 'B-PER O B-PER O' }))
  writeFileSync(path('tag.jsonl'), tag.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const pairs = Array.from({ length: 24 }, (_, i) => ({ text: `${i} plus one`, target: String(i + 1) }))
  writeFileSync(path('translate.jsonl'), pairs.map((r) => JSON.stringify(r)).join('\n') + '\n')
  // Wrong format: CSV text in a .jsonl file, JSON lines in a .csv file, a dataset with other field names.
  writeFileSync(path('csv-as.jsonl'), 'text,label\nthe cat,cat\na dog,dog\n')
  writeFileSync(path('jsonl-as.csv'), '{"text": "the cat", "label": "cat"}\n{"text": "a dog", "label": "dog"}\n')
  writeFileSync(path('other-fields.jsonl'), '{"sentence": "the cat", "class": "cat", "tokens": "x"}\n{"sentence": "a dog", "class": "dog", "tokens": "y"}\n')
  // Labels the models do not know.
  writeFileSync(path('unknown-label.jsonl'), '{"text": "the cat sat", "label": "bird"}\n')
  writeFileSync(path('unknown-tag.jsonl'), '{"text": "ada met bob", "tags": "B-PER O B-LOC"}\n')
  // Logs: one that is a dataset, not a training log.
  writeFileSync(path('not-a-log.csv'), 'name,value\na,1\nb,2\n')
  writeFileSync(path('config-bad.json'), '{"vocabulary": [1, 2, 3], "level": "syllable"}')

  const trained = [
    await recur(['train', '--corpus', path('corpus.txt'), ...tinyLm, '--out', path(MODELS.lm)]),
    await recur(['classify', 'train', '--data', path('classify.jsonl'), ...tinyTask, '--out', path(MODELS.classifier)]),
    await recur(['tag', 'train', '--data', path('tag.jsonl'), ...tinyTask, '--out', path(MODELS.tagger)]),
    await recur(['translate', 'train', '--data', path('translate.jsonl'), ...tinyTask, '--out', path(MODELS.seq2seq)]),
    await recur(['export', path(MODELS.lm), '--format', 'safetensors', '--out', path('lm.safetensors')]),
  ]
  trained.forEach((r, i) => assert.equal(r.code, 0, `fixture ${i}: ${r.err}`))
  const lm = readFileSync(path(MODELS.lm))
  writeFileSync(path('truncated-header.recur'), lm.subarray(0, 40))
  writeFileSync(path('truncated.recur'), lm.subarray(0, lm.length - 100))
  const weights = readFileSync(path('lm.safetensors'))
  writeFileSync(path('truncated.safetensors'), weights.subarray(0, Math.floor(weights.length / 2)))
  mkdirSync(path('folder'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** Model files that no model-reading command may accept. */
function badModels(): [string, RegExp][] {
  return [
    [path('missing.recur'), /missing\.recur does not exist/],
    [path('empty.txt'), /empty\.txt/],
    [path('binary.bin'), /binary\.bin/],
    [path('latin1.txt'), /latin1\.txt/],
    [path('corpus.txt'), /corpus\.txt.*not a recur model file/],
    [path('lm.safetensors'), /lm\.safetensors.*not a recur model file/],
    [path('truncated-header.recur'), /truncated-header\.recur.*truncated/],
    [path('truncated.recur'), /truncated\.recur.*(truncated|corrupt)/],
    [path('folder'), /folder is a directory/],
  ]
}

/** Text inputs (corpora, datasets) that no reader may accept. */
function badTextFiles(): [string, RegExp][] {
  return [
    [path('missing.txt'), /missing\.txt/],
    [path('empty.txt'), /empty\.txt is empty/],
    [path('binary.bin'), /binary\.bin.*(binary|NUL)/],
    [path('latin1.txt'), /latin1\.txt is not valid UTF-8/],
    [path('folder'), /folder is a directory/],
  ]
}

/** The same bad files, named as datasets (the format comes from the extension). */
function badDatasets(): [string, RegExp][] {
  const copies: [string, RegExp][] = [[path('missing.jsonl'), /missing\.jsonl/]]
  for (const [source, name] of [['empty.txt', 'empty.jsonl'], ['binary.bin', 'binary.jsonl'], ['latin1.txt', 'latin1.csv'], ['blank.txt', 'blank.tsv']] as const) {
    writeFileSync(path(name), readFileSync(path(source)))
    copies.push([path(name), named(name)])
  }
  copies.push([path('csv-as.jsonl'), /csv-as\.jsonl line 1/], [path('jsonl-as.csv'), /jsonl-as\.csv/])
  return copies
}

// ---------------------------------------------------------------------------------------------
// Files

describe('language-model commands, bad model files', () => {
  const commands = (model: string): string[][] => [
    ['sample', model, '--length', '3'], ['eval', model], ['score', model, 'the cat'], ['info', model],
    ['train', '--resume', model, '--steps', '5', '--corpus', path('corpus.txt')], ['export', model, '--format', 'onnx', '--out', path('out.onnx')],
    ['export', model, '--format', 'safetensors', '--out', path('out.safetensors')],
  ]
  for (const [file, mentions] of badModels()) {
    test(basename(file), async () => {
      for (const argv of commands(file)) await fails(argv, { code: 1, mentions })
    })
  }
})

describe('task commands, bad model files', () => {
  for (const task of ['classify', 'tag', 'translate']) {
    test(task, async () => {
      for (const [file, mentions] of badModels()) {
        await fails([task, 'predict', file, 'some text'], { code: 1, mentions })
        await fails([task, 'eval', file, '--data', path(`${task}.jsonl`)], { code: 1, mentions })
      }
    })
  }
})

describe('a model of the wrong kind', () => {
  const other = (kind: ModelKind) => path(MODELS[kind])

  test('a task model to the language-model commands', async () => {
    for (const kind of ['classifier', 'tagger', 'seq2seq'] as const) {
      const mentions = new RegExp(`kind "${kind}".*language-model`)
      for (const argv of [['sample', other(kind)], ['eval', other(kind)], ['score', other(kind), 'the cat'], ['info', other(kind)], ['train', '--resume', other(kind), '--steps', '5']]) {
        await fails(argv, { code: 1, mentions })
      }
    }
  })

  test('a language model or another task model to a task command', async () => {
    const expected = { classify: 'classifier', tag: 'tagger', translate: 'seq2seq' } as const
    for (const [task, kind] of Object.entries(expected)) {
      for (const wrong of Object.keys(MODELS) as ModelKind[]) {
        if (wrong === kind) continue
        const mentions = /kind "[a-z0-9-]+".*expected|is a [a-z-]+ model|expected a/
        await fails([task, 'predict', other(wrong), 'some text'], { code: 1, mentions })
        await fails([task, 'eval', other(wrong), '--data', path(`${task}.jsonl`)], { code: 1, mentions })
      }
    }
  })

  test('export of a model to safetensors that safetensors cannot hold; import of a recur model', async () => {
    await fails(['export', other('classifier'), '--format', 'safetensors', '--out', path('c.safetensors')], { mentions: /classifier/ })
    await fails(['import', other('lm'), '--out', path('imported.recur')], { code: 1, mentions: /lm\.recur/ })
  })
})

describe('corpora and datasets', () => {
  test('recur train --corpus and recur eval --corpus', async () => {
    for (const [file, mentions] of [...badTextFiles(), [path('blank.txt'), /blank\.txt holds only whitespace/] as [string, RegExp]]) {
      await fails(['train', '--corpus', file, ...tinyLm, '--out', path('never.recur')], { code: 1, mentions })
      await fails(['eval', path(MODELS.lm), '--corpus', file], { code: 1, mentions })
    }
  })

  test('task training data and validation data', async () => {
    for (const task of ['classify', 'tag', 'translate']) {
      for (const [file, mentions] of badDatasets()) {
        await fails([task, 'train', '--data', file, ...tinyTask, '--out', path('never.recur')], { code: 1, mentions })
        await fails([task, 'train', '--data', path(`${task}.jsonl`), '--valid', file, ...tinyTask, '--out', path('never.recur')], { code: 1, mentions })
      }
    }
  })

  test('task eval and predict data', async () => {
    for (const [task, kind] of [['classify', 'classifier'], ['tag', 'tagger'], ['translate', 'seq2seq']] as const) {
      for (const [file, mentions] of badDatasets()) {
        await fails([task, 'eval', path(MODELS[kind]), '--data', file], { code: 1, mentions })
        await fails([task, 'predict', path(MODELS[kind]), '--data', file], { code: 1, mentions })
      }
      for (const [file, mentions] of badTextFiles()) {
        // A .txt file is read as one input per line.
        if (file.endsWith('.txt')) await fails([task, 'predict', path(MODELS[kind]), '--data', file], { code: 1, mentions })
      }
      await fails([task, 'predict', path(MODELS[kind])], { code: 1, stdin: '', mentions: /stdin|standard input|no input/ })
      await fails([task, 'predict', path(MODELS[kind])], { code: 1, stdin: ' \n\n', mentions: /stdin|standard input|no input/ })
    }
  })

  test('wrong field names', async () => {
    for (const [task, kind] of [['classify', 'classifier'], ['tag', 'tagger'], ['translate', 'seq2seq']] as const) {
      const data = path(`${task}.jsonl`)
      await fails([task, 'train', '--data', path('other-fields.jsonl'), ...tinyTask, '--out', path('never.recur')], { code: 1, mentions: /field/ })
      await fails([task, 'train', '--data', data, '--input-field', 'txt', ...tinyTask, '--out', path('never.recur')], { code: 1, mentions: /"txt"/ })
      await fails([task, 'eval', path(MODELS[kind]), '--data', path('other-fields.jsonl')], { code: 1, mentions: /field/ })
      await fails([task, 'eval', path(MODELS[kind]), '--data', data, '--input-field', 'txt'], { code: 1, mentions: /"txt"/ })
      await fails([task, 'predict', path(MODELS[kind]), '--data', path('other-fields.jsonl')], { code: 1, mentions: /field/ })
      await fails([task, 'predict', path(MODELS[kind])], { code: 1, stdin: '{"sentence": "the cat"}\n', mentions: /field/ })
    }
    await fails(['classify', 'train', '--data', path('classify.jsonl'), '--label-field', 'lable', ...tinyTask, '--out', path('never.recur')], { code: 1, mentions: /"lable".*did you mean "label"/i })
    await fails(['translate', 'train', '--data', path('translate.jsonl'), '--target-field', 'tagret', ...tinyTask, '--out', path('never.recur')], { code: 1, mentions: /"tagret"/ })
  })

  test('labels the model does not know', async () => {
    await fails(['classify', 'eval', path(MODELS.classifier), '--data', path('unknown-label.jsonl')], { code: 1, mentions: /unknown-label\.jsonl line 1.*"bird"/ })
    await fails(['tag', 'eval', path(MODELS.tagger), '--data', path('unknown-tag.jsonl')], { code: 1, mentions: /unknown-tag\.jsonl line 1.*"B-LOC"/ })
  })

  test('recur plot: a missing, empty, binary or foreign log', async () => {
    const logs = [path('missing.log.csv'), path('folder'), path('not-a-log.csv'), path('classify.jsonl'), path('empty.txt')]
    for (const [source, name] of [['empty.txt', 'empty.log.csv'], ['binary.bin', 'binary.log.csv'], ['latin1.txt', 'latin1.log.jsonl'], ['blank.txt', 'blank.log.csv']] as const) {
      writeFileSync(path(name), readFileSync(path(source)))
      logs.push(path(name))
    }
    for (const file of logs) await fails(['plot', file, '--out', path('plot.svg')], { code: 1, mentions: named(file) })
  })

  test('recur import: bad weights and bad configs', async () => {
    const files = [...badTextFiles().map(([file]) => file), path('corpus.txt')]
    for (const file of [...files, path('truncated.safetensors')]) {
      await fails(['import', file, '--out', path('imported.recur')], { code: 1, mentions: named(file) })
    }
    for (const file of [...files, path('config-bad.json')]) {
      await fails(['import', path('lm.safetensors'), '--config', file, '--out', path('imported.recur')], { code: 1, mentions: named(file) })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Flags: every number and enum flag of every command, generated from the command specs.

/** Every command of `group` with the words that reach it. */
function leafCommands(group: CommandGroup, prefix: string[] = []): { words: string[]; spec: CommandSpec }[] {
  return group.commands.flatMap((entry) =>
    'commands' in entry ? leafCommands(entry, [...prefix, entry.name]) : [{ words: [...prefix, entry.name], spec: entry }],
  )
}

/** Values each flag must refuse: not a number, below its minimum, above its maximum; not one of an enum's values. */
function badValues(flag: FlagSpec): string[] {
  if (flag.type === 'enum') return ['nope']
  if (flag.type === 'boolean') return ['maybe']
  if (flag.type === 'string') return []
  const values = ['abc', '1x', 'NaN', 'Infinity']
  if (flag.min !== undefined) values.push(String(flag.min - (flag.type === 'int' ? 1 : Math.max(1, Math.abs(flag.min)))))
  if (flag.max !== undefined) values.push(String(flag.max + 1))
  if (flag.type === 'int') values.push('2.5')
  return values
}

describe('flag values', () => {
  const commands = leafCommands(program)

  test('the matrix covers every command', () => {
    const names = commands.map((c) => c.words.join(' ')).sort()
    assert.deepEqual(names, [
      'bench', 'classify eval', 'classify predict', 'classify train', 'eval', 'export', 'import', 'info', 'plot', 'sample', 'score',
      'tag eval', 'tag predict', 'tag train', 'train', 'translate eval', 'translate predict', 'translate train',
    ])
  })

  for (const { words, spec } of commands) {
    test(`recur ${words.join(' ')}: out-of-range and non-numeric values`, async () => {
      for (const flag of spec.flags) {
        for (const value of badValues(flag)) {
          const written = flag.type === 'boolean' ? [`--${flag.name}=${value}`] : [`--${flag.name}`, value]
          await fails([...words, ...written], { code: 2, mentions: new RegExp(`--${flag.name}`) })
        }
      }
      await fails([...words, '--no-such-flag'], { code: 2, mentions: /--no-such-flag/ })
    })
  }

  test('--max-memory that is not a size', async () => {
    for (const words of [['train'], ['classify', 'train'], ['tag', 'train'], ['translate', 'train']]) {
      for (const value of ['lots', '-1G', '4X', '1e9']) {
        await fails([...words, `--max-memory=${value}`], { code: 2, mentions: /--max-memory must be a size/ })
      }
    }
  })

  test('values the parser accepts but the command cannot use', async () => {
    await fails(['bench', 'W9'], { code: 2, mentions: /W9/ })
    await fails(['sample', path(MODELS.lm), '--prime', 'Zebra'], { code: 1, mentions: /"Z"/ })
    await fails(['score', path(MODELS.lm), ''], { code: 1, mentions: /nothing to score/ })
    await fails(['classify', 'train', '--data', path('classify.jsonl'), '--dense', '8,x', '--out', path('never.recur')], { code: 2, mentions: /--dense/ })
    await fails(['train', '--corpus', path('corpus.txt'), '--batch', '4000', '--seq-length', '64', '--out', path('never.recur')], { code: 1, mentions: /--batch|--seq-length/ })
    await fails(['train', '--corpus', path('corpus.txt'), ...tinyLm, '--max-memory', '1M', '--out', path('never.recur')], { code: 1, mentions: /--max-memory/ })
  })
})

test('the matrix ran every case', () => {
  // Each case is one command line; a smaller count means a table above lost rows.
  assert.ok(casesRun >= 1000, `only ${casesRun} cases`)
})
