/** `recur classify train|predict|eval`: text classification from JSON lines, CSV or TSV files. */
import { formatClassificationReport, formatConfusionMatrix, formatScoreTable } from '../data/metrics.js'
import { CLASSIFY_FIELDS, TextClassifier, parseWidths, resolveClassifyConfig, type ClassifyEvaluation, type ClassifyExample } from '../tasks/classify.js'
import {
  configFlags, dataFlag, defaultModelPath, formatFlag, givenSettings, inputFieldFlag, modelAndTexts, modelFlag, outFlag, predictFormatFlag,
  runTaskTraining, validFlag, writeJsonLines, type SourcedRecord, type TaskNames,
} from '../tasks/common.js'
import { defineCommand, defineGroup, type CommandLine, type FlagSpec } from './args.js'
import { backendFlag, backendFrom, dispatchTaskCommand, jsonFlag, type Io } from './common.js'
import { taskAdvice, checkInputMemory, checkTrainingMemory, maxMemoryFlag, memoryFlags, taskTrainingMemory, type InputMemoryModel } from './memory.js'
import { formatFixed, formatKeyValues } from './format.js'
import {
  describeTaskModel, evalModelAndData, modelPositional, openTaskModel, predictDataFlag, predictInputsFromFlags, readEvalRecords, readTrainingExamples,
  saveTo, trainingFlags, type LabelField, type TaskFlagValues,
} from './task-flow.js'

const NAMES: TaskNames = { command: 'classify', kind: 'classifier' }
const LABEL_FIELD: LabelField = { key: 'labelField', default: 'label' }

function labelFieldFlag(trained: boolean): FlagSpec {
  return {
    name: 'label-field', type: 'string', placeholder: 'name',
    description: `Field or column holding the label; several labels ('a|b' or a JSON array) make a multi-label model [default: ${trained ? 'the one the model was trained with' : 'label'}]`,
  }
}

export const classifyTrainCommand = defineCommand({
  name: 'train',
  summary: 'Train a text classifier (one label, or several, per text)',
  usage: '--data <file> [flags]',
  flags: [dataFlag, formatFlag, validFlag, inputFieldFlag(false), labelFieldFlag(false), outFlag('classifier'), ...configFlags(CLASSIFY_FIELDS), ...memoryFlags, backendFlag, jsonFlag],
  examples: [
    { command: 'recur classify train --data reviews.jsonl --input-field text --label-field rating', description: 'a word-level GRU classifier, 10% of the data held out' },
    { command: 'recur classify train --data spam.csv --valid spam-valid.csv --pooling max --dense 64 --epochs 5', description: 'max pooling over time, one hidden dense layer, a separate validation file' },
  ],
})

export const classifyPredictCommand = defineCommand({
  name: 'predict',
  summary: 'Classify texts: one JSON line per input with the label and its probability',
  usage: '[model] [text...] [flags]',
  positionals: [
    modelPositional(NAMES),
    { name: 'text', description: 'Texts to classify (default: --data, else standard input)', optional: true, variadic: true },
  ],
  flags: [
    modelFlag,
    predictDataFlag,
    predictFormatFlag,
    inputFieldFlag(true),
    { name: 'threshold', type: 'number', default: 0.5, min: 0, max: 1, description: 'Multi-label models: predict each label whose probability is at least this' },
    maxMemoryFlag,
    backendFlag,
  ],
  examples: [
    'recur classify predict runs/spam/classifier.recur "WIN a FREE cruise, click now"',
    { command: 'cat messages.txt | recur classify predict runs/spam/classifier.recur', description: 'one text per line on standard input' },
    'recur classify predict --model runs/spam/classifier.recur --data test.jsonl',
  ],
})

export const classifyEvalCommand = defineCommand({
  name: 'eval',
  summary: 'Score a classifier on labelled data: accuracy, per-class precision, recall and F1, macro-F1, confusion matrix',
  usage: '[model] --data <file> [flags]',
  positionals: [modelPositional(NAMES)],
  flags: [modelFlag, dataFlag, formatFlag, inputFieldFlag(true), labelFieldFlag(true), maxMemoryFlag, backendFlag, jsonFlag],
  examples: ['recur classify eval runs/spam/classifier.recur --data test.jsonl', 'recur classify eval runs/spam/classifier.recur --data test.csv --json'],
})

export const classifyGroup = defineGroup({
  name: 'classify',
  summary: 'Text classification (many-to-one): train, predict, eval',
  commands: [classifyTrainCommand, classifyPredictCommand, classifyEvalCommand],
  examples: [
    { command: 'recur classify train --data spam.jsonl --out spam.recur', description: 'train on JSON lines {"text": ..., "label": ...}' },
    { command: 'recur classify predict spam.recur "cheap meds, no prescription"', description: 'then classify new text' },
  ],
})

/** Runs a `recur classify ...` command line; null when `line` is not one. */
export function dispatchClassify(line: CommandLine, io: Io): Promise<number> | null {
  return dispatchTaskCommand(line, io, {
    train: classifyTrainCommand, predict: classifyPredictCommand, eval: classifyEvalCommand,
    runTrain: runClassifyTrain, runPredict: runClassifyPredict, runEval: runClassifyEval,
  })
}

function examplesOf(records: readonly SourcedRecord[], inputField: string, labelField: string): ClassifyExample[] {
  return records.map((r) => ({ input: r.fields[inputField]!, label: r.fields[labelField]!, where: r.where }))
}

export async function runClassifyTrain(values: TaskFlagValues, given: ReadonlySet<string>, io: Io): Promise<number> {
  const flags = trainingFlags(values, NAMES, LABEL_FIELD, 'Give a .jsonl, .csv or .tsv file of texts and labels, e.g. --data reviews.jsonl')
  if (given.has('dense')) parseWidths(values['dense'] as string, '--dense')
  const config = resolveClassifyConfig(givenSettings(CLASSIFY_FIELDS, values, given))
  const { data, valid, inputField, labelField } = flags
  const kernels = await backendFrom(values['backend'] as string | undefined, io)
  const { train, validation, validationSource } = await readTrainingExamples(flags, config, examplesOf)
  const classifier = TextClassifier.create(kernels, train, config, validation)
  // --dry-run / --max-memory (src/cli/memory.ts): before training allocates its buffers.
  const lengths = [...train, ...validation].map((e) => classifier.encode(e.input).length)
  const part = { ...inputMemory(classifier), lengths }
  const memory = taskTrainingMemory(describeTaskModel(config, 'classifier'),
    classifier.model.params.size, config.optimizer, [part], config.batch, kernels, taskAdvice(config, '--max-length'))
  if (checkTrainingMemory(memory, values, io)) return 0
  const out = (values['out'] as string | undefined) ?? defaultModelPath(data, 'classifier')
  const a = classifier.model.architecture
  const labels = classifier.labels.labels
  const header = [
    `recur classify train: ${config.inputLevel}-level ${a.bidirectional ? 'bidirectional ' : ''}${a.cell.toUpperCase()}, ${a.layers} x ${a.hidden}, ${a.pooling} pooling, ` +
      `${classifier.model.params.size.toLocaleString('en')} parameters, vocabulary ${classifier.vocabulary.size.toLocaleString('en')}, backend ${kernels.name}`,
    `  ${labels.length} ${classifier.multiLabel ? 'labels, multi-label (one sigmoid each)' : 'labels (softmax)'}: ${labels.slice(0, 12).join(', ')}${labels.length > 12 ? ', ...' : ''}`,
    `  ${train.length.toLocaleString('en')} training + ${validation.length.toLocaleString('en')} validation examples (validation: ${validationSource})`,
  ]
  return runTaskTraining({
    io, names: NAMES, config, json: flags.json, out, header,
    session: classifier.session(train, validation),
    metric: { name: classifier.metricName, column: classifier.metricColumn },
    info: { data, valid: valid ?? null, inputField, labelField, multiLabel: classifier.multiLabel, trainExamples: train.length, validationExamples: validation.length },
    save: saveTo(classifier, out),
    next: [`recur classify predict ${out} "some text to classify"`, `recur classify eval ${out} --data ${valid ?? '<labelled test file>'}`],
    summary: { labels: labels.slice(), multiLabel: classifier.multiLabel, trainExamples: train.length, validationExamples: validation.length },
  })
}

export async function runClassifyPredict(args: readonly string[], values: TaskFlagValues, io: Io): Promise<number> {
  const { model: path, texts } = modelAndTexts('classify predict', args, values['model'] as string | undefined)
  const classifier = TextClassifier.fromBundle(await openTaskModel(path, values, io, NAMES))
  const inputs = await predictInputsFromFlags(io, 'classify predict', texts, values, classifier.training)
  checkInputMemory('classify predict', inputMemory(classifier), inputs.map((i) => ({ length: classifier.encode(i.value).length, where: i.where })), values['maxMemory'] as string | undefined)
  const predictions = await classifier.predict(inputs.map((i) => i.value), { threshold: values['threshold'] as number, where: inputs.map((i) => i.where) })
  writeJsonLines(io, predictions.map((p, i) => (classifier.multiLabel
    ? { input: inputs[i]!.value, labels: p.labels, probabilities: p.probabilities }
    : { input: inputs[i]!.value, label: p.label, probability: p.probability, probabilities: p.probabilities })))
  return 0
}

export async function runClassifyEval(modelArgument: string | undefined, values: TaskFlagValues, io: Io): Promise<number> {
  const { path, data } = evalModelAndData(NAMES, modelArgument, values, 'Give a labelled .jsonl, .csv or .tsv file')
  const classifier = TextClassifier.fromBundle(await openTaskModel(path, values, io, NAMES))
  const { inputField, labelField, records } = await readEvalRecords(data, values, classifier.training, LABEL_FIELD)
  checkInputMemory('classify eval', inputMemory(classifier), records.map((r) => ({ length: classifier.encode(r.fields[inputField]!).length, where: r.where })), values['maxMemory'] as string | undefined)
  const result = await classifier.evaluate(examplesOf(records, inputField, labelField))
  if (values['json'] === true) io.out.write(`${JSON.stringify({ model: path, data, ...evaluationJson(result) })}\n`)
  else io.out.write(`${formatEvaluation(result, data)}\n`)
  return 0
}

/** The JSON form of an evaluation: scores by label name. */
export function evaluationJson(result: ClassifyEvaluation): Record<string, unknown> {
  const byLabel = (scores: readonly { precision: number; recall: number; f1: number; support: number }[]) =>
    Object.fromEntries(result.labels.map((label, k) => [label, { precision: scores[k]!.precision, recall: scores[k]!.recall, f1: scores[k]!.f1, support: scores[k]!.support }]))
  if (result.multiLabel) {
    const r = result.report
    return {
      multiLabel: true, examples: result.examples, loss: result.loss, microPrecision: r.microPrecision, microRecall: r.microRecall, microF1: r.microF1,
      macroPrecision: r.macroPrecision, macroRecall: r.macroRecall, macroF1: r.macroF1, exactMatch: r.exactMatch, perLabel: byLabel(r.perLabel),
    }
  }
  const r = result.report
  return {
    multiLabel: false, examples: result.examples, loss: result.loss, accuracy: r.accuracy, macroPrecision: r.macroPrecision, macroRecall: r.macroRecall,
    macroF1: r.macroF1, perClass: byLabel(r.perClass), confusion: { labels: result.labels, matrix: r.confusion },
  }
}

function formatEvaluation(result: ClassifyEvaluation, data: string): string {
  const head = formatKeyValues([
    ['data', `${data} (${result.examples.toLocaleString('en')} examples)`],
    ['mean loss', `${formatFixed(result.loss, 4)} nats`],
  ])
  if (result.multiLabel) {
    const r = result.report
    const rows = result.labels.map((label, k) => ({ name: label, ...r.perLabel[k]! }))
    rows.push({ name: 'micro avg', precision: r.microPrecision, recall: r.microRecall, f1: r.microF1, support: r.perLabel.reduce((n, s) => n + s.support, 0), predicted: 0 })
    return `${head}\n\n${formatScoreTable(rows)}\nmacro-F1 ${formatFixed(r.macroF1, 4)}, exact match ${formatFixed(r.exactMatch, 4)}`
  }
  const r = result.report
  return `${head}\n\n${formatClassificationReport(r, result.labels)}\nmacro-F1 ${formatFixed(r.macroF1, 4)}\n\n${formatConfusionMatrix(r.confusion, result.labels)}`
}

/** The classifier's buffers per batch shape, for the memory check of predict and eval. */
function inputMemory(classifier: TextClassifier): InputMemoryModel {
  const a = classifier.model.architecture
  // The batch's ids, mask and targets (K of them for sigmoid outputs); the outputs kept for mean / max pooling.
  const perPosition = 3 + a.classes + (a.pooling === 'final' ? 0 : classifier.model.encoder.outputSize)
  return { encoder: a, perPosition, batch: classifier.config.batch, kernels: classifier.model.kernels }
}
