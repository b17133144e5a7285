/**
 * The `recur` command line. Parses the command, runs it, and turns every failure into one clear
 * line on stderr and a non-zero exit code: 2 for a wrong command line, 1 for anything else.
 * A stack trace is printed only for a bug (an error that is not a RecurError), or with RECUR_DEBUG=1.
 */
import { createRequire } from 'node:module'
import { RecurError } from '../errors.js'
import { defineGroup, isCommand, parseCommandLine, type CommandLine } from './args.js'
import { classifyGroup, dispatchClassify } from './classify.js'
import { benchCommand, runBench } from './bench.js'
import { signalExitCode, type Io, type StopSignal } from './common.js'
import { evalCommand, runEval } from './eval.js'
import { exportCommand, runExport } from './export.js'
import { importCommand, runImport } from './import.js'
import { infoCommand, runInfo } from './info.js'
import { memoryLimit } from './memory.js'
import { plotCommand, runPlot } from './plot.js'
import { runSample, sampleCommand } from './sample.js'
import { runScore, scoreCommand } from './score.js'
import { runTrain, trainCommand } from './train.js'
import { dispatchTag, tagGroup } from './tag.js'
import { dispatchTranslate, translateGroup } from './translate.js'

/**
 * The sequence-task command groups (`recur classify ...`) and their runners: a runner returns
 * null for a command line that is not its group's. Add a task by adding its group and runner here.
 */
const TASK_GROUPS = [classifyGroup, tagGroup, translateGroup] as const
const TASK_RUNNERS: readonly ((line: CommandLine, io: Io) => Promise<number> | null)[] = [dispatchClassify, dispatchTag, dispatchTranslate]

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

export const program = defineGroup({
  name: 'recur',
  summary: 'Recurrent sequence models (RNN, GRU, LSTM): train, sample, evaluate and score',
  version,
  commands: [trainCommand, sampleCommand, evalCommand, scoreCommand, infoCommand, plotCommand, ...TASK_GROUPS, exportCommand, importCommand, benchCommand],
  examples: [
    { command: 'recur train', description: 'train a character-level LSTM on Moby Dick (a few minutes)' },
    { command: 'recur sample runs/moby-dick/model.recur', description: 'then generate text from it' },
  ],
})

type Values = Record<string, string | number | boolean | undefined>

/** Runs the command line `argv` (without `node recur`) and returns the exit code. */
export async function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
  const full: Io = {
    out: io.out ?? process.stdout,
    err: io.err ?? process.stderr,
    env: io.env ?? process.env,
    interrupted: io.interrupted ?? { value: false },
    ...(io.readStdin === undefined ? {} : { readStdin: io.readStdin }),
  }
  const onSignal = (name: NodeJS.Signals) => {
    const signal: StopSignal = name === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
    if (full.interrupted.value) process.exit(signalExitCode(signal)) // a second one quits at once: 130 for SIGINT, 143 for SIGTERM
    full.interrupted.value = true
    full.interrupted.signal = signal
    full.err.write('\nStopping after this step and saving a checkpoint (Ctrl-C again to quit now)...\n')
  }
  const installHandlers = io.interrupted === undefined
  if (installHandlers) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  try {
    const line = parseCommandLine(program, argv, { width: full.out.columns ?? 80 })
    if (line.kind === 'help') {
      ;(line.requested ? full.out : full.err).write(line.text)
      return line.requested ? 0 : 2
    }
    if (line.kind === 'version') {
      full.out.write(line.text)
      return 0
    }
    const values = line.values as Values
    // A --max-memory that is not a size fails now, not after a long corpus has been read.
    if (values['maxMemory'] !== undefined) memoryLimit(values['maxMemory'] as string)
    const positionals = line.positionals as Record<string, string | string[] | undefined>
    if (isCommand(line, trainCommand)) return await runTrain(values, line.given, full)
    if (isCommand(line, sampleCommand)) return await runSample(positionals['model'] as string, values, full)
    if (isCommand(line, evalCommand)) return await runEval(positionals['model'] as string, values, full)
    if (isCommand(line, scoreCommand)) return await runScore(positionals['model'] as string, positionals['text'] as string[], values, full)
    if (isCommand(line, infoCommand)) return await runInfo(positionals['model'] as string | undefined, values, full)
    if (isCommand(line, plotCommand)) return await runPlot(positionals['log'] as string, values, full)
    if (isCommand(line, benchCommand)) return await runBench((positionals['workloads'] as string[] | undefined) ?? [], values, full)
    if (isCommand(line, exportCommand)) return await runExport(positionals['model'] as string, values, full)
    if (isCommand(line, importCommand)) return await runImport(positionals['weights'] as string, values, full)
    for (const run of TASK_RUNNERS) {
      const running = run(line, full)
      if (running !== null) return await running
    }
    throw new RecurError('OPTION', `command '${line.path.join(' ')}' is not implemented`)
  } catch (error) {
    if (error instanceof RecurError) {
      full.err.write(`recur: error: ${oneLine(error.message)}\n`)
      if (full.env['RECUR_DEBUG']) full.err.write(`${error.stack}\n`)
      return error.code === 'OPTION' ? 2 : 1
    }
    full.err.write(`recur: internal error: ${error instanceof Error ? error.message : String(error)}\n`)
    full.err.write(`${error instanceof Error ? error.stack : ''}\nThis is a bug in recur; please report it with the command you ran.\n`)
    return 70
  } finally {
    if (installHandlers) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

/**
 * An error message as one printable line: line breaks and other control characters (from a file
 * name or a file's bytes quoted in the message) become spaces, so the error stays one line.
 */
export function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
}
