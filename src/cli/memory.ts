/**
 * `--dry-run` and `--max-memory` of the training commands: the memory a run needs (worked out by
 * `src/train/memory.ts` from the configuration), printed as a table, or compared with a limit
 * before any of it is allocated.
 *
 * The limit, stated once:
 * - `--max-memory SIZE`: 4G, 512M, 1.5G, 2048K or plain bytes; binary units (G = 1024³ bytes, as
 *   for `java -Xmx` and Docker). `--max-memory 0` turns the check off.
 * - Default: 75% of the machine's memory (the smaller of the physical memory and a container's
 *   limit), which leaves a quarter for the system and the programs beside recur.
 * - What is compared: the estimate plus what this process already holds (its resident set when
 *   the check runs: Node.js, the code, the corpus's token ids).
 */
import { totalmem } from 'node:os'

import type { TrainConfig } from '../config.js'
import { RecurError } from '../errors.js'
import type { Kernels } from '../kernels/types.js'
import type { LanguageModelArchitecture } from '../models/language-model.js'
import type { OptimizerKind } from '../train/optimizers.js'
import { predictionBatches } from '../tasks/common.js'
import { encoderShapeBytes, estimateLanguageModelTraining, largestRow, parseMemorySize, type EncoderMemoryArchitecture, type MemoryEstimate } from '../train/memory.js'
import type { FlagSpec } from './args.js'
import type { Io } from './common.js'
import { formatBytes, formatTable } from './format.js'

/** Share of the machine's memory that a run may use when no --max-memory is given. */
export const DEFAULT_MEMORY_FRACTION = 0.75

export const dryRunFlag: FlagSpec = {
  name: 'dry-run', type: 'boolean',
  description: 'Print the memory the run needs (parameters, gradients, optimizer state, activations, workspace) and exit without training',
}

export const maxMemoryFlag: FlagSpec = {
  name: 'max-memory', type: 'string', placeholder: 'size',
  description: "Refuse a run that needs more memory than this, e.g. 4G or 512M; 0 = no limit [default: 75% of this machine's memory]",
}

/** --dry-run and --max-memory, for a training command's flags. */
export const memoryFlags: readonly FlagSpec[] = [dryRunFlag, maxMemoryFlag]

/** A run's memory estimate with what the messages need to describe it. */
export interface TrainingMemory {
  /** The run in a few words: "char-level LSTM, 2 x 256, vocabulary 93, 32 x 64 tokens per step". */
  readonly what: string
  readonly estimate: MemoryEstimate
  /** What shrinks each row ("lower --batch (32) or --seq-length (64)"), by row name. */
  readonly advice: Readonly<Record<string, string>>
}

/** The memory limit in bytes (null: no limit) and where it comes from. */
export interface MemoryLimit {
  readonly bytes: number | null
  readonly source: string
}

/** The machine's memory: the physical memory, or a container's limit when that is smaller. */
export function machineMemory(): { bytes: number; what: string } {
  const physical = totalmem()
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0
  if (constrained > 0 && constrained < physical) return { bytes: constrained, what: "the container's memory limit" }
  return { bytes: physical, what: "this machine's memory" }
}

/**
 * The limit of `--max-memory` (a size, or 0 for none), or the default share of the machine's memory.
 * @throws RecurError 'OPTION' for a value that is not a size.
 */
export function memoryLimit(value: string | undefined): MemoryLimit {
  if (value === undefined) {
    const machine = machineMemory()
    return { bytes: Math.floor(machine.bytes * DEFAULT_MEMORY_FRACTION), source: `${DEFAULT_MEMORY_FRACTION * 100}% of ${machine.what}, ${formatBytes(machine.bytes)}` }
  }
  const bytes = parseMemorySize(value)
  if (bytes === null) throw new RecurError('OPTION', `--max-memory must be a size such as 4G, 512M or 0 (no limit), got '${value}'`)
  return bytes === 0 ? { bytes: null, source: '--max-memory 0' } : { bytes, source: `--max-memory ${value}` }
}

/**
 * The memory step of a training command. With --dry-run: prints the estimate (a table on stdout,
 * or one JSON object with --json) and returns true, and the command exits 0 without training.
 * Otherwise returns false, after checking the estimate plus this process's present size against
 * the limit.
 * @throws RecurError 'OPTION' for a bad --max-memory; 'RANGE' when the run needs more than the
 *   limit, naming the figure, the largest part and the flags that shrink it.
 */
export function checkTrainingMemory(memory: TrainingMemory, values: Readonly<Record<string, unknown>>, io: Io): boolean {
  const limit = memoryLimit(values['maxMemory'] as string | undefined)
  const present = process.memoryUsage().rss
  const needed = memory.estimate.total + present
  const fits = limit.bytes === null || needed <= limit.bytes
  if (values['dryRun'] === true) {
    printEstimate(memory, present, needed, limit, fits, values['json'] === true, io)
    return true
  }
  if (fits) return false
  const largest = largestRow(memory.estimate)
  throw new RecurError(
    'RANGE',
    `this training run needs about ${formatBytes(needed)} of memory (the largest part: ${largest.name}, ${formatBytes(largest.bytes)}), ` +
      `more than the limit of ${formatBytes(limit.bytes!)} (${limit.source})`,
    `To fit, ${memory.advice[largest.name] ?? 'choose a smaller model'}, or raise --max-memory; --dry-run lists every part`,
  )
}

function printEstimate(memory: TrainingMemory, present: number, needed: number, limit: MemoryLimit, fits: boolean, json: boolean, io: Io): void {
  const { estimate } = memory
  if (json) {
    io.out.write(`${JSON.stringify({
      dryRun: true, run: memory.what, parameters: estimate.parameters,
      rows: estimate.rows.map((row) => ({ name: row.name, bytes: row.bytes, detail: row.detail })),
      process: present, total: needed, limit: limit.bytes, limitSource: limit.source, fits,
    })}\n`)
    return
  }
  const rows = estimate.rows.map((row) => [row.name, formatBytes(row.bytes), row.detail])
  rows.push(['this process now', formatBytes(present), 'Node.js, the code and the data read so far'])
  rows.push(['total', formatBytes(needed), ''])
  const verdict = limit.bytes === null
    ? 'no limit (--max-memory 0)'
    : `${formatBytes(limit.bytes)} (${limit.source}): ${fits ? 'fits' : 'too much, the run would be refused'}`
  io.out.write(`Memory for ${memory.what}:\n`)
  io.out.write(`${formatTable(rows, { indent: 2, align: ['left', 'right', 'left'] })}\n`)
  io.out.write(`Limit ${verdict}\n`)
  io.out.write('Dry run: nothing was trained.\n')
}

/** The memory of `recur train` with `config` on `kernels` (`ids` corpus tokens, `validation` of them held out). */
export function languageModelMemory(config: TrainConfig, architecture: LanguageModelArchitecture, kernels: Kernels, ids: number, validation: number, json: boolean): TrainingMemory {
  const a = architecture
  const estimate = estimateLanguageModelTraining({
    architecture: a, batch: config.batch, seqLength: config.seqLength, optimizer: config.optimizer,
    bytesPerValue: kernels.precision === 'f64' ? 8 : 4, corpusTokens: ids, validationTokens: validation,
    validationSubset: config.valTokens, sampling: config.sampleEvery > 0 && !json,
  })
  const size = `lower --hidden (${a.hidden}) or --layers (${a.layers}), or cap the vocabulary with --vocab-size (now ${a.vocabularySize} tokens)`
  const window = `lower --batch (${config.batch}) or --seq-length (${config.seqLength})`
  return {
    what: `a ${config.level}-level ${a.cell.toUpperCase()}, ${a.layers} x ${a.hidden}, vocabulary ${a.vocabularySize.toLocaleString('en')}, ` +
      `${config.batch} x ${config.seqLength} tokens per step, ${config.optimizer}, on ${kernels.name} (${kernels.precision})`,
    estimate,
    advice: {
      parameters: size, gradients: size, checkpoint: size,
      'optimizer state': `${size}, or use --optimizer sgd (one moment per weight instead of two)`,
      activations: window,
      workspace: `${window}, or cap the vocabulary with --vocab-size (now ${a.vocabularySize} tokens)`,
      'validation and sampling': `cap the vocabulary with --vocab-size (now ${a.vocabularySize} tokens: validation reads windows of 128 x ${a.vocabularySize} logits), or lower --val-tokens (${config.valTokens})`,
      'token ids': 'train on a shorter text',
    },
  }
}

/** An input a task model is about to read: its length in tokens, and where it is (for messages). */
export interface ModelInput {
  readonly length: number
  readonly where: string
}

/** What the input check needs of a task model. */
export interface InputMemoryModel {
  /** The recurrent encoder that reads the inputs. */
  readonly encoder: EncoderMemoryArchitecture
  /** Values per (t,b) position besides the encoder: the batch's ids and mask, the head's buffers. */
  readonly perPosition: number
  /** Inputs per batch. */
  readonly batch: number
  readonly kernels: Kernels
}

/**
 * Refuses inputs that would need more memory than the limit (`--max-memory`, default 75% of the
 * machine's) before the model reads them: a recurrent model keeps buffers of T x B x (a few
 * gate widths) for every batch shape (T,B) it reads, so one input of a million tokens can need
 * gigabytes. The figure is the sum over the distinct shapes of the batches the model will make
 * (each shape's buffers are made once and kept), plus this process's present size.
 * @throws RecurError 'OPTION' for a bad --max-memory; 'RANGE' naming the longest input and what to do.
 */
export function checkInputMemory(command: string, model: InputMemoryModel, inputs: readonly ModelInput[], maxMemory: string | undefined): void {
  const limit = memoryLimit(maxMemory)
  if (limit.bytes === null || inputs.length === 0) return
  const f = model.kernels.precision === 'f64' ? 8 : 4
  const lengths = inputs.map((input) => input.length)
  const shapes = new Set<string>()
  let needed = process.memoryUsage().rss
  for (const indices of predictionBatches(lengths, model.batch)) {
    const T = Math.max(...indices.map((i) => lengths[i]!))
    const key = `${T}x${indices.length}`
    if (shapes.has(key)) continue
    shapes.add(key)
    needed += encoderShapeBytes(model.encoder, T, indices.length, f, model.perPosition)
  }
  if (needed <= limit.bytes) return
  const longest = inputs.reduce((best, input) => (input.length > best.length ? input : best))
  throw new RecurError(
    'RANGE',
    `${command}: reading these inputs needs about ${formatBytes(needed)} of memory, more than the limit of ${formatBytes(limit.bytes)} (${limit.source}); ` +
      `the longest, ${longest.where}, has ${longest.length.toLocaleString('en')} tokens`,
    'Split long inputs into shorter ones, or raise --max-memory',
  )
}

/** One recurrent part of a task model (the encoder; a decoder) and the lengths of what it reads. */
export interface TaskMemoryPart {
  readonly encoder: EncoderMemoryArchitecture
  /** Values per (t,b) position besides the recurrent layers (batch buffers, a head, logits). */
  readonly perPosition: number
  /** The length of every training and validation example this part reads, after any cut. */
  readonly lengths: readonly number[]
}

/**
 * The memory of training a task model (classify, tag, translate) with `parameters` values: the
 * parameters, their gradients and optimizer moments; the buffers of the batches, counted at
 * most: the model keeps the buffers of every batch shape (T,B) it meets, and length-bucketed
 * batches of `batch` examples meet about one shape per distinct example length, so the figure is
 * the sum over the distinct lengths; and a checkpoint being written.
 */
export function taskTrainingMemory(what: string, parameters: number, optimizer: OptimizerKind, parts: readonly TaskMemoryPart[], batch: number, kernels: Kernels, advice: { size: string; batches: string }): TrainingMemory {
  const f = kernels.precision === 'f64' ? 8 : 4
  const P = parameters
  const moments = optimizer === 'sgd' ? 1 : 2
  let buffers = 0
  let shapes = 0
  for (const part of parts) {
    const B = Math.max(1, Math.min(batch, part.lengths.length))
    for (const T of new Set(part.lengths)) {
      buffers += encoderShapeBytes(part.encoder, T, B, f, part.perPosition)
      shapes++
    }
  }
  const rows = [
    { name: 'parameters', bytes: P * f, detail: `${P.toLocaleString('en')} values x ${f} bytes` },
    { name: 'gradients', bytes: P * f, detail: `${P.toLocaleString('en')} values x ${f} bytes` },
    { name: 'optimizer state', bytes: moments * P * f, detail: `${moments} moment${moments === 1 ? '' : 's'} (${optimizer}) x ${P.toLocaleString('en')} values` },
    { name: 'activations and workspace', bytes: buffers, detail: `at most: the buffers of ${shapes} batch shapes (one per distinct example length), ${batch} examples each` },
    { name: 'checkpoint', bytes: 3 * (P + moments * P) * 4, detail: 'the weights and moments read back, copied and encoded, while saving' },
  ]
  const size = advice.size
  return {
    what,
    estimate: { rows, total: rows.reduce((sum, row) => sum + row.bytes, 0), parameters: P, backendBytes: (2 + moments) * P * f + buffers },
    advice: {
      parameters: size, gradients: size, checkpoint: size,
      'optimizer state': `${size}, or use --optimizer sgd (one moment per weight instead of two)`,
      'activations and workspace': advice.batches,
    },
  }
}

/** What shrinks a task model's memory: its size, and its batches (`cut`: the flag that cuts long examples, if the task has one). */
export function taskAdvice(config: { hidden: number; layers: number; vocabSize: number; batch: number }, cut: string | null): { size: string; batches: string } {
  return {
    size: `lower --hidden (${config.hidden}) or --layers (${config.layers}), or cap the vocabulary with --vocab-size${config.vocabSize > 0 ? ` (now ${config.vocabSize})` : ''}`,
    batches: `lower --batch (${config.batch})${cut === null ? ', or drop the longest examples' : `, or cut long examples with ${cut}`}`,
  }
}
