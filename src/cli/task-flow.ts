/**
 * The steps that `recur classify|tag|translate train|predict|eval` take alike: reading the
 * training flags and examples, opening a trained model on the backend the flags ask for, and
 * reading what predict and eval score. Each task's command file (./classify.ts, ./tag.ts,
 * ./translate.ts) keeps what is its own: the model, the header lines, the output.
 *
 * Every task reads two fields of a dataset: the input (--input-field, default 'text') and a second
 * one, called the label field here: the label (classify), the tags (tag) or the target (translate).
 */
import type { DatasetFormat } from '../data/parse.js'
import { RecurError } from '../errors.js'
import type { TaskBundle, TaskTrainingInfo } from '../models/task-file.js'
import {
  dataFlag, loadTaskModel, modelAndTexts, readPredictInputs, readRecords, readTrainingData, recorded,
  type PredictInput, type SourcedRecord, type TaskConfig, type TaskNames,
} from '../tasks/common.js'
import type { FlagSpec, PositionalSpec } from './args.js'
import { backendFrom, type Io } from './common.js'

/** The parsed flags of a task command, by camel-case name. */
export type TaskFlagValues = Record<string, string | number | boolean | undefined>

/** The optional first argument of `recur <task> predict|eval`: the model file. */
export function modelPositional(names: TaskNames): PositionalSpec {
  return { name: 'model', description: `Model file written by recur ${names.command} train (or --model)`, optional: true }
}

/** --data of `recur <task> predict`: a file of inputs. */
export const predictDataFlag: FlagSpec = { ...dataFlag, description: 'Inputs: JSON lines, CSV, TSV, or a .txt file of one text per line (default: standard input)' }

/** A task's label field: the flag that names it and its default. */
export interface LabelField {
  /** Its key among the parsed flags: 'labelField' (--label-field) or 'targetField' (--target-field). */
  key: 'labelField' | 'targetField'
  /** The field read when the flag is not given to `train` (and the model records none). */
  default: string
}

/** The flags of `recur <task> train` that every task reads alike. */
export interface TrainingFlags {
  data: string
  valid: string | undefined
  format: DatasetFormat | undefined
  inputField: string
  /** The label, tags or target field. */
  labelField: string
  json: boolean
}

/** Makes a task's examples from dataset records and the names of their two fields. */
export type ExamplesOf<E> = (records: readonly SourcedRecord[], inputField: string, labelField: string) => E[]

/**
 * The flags of `recur <task> train` that every task reads alike.
 * @param dataHint what to give as --data, for the error without it
 * @throws RecurError 'OPTION' when --data is missing.
 */
export function trainingFlags(values: TaskFlagValues, names: TaskNames, label: LabelField, dataHint: string): TrainingFlags {
  const data = values['data'] as string | undefined
  if (data === undefined) throw new RecurError('OPTION', `recur ${names.command} train needs --data FILE`, dataHint)
  return {
    data,
    valid: values['valid'] as string | undefined,
    format: values['format'] as DatasetFormat | undefined,
    inputField: (values['inputField'] as string | undefined) ?? 'text',
    labelField: (values[label.key] as string | undefined) ?? label.default,
    json: values['json'] === true,
  }
}

/**
 * The training and validation examples the flags name: --data, and --valid or a seeded share of
 * --data (`readTrainingData`). @throws what `readTrainingData` throws.
 */
export async function readTrainingExamples<E>(
  flags: TrainingFlags,
  config: Pick<TaskConfig, 'valFraction' | 'seed'>,
  examplesOf: ExamplesOf<E>,
): Promise<{ train: E[]; validation: E[]; validationSource: string }> {
  const { inputField, labelField } = flags
  const split = await readTrainingData({
    data: flags.data, valid: flags.valid, format: flags.format, fields: [inputField, labelField], valFraction: config.valFraction, seed: config.seed,
  })
  return {
    train: examplesOf(split.train, inputField, labelField),
    validation: examplesOf(split.validation, inputField, labelField),
    validationSource: split.validationSource,
  }
}

/** The "a word-level GRU classifier, 1 x 64, batches of 32" of a task's memory estimate. */
export function describeTaskModel(config: Pick<TaskConfig, 'inputLevel' | 'cell' | 'layers' | 'hidden' | 'batch'>, kind: string): string {
  return `a ${config.inputLevel}-level ${config.cell.toUpperCase()} ${kind}, ${config.layers} x ${config.hidden}, batches of ${config.batch}`
}

/** A trained task model that records its training info and saves itself (TextClassifier, TextTagger, TextTranslator). */
export interface SavableTaskModel {
  training: TaskTrainingInfo | null
  save(path: string): Promise<void>
}

/** The `save` of `runTaskTraining`: records the training info in `model`, then writes it to `out`. */
export function saveTo(model: SavableTaskModel, out: string): (info: TaskTrainingInfo) => Promise<void> {
  return async (info) => {
    model.training = info
    await model.save(out)
  }
}

/**
 * The model file and the labelled data of `recur <task> eval [model] --data FILE`.
 * @param dataHint what to give as --data, for the error without it
 * @throws RecurError 'OPTION' without a model, for a second argument, or without --data.
 */
export function evalModelAndData(names: TaskNames, modelArgument: string | undefined, values: TaskFlagValues, dataHint: string): { path: string; data: string } {
  const command = `${names.command} eval`
  const { model: path, texts } = modelAndTexts(command, modelArgument === undefined ? [] : [modelArgument], values['model'] as string | undefined)
  if (texts.length > 0) throw new RecurError('OPTION', `${command}: unexpected argument '${texts[0]}'`, 'Give the model once, as the argument or with --model')
  const data = values['data'] as string | undefined
  if (data === undefined) throw new RecurError('OPTION', `recur ${command} needs --data FILE`, dataHint)
  return { path, data }
}

/** Starts the backend the flags ask for (--backend, else RECUR_BACKEND, else the best) and reads the task model file at `path` on it. */
export async function openTaskModel(path: string, values: TaskFlagValues, io: Io, names: TaskNames): Promise<TaskBundle> {
  const kernels = await backendFrom(values['backend'] as string | undefined, io)
  return loadTaskModel(path, kernels, names)
}

/** The input field of predict and eval: --input-field, else the one the model was trained on, else 'text'. */
function inputFieldOf(values: TaskFlagValues, training: TaskTrainingInfo | null): string {
  return (values['inputField'] as string | undefined) ?? recorded(training, 'inputField', 'text')
}

/**
 * The inputs of `recur <task> predict`: the texts given as arguments, else --data, else standard
 * input (`readPredictInputs`), reading the input field the model was trained on unless
 * --input-field names another.
 */
export async function predictInputsFromFlags(io: Io, command: string, texts: readonly string[], values: TaskFlagValues, training: TaskTrainingInfo | null): Promise<PredictInput[]> {
  return readPredictInputs({
    io, command, texts, data: values['data'] as string | undefined, format: values['format'] as string | undefined, inputField: inputFieldOf(values, training),
  })
}

/**
 * The labelled records of `recur <task> eval` and their two fields: the flags' fields, else the
 * ones the model was trained on, else the defaults. @throws what `readRecords` throws.
 */
export async function readEvalRecords(
  data: string,
  values: TaskFlagValues,
  training: TaskTrainingInfo | null,
  label: LabelField,
): Promise<{ inputField: string; labelField: string; records: SourcedRecord[] }> {
  const inputField = inputFieldOf(values, training)
  const labelField = (values[label.key] as string | undefined) ?? recorded(training, label.key, label.default)
  const records = await readRecords(data, [inputField, labelField], values['format'] as DatasetFormat | undefined)
  return { inputField, labelField, records }
}
