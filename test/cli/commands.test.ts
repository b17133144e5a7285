/**
 * The `recur` commands, run in this process through `main` with collecting output streams, on a
 * small corpus in a temporary folder and a tiny model (the f32 reference backend).
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { program } from '../../src/cli/main.js'
import type { CommandGroup, CommandSpec } from '../../src/cli/args.js'
import { scoreTokens } from '../../src/decode/sampling.js'
import { decodeModelFile } from '../../src/io/model-format.js'
import { decodeLanguageModel } from '../../src/models/language-model-file.js'
import { tokenize } from '../../src/text/tokenizers.js'
import { evaluateStream } from '../../src/train/language-model-trainer.js'
import { readTrainingLog } from '../../src/train/log.js'
import { assertSameTensors, f32, runCli, stackLines, syntheticCorpus, type CliResult } from '../helpers/lm.js'

let dir: string
let corpus: string
const tiny = ['--layers', '1', '--hidden', '8', '--batch', '2', '--seq-length', '8', '--seed', '3']

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'recur-commands-'))
  corpus = join(dir, 'corpus.txt')
  writeFileSync(corpus, syntheticCorpus(150)) // about 3.8 KB
})
after(() => rmSync(dir, { recursive: true, force: true }))

function ok(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what} exited ${result.code}: ${result.err}`)
  assert.deepEqual(stackLines(result.out + result.err), [], `${what}: no stack trace`)
}

/** Every tensor of a model file, by name. */
function tensors(path: string): Map<string, Float32Array | Int32Array> {
  const file = decodeModelFile(readFileSync(path))
  return new Map([...file.tensors].map(([name, t]) => [name, t.data]))
}

function trainingStep(path: string): number {
  return (decodeModelFile(readFileSync(path)).meta as { training: { step: number } }).training.step
}

describe('recur train', () => {
  let model: string
  let result: CliResult

  before(async () => {
    model = join(dir, 'run', 'model.recur')
    result = await runCli(['train', '--corpus', corpus, '--steps', '6', ...tiny, '--val-every', '3', '--sample-every', '3', '--checkpoint-every', '2', '--out', model])
  })

  test('exits 0 and says where the model is and what to run next', () => {
    ok(result, 'train')
    assert.equal(result.out, '', 'progress and messages go to stderr')
    assert.match(result.err, /char-level LSTM, 1 x 8/)
    assert.ok(result.err.includes(`Saved the model to ${model}`), result.err)
    assert.ok(result.err.includes(`recur sample ${model}`), result.err)
    assert.match(result.err, /step 3 .*sample: /, 'a sample every 3 steps')
  })

  test('writes the model, the CSV log and the SVG plot (and no temporary files)', () => {
    assert.equal(trainingStep(model), 6)
    const log = readTrainingLog(join(dir, 'run', 'model.log.csv'))
    assert.deepEqual(log.records.map((r) => r.step), [1, 2, 3, 4, 5, 6])
    assert.deepEqual(log.records.filter((r) => r.valLoss !== undefined).map((r) => r.step), [3, 6], 'validation every 3 steps')
    assert.ok(log.records.every((r) => Number.isFinite(r.loss) && r.loss > 0))
    const svg = readFileSync(join(dir, 'run', 'model.loss.svg'), 'utf8')
    assert.match(svg, /<svg[\s>]/)
    assert.match(svg, /<\/svg>\s*$/)
    assert.deepEqual(readdirSync(join(dir, 'run')).filter((name) => name.includes('.tmp-')), [])
  })

  test('--json prints one JSON object on stdout and nothing on stderr', async () => {
    const out = join(dir, 'json', 'model.recur')
    const r = await runCli(['train', '--corpus', corpus, '--steps', '3', ...tiny, '--sample-every', '1', '--out', out, '--json'])
    ok(r, 'train --json')
    assert.equal(r.err, '')
    assert.equal(r.out.trim().split('\n').length, 1, 'one line')
    const summary = JSON.parse(r.out) as Record<string, unknown>
    assert.equal(summary['model'], out)
    assert.equal(summary['steps'], 3)
    assert.equal(summary['stopped'], 'done')
    assert.equal(typeof summary['loss'], 'number')
    assert.equal(typeof summary['valLoss'], 'number')
    assert.ok(existsSync(summary['log'] as string) && existsSync(summary['plot'] as string))
  })

  test('a new run to the same --out starts a new log', async () => {
    const out = join(dir, 'again', 'model.recur')
    for (let i = 0; i < 2; i++) ok(await runCli(['train', '--corpus', corpus, '--steps', '2', ...tiny, '--out', out]), `run ${i}`)
    assert.deepEqual(readTrainingLog(join(dir, 'again', 'model.log.csv')).records.map((r) => r.step), [1, 2])
  })

  test('the log records the learning rate each step used', async () => {
    const out = join(dir, 'lr', 'model.recur')
    ok(await runCli(['train', '--corpus', corpus, '--steps', '4', ...tiny, '--lr', '0.01', '--schedule', 'constant', '--warmup', '2', '--out', out]), 'train')
    // Linear warm-up over 2 steps: 0.005, 0.01, then constant.
    assert.deepEqual(readTrainingLog(join(dir, 'lr', 'model.log.csv')).records.map((r) => r.lr), [0.005, 0.01, 0.01, 0.01])
  })

  test('the interrupted flag: training stops after the first step, saves a checkpoint and exits 130', async () => {
    const out = join(dir, 'interrupted', 'model.recur')
    const r = await runCli(['train', '--corpus', corpus, '--steps', '6', ...tiny, '--out', out], { interrupted: { value: true } })
    assert.equal(r.code, 130, r.err)
    assert.match(r.err, /Interrupted: checkpoint saved/)
    assert.equal(trainingStep(out), 1)
    assert.deepEqual(readTrainingLog(join(dir, 'interrupted', 'model.log.csv')).records.map((r) => r.step), [1])
  })

  test('--resume continues from the saved step and ends with the weights of an uninterrupted run', async () => {
    const out = join(dir, 'resumed', 'model.recur')
    const same = ['--steps', '6', ...tiny, '--val-every', '3', '--sample-every', '3', '--checkpoint-every', '2']
    assert.equal((await runCli(['train', '--corpus', corpus, ...same, '--out', out], { interrupted: { value: true } })).code, 130)
    // Without --corpus: the corpus recorded in the model file; without --steps: the recorded 6.
    const r = await runCli(['train', '--resume', out, '--out', out])
    ok(r, 'resume')
    assert.match(r.err, /resuming at step 1/)
    assert.ok(r.err.includes(`corpus ${corpus}`), 'trains on the recorded corpus')
    assert.equal(trainingStep(out), 6)
    assert.deepEqual(readTrainingLog(join(dir, 'resumed', 'model.log.csv')).records.map((r) => r.step), [1, 2, 3, 4, 5, 6])
    assertSameTensors(tensors(out), tensors(model), 'resumed vs uninterrupted model file')
  })

  test('--resume for more steps equals a longer uninterrupted run (constant learning rate)', async () => {
    const settings = ['--corpus', corpus, ...tiny, '--schedule', 'constant', '--dropout', '0', '--checkpoint-every', '2']
    const straight = join(dir, 'more', 'straight.recur')
    const resumed = join(dir, 'more', 'resumed.recur')
    ok(await runCli(['train', ...settings, '--steps', '7', '--out', straight]), 'straight')
    ok(await runCli(['train', ...settings, '--steps', '4', '--out', resumed]), 'first part')
    const r = await runCli(['train', '--resume', resumed, '--corpus', corpus, '--steps', '7', '--out', resumed, '--json'])
    ok(r, 'resume')
    assert.equal((JSON.parse(r.out) as { steps: number }).steps, 7)
    assertSameTensors(tensors(resumed), tensors(straight), 'resumed vs uninterrupted model file')
  })

  test('a 2-layer GRU with dropout at word level trains and resumes bit-identically too', async () => {
    const settings = ['--corpus', corpus, '--cell', 'gru', '--layers', '2', '--dropout', '0.3', '--level', 'word', '--hidden', '6', '--embedding', '5', '--batch', '2', '--seq-length', '4', '--steps', '5']
    const straight = join(dir, 'word', 'straight.recur')
    const resumed = join(dir, 'word', 'resumed.recur')
    ok(await runCli(['train', ...settings, '--out', straight]), 'straight')
    assert.equal((await runCli(['train', ...settings, '--out', resumed], { interrupted: { value: true } })).code, 130)
    ok(await runCli(['train', '--resume', resumed]), 'resume (model written back to the resumed file)')
    assertSameTensors(tensors(resumed), tensors(straight), 'word-level GRU')
  })

  describe('commands on the trained model', () => {
    test('sample: the same seed gives the same text; --prime is printed first; --json', async () => {
      const a = await runCli(['sample', model, '--length', '40', '--seed', '4'])
      const b = await runCli(['sample', model, '--length', '40', '--seed', '4'])
      ok(a, 'sample')
      assert.equal(a.err, '')
      assert.equal(b.out, a.out)
      assert.ok(a.out.endsWith('\n') && a.out.length > 1)
      const others = await Promise.all(['5', '6', '7'].map(async (seed) => (await runCli(['sample', model, '--length', '40', '--seed', seed])).out))
      assert.equal(new Set([a.out, ...others]).size, 4, 'other seeds, other samples')

      const primed = await runCli(['sample', model, '--prime', 'the cat', '--length', '20', '--seed', '4'])
      ok(primed, 'sample --prime')
      assert.ok(primed.out.startsWith('the cat'), primed.out)
      const json = await runCli(['sample', model, '--prime', 'the cat', '--length', '20', '--seed', '4', '--json'])
      ok(json, 'sample --json')
      assert.equal(json.out.trim().split('\n').length, 1)
      const parsed = JSON.parse(json.out) as { prime: string; text: string; tokens: number; seed: number }
      assert.equal(parsed.prime, 'the cat')
      assert.equal(parsed.seed, 4)
      assert.ok(parsed.tokens <= 20)
      assert.equal(`${parsed.prime}${parsed.text}\n`, primed.out, 'the JSON text is what the plain output streamed after the prime')
    })

    test('sample: --greedy, --top-k, --top-p, --temperature and --no-resample-unk are accepted', async () => {
      const greedy = await runCli(['sample', model, '--greedy', '--length', '15'])
      ok(greedy, 'greedy')
      assert.equal((await runCli(['sample', model, '--top-k', '1', '--length', '15', '--seed', '9'])).out, greedy.out, 'top-k 1 is greedy')
      for (const flags of [['--top-p', '0.9'], ['--temperature', '0.5'], ['--no-resample-unk'], ['--no-stop-at-eos'], ['--unknown', 'unk', '--prime', 'Q!']]) {
        ok(await runCli(['sample', model, '--length', '10', ...flags]), flags.join(' '))
      }
    })

    test('eval with no --corpus measures the held-out text recorded in the model, as one stream', async () => {
      const r = await runCli(['eval', model, '--json'])
      ok(r, 'eval --json')
      const result = JSON.parse(r.out) as { source: string; tokens: number; predictions: number; loss: number; perplexity: number; bitsPerToken: number; unit: string }
      const bundle = decodeLanguageModel(readFileSync(model), f32())
      const expected = await evaluateStream(bundle.model, bundle.validationIds!, { streams: 1, window: 256 })
      assert.equal(result.tokens, bundle.validationIds!.length)
      assert.equal(result.predictions, result.tokens - 1)
      assert.equal(result.loss, expected.loss)
      assert.equal(result.perplexity, Math.exp(result.loss))
      assert.equal(result.bitsPerToken, result.loss / Math.LN2)
      assert.equal(result.unit, 'character')
      const text = await runCli(['eval', model])
      ok(text, 'eval')
      assert.match(text.out, /mean loss\s+\d+\.\d+ nats/)
      assert.match(text.out, /perplexity\s+\d+\.\d+/)
      assert.match(text.out, /bits per character\s+\d+\.\d+/)
    })

    test('eval --corpus measures another text', async () => {
      const other = join(dir, 'other.txt')
      const otherText = 'the cat looked at the sea.\nthe old man found a tree.\n'
      writeFileSync(other, otherText)
      const r = await runCli(['eval', model, '--corpus', other, '--json'])
      ok(r, 'eval --corpus')
      const result = JSON.parse(r.out) as { source: string; tokens: number; loss: number; perplexity: number; bitsPerToken: number }
      assert.equal(result.source, other)
      assert.equal(result.tokens, [...otherText].length)
      assert.ok(result.loss > 0 && Number.isFinite(result.perplexity) && result.bitsPerToken > 0)
    })

    test('score: the total log-probability is the sum of the per-token log-probabilities', async () => {
      const r = await runCli(['score', model, 'the', 'cat', 'sat.', '--json'])
      ok(r, 'score --json')
      const result = JSON.parse(r.out) as { text: string; tokens: { token: string; id: number; logProb: number }[]; logProb: number; log10Prob: number; meanLogProb: number; perplexity: number }
      assert.equal(result.text, 'the cat sat.')
      assert.deepEqual(result.tokens.map((t) => t.token), [...'the cat sat.'])
      const sum = result.tokens.reduce((total, t) => total + t.logProb, 0)
      assert.ok(Math.abs(result.logProb - sum) <= 1e-12 * Math.abs(sum), `${result.logProb} vs Σ ${sum}`)
      assert.ok(result.tokens.every((t) => t.logProb < 0))
      assert.equal(result.log10Prob, result.logProb / Math.LN10)
      assert.equal(result.meanLogProb, result.logProb / result.tokens.length)
      // The same numbers as the library's scoreTokens on the loaded model.
      const bundle = decodeLanguageModel(readFileSync(model), f32())
      const expected = await scoreTokens(bundle.model, bundle.vocabulary, bundle.vocabulary.encode(tokenize('the cat sat.', bundle.tokenizer)))
      assert.deepEqual(result.tokens.map((t) => t.logProb), expected.tokenLogProbs)

      const text = await runCli(['score', model, 'the cat sat.', '--tokens'])
      ok(text, 'score --tokens')
      assert.match(text.out, /log P = -\d+\.\d+ \(natural log/)
      assert.match(text.out, /"c"\s+-\d+\.\d+/)
    })

    test('info: architecture, parameters, vocabulary and training state, as text and as JSON', async () => {
      const text = await runCli(['info', model])
      ok(text, 'info')
      assert.match(text.out, /cell\s+LSTM/)
      assert.match(text.out, /layers x hidden\s+1 x 8/)
      assert.match(text.out, /trained\s+6 of 6 steps/)
      const json = await runCli(['info', model, '--json'])
      ok(json, 'info --json')
      const info = JSON.parse(json.out) as { kind: string; architecture: { hidden: number; cell: string }; parameters: number; vocabulary: { size: number; level: string }; training: { step: number; options: { batch: number } } }
      const bundle = decodeLanguageModel(readFileSync(model), f32())
      assert.equal(info.kind, 'language-model')
      assert.deepEqual(info.architecture, bundle.model.architecture)
      assert.equal(info.parameters, bundle.model.params.size)
      assert.equal(info.vocabulary.size, bundle.vocabulary.size)
      assert.equal(info.vocabulary.level, 'char')
      assert.equal(info.training.step, 6)
      assert.equal(info.training.options.batch, 2)
    })

    test('info --backends lists the backends and their state', async () => {
      const text = await runCli(['info', '--backends'])
      ok(text, 'info --backends')
      assert.match(text.out, /reference\s+\d+\s+ready/)
      const json = await runCli(['info', '--backends', '--json'], { env: {} })
      ok(json, 'info --backends --json')
      const parsed = JSON.parse(json.out) as { backends: { name: string; state: string }[]; forced: string | null }
      assert.ok(parsed.backends.some((b) => b.name === 'reference' && b.state === 'ready'))
      assert.equal(parsed.forced, null)
      const bare = await runCli(['info'])
      ok(bare, 'info with no model')
      assert.match(bare.out, /recur info <model>/)
    })

    test('plot renders the log as an SVG (default name, --out, --title, --log-scale)', async () => {
      const log = join(dir, 'run', 'model.log.csv')
      const r = await runCli(['plot', log])
      ok(r, 'plot')
      assert.match(r.err, /Wrote .*model\.log\.svg \(6 steps\)/)
      assert.match(readFileSync(join(dir, 'run', 'model.log.svg'), 'utf8'), /<svg[\s>]/)
      const out = join(dir, 'chart.svg')
      ok(await runCli(['plot', log, '--out', out, '--title', 'Tiny run', '--log-scale']), 'plot --out')
      const svg = readFileSync(out, 'utf8')
      assert.match(svg, /Tiny run/)
      assert.match(svg, /<\/svg>\s*$/)
    })
  })
})

describe('--help', () => {
  // Every command with the words that reach it: `train`, `classify train`, ...
  const commands: { words: string[]; command: CommandSpec }[] = []
  const walk = (entries: readonly (CommandSpec | CommandGroup)[], words: string[]) => {
    for (const entry of entries) {
      if ('commands' in entry) walk(entry.commands, [...words, entry.name])
      else commands.push({ words: [...words, entry.name], command: entry })
    }
  }
  walk(program.commands, [])

  test('recur --help lists every command; --version prints the version', async () => {
    const r = await runCli(['--help'])
    ok(r, '--help')
    for (const command of program.commands) assert.ok(r.out.includes(command.name), command.name)
    const version = await runCli(['--version'])
    ok(version, '--version')
    assert.match(version.out, /^recur \d+\.\d+\.\d+/)
  })

  for (const { words, command } of commands) {
    test(`recur ${words.join(' ')} --help exits 0 and documents every flag`, async () => {
      for (const argv of [[...words, '--help'], [...words, '-h'], ['help', ...words]]) {
        const r = await runCli(argv)
        ok(r, argv.join(' '))
        assert.equal(r.err, '')
        assert.ok(r.out.startsWith(`Usage: recur ${words.join(' ')}`), r.out)
        for (const flag of command.flags) {
          const shown = flag.type === 'boolean' && flag.default === true ? `--[no-]${flag.name}` : `--${flag.name}`
          assert.ok(r.out.includes(shown), `${argv.join(' ')} mentions ${shown}`)
        }
        assert.ok(r.out.includes('--help'))
      }
    })
  }
})
