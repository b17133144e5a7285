/**
 * The flag parser: every way a command line can be wrong gives a RecurError 'OPTION' with one
 * line that names the flag and the value; help text lists every flag with its default.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { RecurError } from '../../src/errors.js'
import {
  closestMatch,
  defineCommand,
  defineGroup,
  editDistance,
  formatGroupHelp,
  formatHelp,
  isCommand,
  parseArgs,
  parseCommandLine,
  type CommandSpec,
} from '../../src/cli/args.js'

const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a character-level language model on a text file.',
  usage: '<corpus> [flags]',
  positionals: [{ name: 'corpus', description: 'UTF-8 text file to learn from' }],
  flags: [
    { name: 'cell', type: 'enum', values: ['rnn', 'gru', 'lstm'], default: 'lstm', description: 'Recurrent cell' },
    { name: 'hidden', type: 'int', default: 128, min: 1, description: 'Hidden units per layer' },
    { name: 'seq-length', type: 'int', default: 64, min: 1, max: 4096, description: 'Characters per training sequence' },
    { name: 'lr', type: 'number', default: 0.002, min: 0, description: 'Learning rate' },
    { name: 'dropout', type: 'number', default: 0, min: 0, max: 1, description: 'Dropout between layers' },
    { name: 'out', type: 'string', placeholder: 'path', description: 'Where to write the model' },
    { name: 'prompt', type: 'string', default: '', description: 'Text to start samples with' },
    { name: 'shuffle', type: 'boolean', default: true, description: 'Shuffle the batches every epoch' },
    { name: 'verbose', type: 'boolean', description: 'Print more' },
    { name: 'seed', type: 'int', description: 'Random seed' },
  ],
  examples: [
    'recur train shakespeare.txt --cell gru',
    { command: 'recur train tiny.txt --hidden 32', description: 'A quick smoke test' },
  ],
})

const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'Generate text from a trained model.',
  usage: '<model> [prompt...] [flags]',
  positionals: [
    { name: 'model', description: 'Model file' },
    { name: 'prompt', description: 'Words to start from', optional: true, variadic: true },
  ],
  flags: [{ name: 'length', type: 'int', default: 200, min: 1, description: 'Characters to generate' }],
})

const classifyTrain = defineCommand({ name: 'train', summary: 'Train a sequence classifier.', usage: '[flags]', flags: [] })
const classifyEval = defineCommand({
  name: 'eval',
  summary: 'Evaluate a classifier.',
  usage: '<model> [flags]',
  positionals: [{ name: 'model', description: 'Model file' }],
  flags: [],
})

const program = defineGroup({
  name: 'recur',
  summary: 'Recurrent sequence models: train, sample, classify.',
  version: '0.1.0',
  commands: [
    trainCommand,
    sampleCommand,
    { name: 'classify', summary: 'Sequence classification.', commands: [classifyTrain, classifyEval] },
  ],
})

/** Runs `fn`, which must throw a RecurError 'OPTION', and returns its one-line message. */
function optionError(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof RecurError, `expected a RecurError, got ${String(error)}`)
    assert.equal(error.code, 'OPTION')
    assert.ok(!error.message.includes('\n'), `message is one line: ${error.message}`)
    return error.message
  }
  assert.fail('expected an error')
}

function parsed(argv: readonly string[]) {
  const result = parseArgs(trainCommand, argv)
  assert.equal(result.help, false)
  if (result.help) throw new Error('unreachable')
  return result
}

test('defaults are applied and values are keyed by camelCase name', () => {
  const result = parsed(['corpus.txt'])
  assert.deepEqual(result.values, {
    cell: 'lstm',
    hidden: 128,
    seqLength: 64,
    lr: 0.002,
    dropout: 0,
    out: undefined,
    prompt: '',
    shuffle: true,
    verbose: false,
    seed: undefined,
  })
  assert.deepEqual(result.positionals, { corpus: 'corpus.txt' })
  assert.equal(result.given.size, 0)
})

test('--name value, --name=value, booleans, --no-flag and given', () => {
  const result = parsed(['--hidden', '256', 'corpus.txt', '--seq-length=100', '--cell', 'gru', '--no-shuffle', '--verbose', '--lr=1e-3'])
  assert.equal(result.values.hidden, 256)
  assert.equal(result.values.seqLength, 100)
  assert.equal(result.values.cell, 'gru')
  assert.equal(result.values.shuffle, false)
  assert.equal(result.values.verbose, true)
  assert.equal(result.values.lr, 0.001)
  assert.deepEqual([...result.given].sort(), ['cell', 'hidden', 'lr', 'seqLength', 'shuffle', 'verbose'])
})

test('typed values: the compiler knows each flag type', () => {
  const result = parsed(['c.txt'])
  const hidden: number = result.values.hidden
  const cell: 'rnn' | 'gru' | 'lstm' = result.values.cell
  const out: string | undefined = result.values.out
  const shuffle: boolean = result.values.shuffle
  const corpus: string = result.positionals.corpus
  // @ts-expect-error: no such flag
  assert.equal(result.values.hiden, undefined)
  assert.deepEqual([hidden, cell, out, shuffle, corpus], [128, 'lstm', undefined, true, 'c.txt'])
})

test('boolean with an explicit value, last value wins, enum case is forgiven', () => {
  assert.equal(parsed(['c', '--shuffle=false']).values.shuffle, false)
  assert.equal(parsed(['c', '--verbose=yes']).values.verbose, true)
  assert.equal(parsed(['c', '--hidden', '8', '--hidden', '16']).values.hidden, 16)
  assert.equal(parsed(['c', '--cell', 'GRU']).values.cell, 'gru')
})

test('-- ends the flags; "-" is a value; a negative number is a number value', () => {
  const result = parsed(['--out', '-', '--', '--not-a-flag'])
  assert.equal(result.values.out, '-')
  assert.equal(result.positionals.corpus, '--not-a-flag')
  assert.equal(parseArgs(defineCommand({ name: 'x', summary: 's', usage: '', flags: [{ name: 'shift', type: 'number', description: 'd' }] }), ['--shift', '-0.5']).help, false)
})

test('--help and -h win over everything else, even errors', () => {
  assert.deepEqual(parseArgs(trainCommand, ['--help']), { help: true })
  assert.deepEqual(parseArgs(trainCommand, ['--hidden', '0', '-h']), { help: true })
  assert.deepEqual(parseArgs(trainCommand, ['--bogus', '--help']), { help: true })
  // After --, -h is an argument.
  assert.equal(parseArgs(trainCommand, ['--', '-h']).help, false)
})

test('unknown flag: suggestion by edit distance, spelling and prefix', () => {
  assert.equal(
    optionError(() => parseArgs(trainCommand, ['c', '--seq-lenght', '3'])),
    'unknown flag --seq-lenght for recur train. Did you mean --seq-length?',
  )
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--seqLength=3'])), /Did you mean --seq-length\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--seq_length=3'])), /Did you mean --seq-length\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--hiden', '3'])), /Did you mean --hidden\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--shufle'])), /Did you mean --shuffle\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--no-shufle'])), /Did you mean --no-shuffle\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--verb'])), /Did you mean --verbose\?$/)
  assert.equal(
    optionError(() => parseArgs(trainCommand, ['c', '--temperature', '1'])),
    'unknown flag --temperature for recur train. Run `recur train --help` to see the flags',
  )
})

test('single-dash flags other than -h are unknown, with the double-dash spelling suggested', () => {
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '-hidden', '3'])), /^unknown flag -hidden for recur train\. Did you mean --hidden\?$/)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '-x'])), /^unknown flag -x /)
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--no-hidden'])), /^unknown flag --no-hidden /)
})

test('missing value', () => {
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--hidden'])), '--hidden needs a value (an integer >= 1). Write --hidden <n>')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--out', '--verbose'])), '--out needs a value (a path). Write --out <path>')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--out='])), '--out needs a value (a path). Write --out <path>')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--cell'])), '--cell needs a value (one of rnn, gru, lstm). Write --cell <rnn|gru|lstm>')
  assert.equal(
    optionError(() => parseArgs(trainCommand, ['c', '--prompt', '-dash'])),
    "--prompt needs a value (a string). Write --prompt=-dash to pass a value that starts with '-'",
  )
  assert.match(optionError(() => parseArgs(trainCommand, ['c', '--hidden', '--', '3'])), /^--hidden needs a value/)
})

test('not a number, not an integer, out of range', () => {
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--hidden', 'abc'])), "--hidden must be an integer >= 1, got 'abc'")
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--hidden', '12.5'])), '--hidden must be an integer >= 1, got 12.5')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--hidden', '0'])), '--hidden must be an integer >= 1, got 0')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--hidden=-3'])), '--hidden must be an integer >= 1, got -3')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--seq-length', '5000'])), '--seq-length must be an integer from 1 to 4096, got 5000')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--dropout', '1.5'])), '--dropout must be a number from 0 to 1, got 1.5')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--lr', '-1'])), '--lr must be a number >= 0, got -1')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--lr', '0x10'])), "--lr must be a number >= 0, got '0x10'")
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--lr', '1e999'])), '--lr must be a number >= 0, got 1e999')
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--seed', 'x'])), "--seed must be an integer, got 'x'")
})

test('bad enum value lists the allowed values and suggests the closest', () => {
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--cell', 'lstn'])), "--cell must be one of rnn, gru, lstm, got 'lstn'. Did you mean lstm?")
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--cell', 'transformer'])), "--cell must be one of rnn, gru, lstm, got 'transformer'")
})

test('bad boolean values', () => {
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--shuffle=maybe'])), "--shuffle must be true or false, got 'maybe'. Write --shuffle or --no-shuffle")
  assert.equal(optionError(() => parseArgs(trainCommand, ['c', '--no-shuffle=1'])), '--no-shuffle takes no value, got --no-shuffle=1. Write --shuffle or --no-shuffle')
})

test('positionals: missing, unexpected, optional and variadic', () => {
  assert.equal(
    optionError(() => parseArgs(trainCommand, [])),
    'missing argument <corpus>: UTF-8 text file to learn from. Usage: recur train <corpus> [flags]',
  )
  assert.equal(optionError(() => parseArgs(trainCommand, ['a.txt', 'b.txt'])), "unexpected argument 'b.txt'. recur train takes one argument: <corpus>")
  assert.equal(optionError(() => parseArgs(trainCommand, ['a.txt', 'hidden', '3'])), "unexpected argument 'hidden'. Did you mean --hidden?")
  assert.equal(optionError(() => parseArgs(classifyTrain, ['x'], { path: 'recur classify train' })), "unexpected argument 'x'. recur classify train takes no positional arguments")

  const none = parseArgs(sampleCommand, ['m.recur'])
  const some = parseArgs(sampleCommand, ['m.recur', 'To', 'be', '--length', '5'])
  assert.ok(!none.help && !some.help)
  assert.deepEqual(none.positionals, { model: 'm.recur', prompt: [] })
  assert.deepEqual(some.positionals, { model: 'm.recur', prompt: ['To', 'be'] })
  assert.equal(some.values.length, 5)
})

test('a malformed spec is reported on first use', () => {
  const specError = (spec: CommandSpec): string => optionError(() => parseArgs(spec, []))
  const base = { name: 'bad', summary: 's', usage: '' }
  assert.match(specError({ ...base, flags: [{ name: 'a', type: 'int', description: 'd' }, { name: 'a', type: 'int', description: 'd' }] }), /--a is defined twice/)
  assert.match(specError({ ...base, flags: [{ name: 'help', type: 'boolean', description: 'd' }] }), /--help is defined twice \(or is the reserved --help\)/)
  assert.match(specError({ ...base, flags: [{ name: 'Bad_Name', type: 'int', description: 'd' }] }), /must be kebab-case/)
  assert.match(specError({ ...base, flags: [{ name: 'cell', type: 'enum', description: 'd' }] }), /needs a non-empty 'values'/)
  assert.match(specError({ ...base, flags: [{ name: 'cell', type: 'enum', values: ['a'], default: 'b', description: 'd' }] }), /default b of --cell is not one of a/)
  assert.match(specError({ ...base, flags: [{ name: 'n', type: 'int', min: 1, default: 0, description: 'd' }] }), /default 0 of --n is not an integer >= 1/)
  assert.match(specError({ ...base, flags: [{ name: 'n', type: 'int', default: 'x', description: 'd' }] }), /default of --n must be a number/)
  assert.match(specError({ ...base, flags: [{ name: 's', type: 'string', min: 1, description: 'd' }] }), /has min\/max but is not a number/)
  assert.match(
    specError({ ...base, flags: [{ name: 'x', type: 'boolean', description: 'd' }, { name: 'no-x', type: 'boolean', description: 'd' }] }),
    /--no-x clashes/,
  )
  assert.match(
    specError({ ...base, flags: [], positionals: [{ name: 'a', description: 'd', variadic: true }, { name: 'b', description: 'd' }] }),
    /variadic <a> must be last/,
  )
  assert.match(
    specError({ ...base, flags: [], positionals: [{ name: 'a', description: 'd', optional: true }, { name: 'b', description: 'd' }] }),
    /required <b> comes after optional <a>/,
  )
})

test('formatHelp: usage, summary, every flag with its default, range and allowed values, examples', () => {
  const help = formatHelp(trainCommand)
  assert.ok(help.startsWith('Usage: recur train <corpus> [flags]\n\nTrain a character-level language model on a text file.\n'))
  assert.ok(help.endsWith('\n') && !help.endsWith('\n\n'))
  for (const flag of trainCommand.flags) assert.ok(help.includes(`--${flag.name}`) || help.includes(`--[no-]${flag.name}`), flag.name)
  assert.match(help, /--cell <rnn\|gru\|lstm> +Recurrent cell \[default: lstm\]/)
  assert.match(help, /--hidden <n> +Hidden units per layer \[default: 128, at least 1\]/)
  assert.match(help, /--lr <x> +Learning rate \[default: 0\.002, at least 0\]/)
  assert.match(help, /--dropout <x> +Dropout between layers \[default: 0, 0 to 1\]/)
  assert.match(help, /--out <path> +Where to write the model\n/)
  assert.match(help, /--prompt <value> +Text to start samples with \[default: ""\]/)
  assert.match(help, /--\[no-\]shuffle +Shuffle the batches every epoch \[default: on\]/)
  assert.match(help, /--verbose +Print more\n/)
  assert.match(help, /-h, --help +Show this help/)
  assert.match(help, /Arguments:\n  <corpus> +UTF-8 text file to learn from/)
  assert.match(help, /Examples:\n  recur train shakespeare\.txt --cell gru\n\n  # A quick smoke test\n  recur train tiny\.txt --hidden 32\n$/)
})

test('formatHelp aligns descriptions in one column and wraps within the width', () => {
  const help = formatHelp(trainCommand, { width: 60 })
  for (const lineText of help.split('\n')) assert.ok(lineText.length <= 60, `too wide: ${lineText}`)
  const flagLines = help.split('Flags:\n')[1]!.split('\n\n')[0]!.split('\n')
  assert.ok(flagLines.length > trainCommand.flags.length + 1, 'some descriptions wrapped at 60 columns')
  // Where each description (or its continuation) starts: after the label and two spaces.
  const starts = flagLines.map((l) => (/^ {2}-/.test(l) ? /^ {2}\S+(?: \S+)* {2,}/.exec(l)![0].length : l.search(/\S/)))
  assert.equal(new Set(starts).size, 1, `one description column: ${JSON.stringify(flagLines)}`)
  // The bracketed notes stay together when wrapped.
  assert.ok(help.includes('[default: 64, 1 to 4096]'))
})

test('an enum with many values is listed in the description instead of the placeholder', () => {
  const spec = defineCommand({
    name: 'x',
    summary: 's',
    usage: '',
    flags: [{ name: 'backend', type: 'enum', values: ['reference', 'native-simd', 'webgpu', 'wasm'], default: 'reference', description: 'Backend' }],
  })
  assert.match(formatHelp(spec), /--backend <backend> +Backend\s+\[default: reference, one of: reference,\s+native-simd, webgpu, wasm\]/)
  for (const lineText of formatHelp(spec).split('\n')) assert.ok(lineText.length <= 80, `too wide: ${lineText}`)
})

test('parseCommandLine: commands, nested groups and typed narrowing', () => {
  const line = parseCommandLine(program, ['train', 'c.txt', '--hidden', '64'])
  assert.equal(line.kind, 'command')
  assert.ok(isCommand(line, trainCommand))
  assert.ok(!isCommand(line, sampleCommand))
  const hidden: number = line.values.hidden
  assert.equal(hidden, 64)
  assert.deepEqual(line.path, ['recur', 'train'])

  const nested = parseCommandLine(program, ['classify', 'eval', 'm.recur'])
  assert.ok(isCommand(nested, classifyEval))
  assert.deepEqual(nested.path, ['recur', 'classify', 'eval'])
  assert.deepEqual(nested.positionals, { model: 'm.recur' })
})

test('parseCommandLine: help in all its forms, and --version', () => {
  const top = parseCommandLine(program, ['--help'])
  assert.ok(top.kind === 'help' && top.requested)
  assert.match(top.text, /^Usage: recur <command> \[flags\]\n/)
  assert.match(top.text, /Commands:\n  train +Train a character-level language model on a text file\.\n  sample +Generate text/)
  assert.match(top.text, /  classify train +Train a sequence classifier\.\n  classify eval +Evaluate a classifier\./)
  assert.match(top.text, /--version +Print the version/)
  assert.match(top.text, /Run `recur <command> --help` for the flags of a command\.\n$/)

  const bare = parseCommandLine(program, [])
  assert.ok(bare.kind === 'help' && !bare.requested)
  assert.equal(bare.text, top.text)

  const group = parseCommandLine(program, ['classify'])
  assert.ok(group.kind === 'help' && !group.requested)
  assert.match(group.text, /^Usage: recur classify <command> \[flags\]\n/)
  assert.match(group.text, /Commands:\n  train +Train a sequence classifier\.\n  eval +Evaluate/)
  assert.doesNotMatch(group.text, /--version/)

  const command = parseCommandLine(program, ['classify', 'eval', '--help'])
  assert.ok(command.kind === 'help' && command.requested)
  assert.match(command.text, /^Usage: recur classify eval <model> \[flags\]\n/)
  assert.deepEqual(command.path, ['recur', 'classify', 'eval'])

  const helpWord = parseCommandLine(program, ['help', 'classify', 'eval'])
  assert.ok(helpWord.kind === 'help' && helpWord.requested)
  assert.equal(helpWord.text, command.text)
  assert.equal(parseCommandLine(program, ['help']).kind, 'help')
  assert.equal(parseCommandLine(program, ['train', '-h']).kind, 'help')

  assert.deepEqual(parseCommandLine(program, ['--version']), { kind: 'version', text: 'recur 0.1.0\n' })
})

test('parseCommandLine: unknown commands and flags before the command', () => {
  assert.equal(
    optionError(() => parseCommandLine(program, ['trian'])),
    "unknown command 'trian' for recur. Did you mean 'recur train'? Run `recur --help` to list the commands",
  )
  assert.equal(
    optionError(() => parseCommandLine(program, ['eval'])),
    "unknown command 'eval' for recur. Did you mean 'recur classify eval'? Run `recur --help` to list the commands",
  )
  assert.equal(
    optionError(() => parseCommandLine(program, ['classify', 'evl'])),
    "unknown command 'evl' for recur classify. Did you mean 'recur classify eval'? Run `recur classify --help` to list the commands",
  )
  assert.equal(optionError(() => parseCommandLine(program, ['frobnicate'])), "unknown command 'frobnicate' for recur. Run `recur --help` to list the commands")
  assert.equal(optionError(() => parseCommandLine(program, ['help', 'nope'])), "unknown command 'nope' for recur. Run `recur --help` to list the commands")
  assert.equal(optionError(() => parseCommandLine(program, ['--hidden', '3'])), 'expected a command before --hidden. Run `recur --help` to list the commands')
  // Flag errors name the full command path.
  assert.equal(
    optionError(() => parseCommandLine(program, ['classify', 'train', '--bogus'])),
    'unknown flag --bogus for recur classify train. Run `recur classify train --help` to see the flags',
  )
  const duplicate = { name: 'p', summary: 's', commands: [classifyTrain, classifyTrain] }
  assert.match(optionError(() => parseCommandLine(duplicate, ['train'])), /command 'train' is defined twice/)
})

test('formatGroupHelp honours the path', () => {
  assert.match(formatGroupHelp(program, { path: 'npx recur' }), /^Usage: npx recur <command> \[flags\]/)
})

test('edit distance and closest match', () => {
  assert.equal(editDistance('', 'abc'), 3)
  assert.equal(editDistance('kitten', 'sitting'), 3)
  assert.equal(editDistance('lenght', 'length'), 1)
  assert.equal(closestMatch('lstn', ['rnn', 'gru', 'lstm']), 'lstm')
  assert.equal(closestMatch('xyz', ['rnn', 'gru', 'lstm']), undefined)
  assert.equal(closestMatch('', ['a']), undefined)
  assert.equal(closestMatch('SeqLength', ['seq-length', 'hidden']), 'seq-length')
})
