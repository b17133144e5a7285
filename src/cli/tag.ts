/** `recur tag train|predict|eval`: sequence tagging (one tag per input token) from JSON lines, CSV or TSV files. */
import { formatClassificationReport, formatEntityReport } from '../data/metrics.js'
import { parseWidths } from '../tasks/classify.js'
import { TAG_FIELDS, TextTagger, resolveTagConfig, type TagConfig, type TagEvaluation, type TagExample } from '../tasks/tag.js'
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

const NAMES: TaskNames = { command: 'tag', kind: 'tagger' }
const LABEL_FIELD: LabelField = { key: 'labelField', default: 'tags' }

function labelFieldFlag(trained: boolean): FlagSpec {
  return {
    name: 'label-field', type: 'string', placeholder: 'name',
    description: `Field or column holding one tag per input token (a JSON array, or tags separated by spaces) [default: ${trained ? 'the one the model was trained with' : 'tags'}]`,
  }
}

export const tagTrainCommand = defineCommand({
  name: 'train',
  summary: 'Train a sequence tagger: one tag per input token (BIO entities, 0/1 flags)',
  usage: '--data <file> [flags]',
  flags: [dataFlag, formatFlag, validFlag, inputFieldFlag(false, 'Field or column holding the input (words are cut at whitespace)'), labelFieldFlag(false), outFlag('tagger'), ...configFlags(TAG_FIELDS), ...memoryFlags, backendFlag, jsonFlag],
  examples: [
    { command: 'recur tag train --data ner.jsonl --input-field text --label-field tags', description: 'BIO tags, a bidirectional GRU, 10% held out' },
    { command: 'recur tag train --data names.tsv --binary --no-bidirectional', description: 'two tags as one sigmoid per token, reading left to right only' },
  ],
})

export const tagPredictCommand = defineCommand({
  name: 'predict',
  summary: 'Tag texts: one JSON line per input with its tokens, tags and their probabilities',
  usage: '[model] [text...] [flags]',
  positionals: [
    modelPositional(NAMES),
    { name: 'text', description: 'Texts to tag (default: --data, else standard input)', optional: true, variadic: true },
  ],
  flags: [
    modelFlag,
    predictDataFlag,
    predictFormatFlag,
    inputFieldFlag(true, 'Field or column holding the input'),
    maxMemoryFlag,
    backendFlag,
  ],
  examples: ['recur tag predict runs/ner/tagger.recur "Ada Lovelace met Charles Babbage in London"', 'cat sentences.txt | recur tag predict runs/ner/tagger.recur'],
})

export const tagEvalCommand = defineCommand({
  name: 'eval',
  summary: 'Score a tagger on tagged data: token accuracy, per-tag scores, entity precision, recall and F1 for BIO tags',
  usage: '[model] --data <file> [flags]',
  positionals: [modelPositional(NAMES)],
  flags: [modelFlag, dataFlag, formatFlag, inputFieldFlag(true, 'Field or column holding the input'), labelFieldFlag(true), maxMemoryFlag, backendFlag, jsonFlag],
  examples: ['recur tag eval runs/ner/tagger.recur --data test.jsonl', 'recur tag eval runs/ner/tagger.recur --data test.jsonl --json'],
})

export const tagGroup = defineGroup({
  name: 'tag',
  summary: 'Sequence tagging (many-to-many, one tag per token): train, predict, eval',
  commands: [tagTrainCommand, tagPredictCommand, tagEvalCommand],
  examples: [
    { command: 'recur tag train --data ner.jsonl --out ner.recur', description: 'train on JSON lines {"text": "Ada met Bob", "tags": "B-PER O B-PER"}' },
    { command: 'recur tag predict ner.recur "Grace met Alan"', description: 'then tag new text' },
  ],
})

/** Runs a `recur tag ...` command line; null when `line` is not one. */
export function dispatchTag(line: CommandLine, io: Io): Promise<number> | null {
  return dispatchTaskCommand(line, io, {
    train: tagTrainCommand, predict: tagPredictCommand, eval: tagEvalCommand,
    runTrain: runTagTrain, runPredict: runTagPredict, runEval: runTagEval,
  })
}

function examplesOf(records: readonly SourcedRecord[], inputField: string, labelField: string): TagExample[] {
  return records.map((r) => ({ input: r.fields[inputField]!, tags: r.fields[labelField]!, where: r.where }))
}

export async function runTagTrain(values: TaskFlagValues, given: ReadonlySet<string>, io: Io): Promise<number> {
  const flags = trainingFlags(values, NAMES, LABEL_FIELD, 'Give a .jsonl, .csv or .tsv file of texts with one tag per token, e.g. --data ner.jsonl')
  if (given.has('dense')) parseWidths(values['dense'] as string, '--dense')
  const config = resolveTagConfig(givenSettings(TAG_FIELDS, values, given) as Partial<TagConfig>)
  const { data, valid, inputField, labelField } = flags
  const kernels = await backendFrom(values['backend'] as string | undefined, io)
  const { train, validation, validationSource } = await readTrainingExamples(flags, config, examplesOf)
  const tagger = TextTagger.create(kernels, train, config, validation)
  // --dry-run / --max-memory (src/cli/memory.ts): before training allocates its buffers.
  const cut = (n: number) => (config.maxLength > 0 ? Math.min(n, config.maxLength) : n)
  const lengths = [...train, ...validation].map((e) => cut(tagger.encode(e.input).length))
  const memory = taskTrainingMemory(describeTaskModel(config, 'tagger'),
    tagger.model.params.size, config.optimizer, [{ ...inputMemory(tagger), lengths }], config.batch, kernels, taskAdvice(config, '--max-length'))
  if (checkTrainingMemory(memory, values, io)) return 0
  const out = (values['out'] as string | undefined) ?? defaultModelPath(data, 'tagger')
  const a = tagger.model.architecture
  const tags = tagger.labels.labels
  const header = [
    `recur tag train: ${config.inputLevel}-level ${a.bidirectional ? 'bidirectional ' : ''}${a.cell.toUpperCase()}, ${a.layers} x ${a.hidden}, ` +
      `${tagger.model.params.size.toLocaleString('en')} parameters, vocabulary ${tagger.vocabulary.size.toLocaleString('en')}, backend ${kernels.name}`,
    `  ${tags.length} tags (${tagger.binary ? `binary: one sigmoid per token for ${JSON.stringify(tags[1])}` : 'softmax'}): ${tags.slice(0, 12).join(', ')}${tags.length > 12 ? ', ...' : ''}`,
    `  ${train.length.toLocaleString('en')} training + ${validation.length.toLocaleString('en')} validation examples (validation: ${validationSource})`,
  ]
  return runTaskTraining({
    io, names: NAMES, config: tagger.config, json: flags.json, out, header,
    session: tagger.session(train, validation),
    metric: { name: 'token accuracy', column: 'valTokenAccuracy' },
    info: { data, valid: valid ?? null, inputField, labelField, binary: tagger.binary, trainExamples: train.length, validationExamples: validation.length },
    save: saveTo(tagger, out),
    next: [`recur tag predict ${out} "some text to tag"`, `recur tag eval ${out} --data ${valid ?? '<tagged test file>'}`],
    summary: { tags: tags.slice(), binary: tagger.binary, trainExamples: train.length, validationExamples: validation.length },
  })
}

export async function runTagPredict(args: readonly string[], values: TaskFlagValues, io: Io): Promise<number> {
  const { model: path, texts } = modelAndTexts('tag predict', args, values['model'] as string | undefined)
  const tagger = TextTagger.fromBundle(await openTaskModel(path, values, io, NAMES))
  const inputs = await predictInputsFromFlags(io, 'tag predict', texts, values, tagger.training)
  checkInputMemory('tag predict', inputMemory(tagger), inputs.map((i) => ({ length: tagger.encode(i.value).length, where: i.where })), values['maxMemory'] as string | undefined)
  const predictions = await tagger.predict(inputs.map((i) => i.value), { where: inputs.map((i) => i.where) })
  writeJsonLines(io, predictions.map((p, i) => ({ input: inputs[i]!.value, tokens: p.tokens, tags: p.tags, probabilities: p.probabilities })))
  return 0
}

export async function runTagEval(modelArgument: string | undefined, values: TaskFlagValues, io: Io): Promise<number> {
  const { path, data } = evalModelAndData(NAMES, modelArgument, values, 'Give a tagged .jsonl, .csv or .tsv file')
  const tagger = TextTagger.fromBundle(await openTaskModel(path, values, io, NAMES))
  const { inputField, labelField, records } = await readEvalRecords(data, values, tagger.training, LABEL_FIELD)
  checkInputMemory('tag eval', inputMemory(tagger), records.map((r) => ({ length: tagger.encode(r.fields[inputField]!).length, where: r.where })), values['maxMemory'] as string | undefined)
  const result = await tagger.evaluate(examplesOf(records, inputField, labelField))
  if (values['json'] === true) io.out.write(`${JSON.stringify({ model: path, data, ...tagEvaluationJson(result) })}\n`)
  else io.out.write(`${formatTagEvaluation(result, data)}\n`)
  return 0
}

/** The JSON form of a tagger evaluation. */
export function tagEvaluationJson(result: TagEvaluation): Record<string, unknown> {
  const r = result.perTag
  return {
    examples: result.examples, tokens: result.tokens, loss: result.loss, tokenAccuracy: result.tokenAccuracy,
    perTag: Object.fromEntries(result.labels.map((label, k) => [label, { precision: r.perClass[k]!.precision, recall: r.perClass[k]!.recall, f1: r.perClass[k]!.f1, support: r.perClass[k]!.support }])),
    macroF1: r.macroF1,
    entities: result.entities === null ? null : {
      precision: result.entities.precision, recall: result.entities.recall, f1: result.entities.f1,
      correct: result.entities.correct, predicted: result.entities.predicted, support: result.entities.support,
      perType: Object.fromEntries([...result.entities.perType].map(([type, s]) => [type, { precision: s.precision, recall: s.recall, f1: s.f1, support: s.support }])),
    },
  }
}

function formatTagEvaluation(result: TagEvaluation, data: string): string {
  const head = formatKeyValues([
    ['data', `${data} (${result.examples.toLocaleString('en')} examples, ${result.tokens.toLocaleString('en')} tokens)`],
    ['mean loss', `${formatFixed(result.loss, 4)} nats per token`],
    ['token accuracy', formatFixed(result.tokenAccuracy, 4)],
  ])
  const perTag = `Per tag (over tokens):\n${formatClassificationReport(result.perTag, result.labels)}`
  const entities = result.entities === null ? '' : `\n\nEntities (exact span and type):\n${formatEntityReport(result.entities)}`
  return `${head}\n\n${perTag}${entities}`
}

/** The tagger's buffers per batch shape, for the memory check of predict and eval. */
function inputMemory(tagger: TextTagger): InputMemoryModel {
  const a = tagger.model.architecture
  // The batch's ids, mask and targets; each head layer's output, its gradient and its input's
  // gradient at every position; the loss and the probabilities (K per position).
  const head = tagger.model.head.layers.reduce((n, layer) => n + 2 * layer.Y + layer.X, 0)
  return { encoder: a, perPosition: 4 + head + 1 + 2 * a.tags, batch: tagger.config.batch, kernels: tagger.model.kernels }
}
