/** `recur translate train|predict|eval`: encoder-decoder models from JSON lines, CSV or TSV files of pairs. */
import type { Kernels } from '../kernels/types.js'
import {
  configFlags, dataFlag, defaultModelPath, formatFlag, givenSettings, inputFieldFlag, modelAndTexts, modelFlag, outFlag, predictFormatFlag,
  roundProbability, runTaskTraining, validFlag, writeJsonLines, type SourcedRecord, type TaskNames,
} from '../tasks/common.js'
import {
  DECODE_FIELDS, TRANSLATE_FIELDS, TextTranslator, resolveDecodeConfig, resolveTranslateConfig,
  type DecodeConfig, type TranslateEvaluation, type TranslateExample, type TranslationCandidate,
} from '../tasks/translate.js'
import { defineCommand, defineGroup, type CommandLine, type FlagSpec } from './args.js'
import { backendFlag, backendFrom, dispatchTaskCommand, jsonFlag, type Io } from './common.js'
import { taskAdvice, checkInputMemory, checkTrainingMemory, maxMemoryFlag, memoryFlags, taskTrainingMemory, type InputMemoryModel, type TrainingMemory } from './memory.js'
import { formatFixed, formatKeyValues } from './format.js'
import {
  describeTaskModel, evalModelAndData, modelPositional, openTaskModel, predictDataFlag, predictInputsFromFlags, readEvalRecords, readTrainingExamples,
  saveTo, trainingFlags, type LabelField, type TaskFlagValues,
} from './task-flow.js'

const NAMES: TaskNames = { command: 'translate', kind: 'seq2seq' }
const TARGET_FIELD: LabelField = { key: 'targetField', default: 'target' }

function targetFieldFlag(trained: boolean): FlagSpec {
  return {
    name: 'target-field', type: 'string', placeholder: 'name',
    description: `Field (JSON lines) or column (CSV, TSV) holding the target text [default: ${trained ? 'the one the model was trained with' : 'target'}]`,
  }
}

/** --beam, --length-penalty, --max-length. */
const decodeFlags = configFlags(DECODE_FIELDS)

export const translateTrainCommand = defineCommand({
  name: 'train',
  summary: 'Train an encoder-decoder on pairs of texts (input -> target, of any lengths)',
  usage: '--data <file> [flags]',
  flags: [dataFlag, formatFlag, validFlag, inputFieldFlag(false), targetFieldFlag(false), outFlag('seq2seq'), ...configFlags(TRANSLATE_FIELDS), ...memoryFlags, backendFlag, jsonFlag],
  examples: [
    { command: 'recur translate train --data dates.jsonl --steps 3000 --batch 16 --hidden 40 --lr 0.02 --lowercase', description: 'characters in, characters out (e.g. "June 25 2009" -> "2009-06-25")' },
    { command: 'recur translate train --data g2p.tsv --input-field word --target-field phonemes --target-level word', description: 'characters in, space-separated symbols out' },
  ],
})

export const translatePredictCommand = defineCommand({
  name: 'predict',
  summary: 'Translate texts: one JSON line per input with the output and its probability',
  usage: '[model] [text...] [flags]',
  positionals: [
    modelPositional(NAMES),
    { name: 'text', description: 'Texts to translate (default: --data, else standard input)', optional: true, variadic: true },
  ],
  flags: [
    modelFlag,
    predictDataFlag,
    predictFormatFlag,
    inputFieldFlag(true),
    ...decodeFlags,
    maxMemoryFlag,
    backendFlag,
  ],
  examples: [
    'recur translate predict runs/dates/seq2seq.recur "the 25th of June, 2009" --beam 3',
    { command: 'cat dates.txt | recur translate predict runs/dates/seq2seq.recur', description: 'one input per line on standard input' },
    'recur translate predict --model runs/dates/seq2seq.recur --data test.jsonl --beam 4 --length-penalty 1',
  ],
})

export const translateEvalCommand = defineCommand({
  name: 'eval',
  summary: 'Score an encoder-decoder on pairs: exact match and token error rate',
  usage: '[model] --data <file> [flags]',
  positionals: [modelPositional(NAMES)],
  flags: [modelFlag, dataFlag, formatFlag, inputFieldFlag(true), targetFieldFlag(true), ...decodeFlags, maxMemoryFlag, backendFlag, jsonFlag],
  examples: ['recur translate eval runs/dates/seq2seq.recur --data test.jsonl', 'recur translate eval runs/dates/seq2seq.recur --data test.csv --beam 3 --json'],
})

export const translateGroup = defineGroup({
  name: 'translate',
  summary: 'Encoder-decoder sequence to sequence (many-to-many, Tx != Ty): train, predict, eval',
  commands: [translateTrainCommand, translatePredictCommand, translateEvalCommand],
  examples: [
    { command: 'recur translate train --data dates.jsonl --out dates.recur', description: 'train on JSON lines {"text": ..., "target": ...}' },
    { command: 'recur translate predict dates.recur "June 25 2009" --beam 3', description: 'then translate new text' },
  ],
})

/** Runs a `recur translate ...` command line; null when `line` is not one. */
export function dispatchTranslate(line: CommandLine, io: Io): Promise<number> | null {
  return dispatchTaskCommand(line, io, {
    train: translateTrainCommand, predict: translatePredictCommand, eval: translateEvalCommand,
    runTrain: runTranslateTrain, runPredict: runTranslatePredict, runEval: runTranslateEval,
  })
}

function examplesOf(records: readonly SourcedRecord[], inputField: string, targetField: string): TranslateExample[] {
  return records.map((r) => ({ input: r.fields[inputField]!, target: r.fields[targetField]!, where: r.where }))
}

/** The decoding flags' values, checked. */
function decodeOptions(values: TaskFlagValues): DecodeConfig {
  return resolveDecodeConfig({ beam: values['beam'] as number, lengthPenalty: values['lengthPenalty'] as number, maxLength: values['maxLength'] as number })
}

export async function runTranslateTrain(values: TaskFlagValues, given: ReadonlySet<string>, io: Io): Promise<number> {
  const flags = trainingFlags(values, NAMES, TARGET_FIELD, 'Give a .jsonl, .csv or .tsv file of input and target texts, e.g. --data pairs.jsonl')
  const config = resolveTranslateConfig(givenSettings(TRANSLATE_FIELDS, values, given))
  const { data, valid, inputField, labelField: targetField } = flags
  const kernels = await backendFrom(values['backend'] as string | undefined, io)
  const { train, validation, validationSource } = await readTrainingExamples(flags, config, examplesOf)
  const translator = TextTranslator.create(kernels, train, config)
  // --dry-run / --max-memory (src/cli/memory.ts): before training allocates its buffers.
  const memory = translateMemory(translator, [...train, ...validation], kernels)
  if (checkTrainingMemory(memory, values, io)) return 0
  const out = (values['out'] as string | undefined) ?? defaultModelPath(data, 'seq2seq')
  const e = translator.model.architecture.encoder
  const decoded = config.valExamples > 0 ? Math.min(config.valExamples, validation.length) : validation.length
  const header = [
    `recur translate train: ${config.inputLevel}-level input -> ${config.targetLevel}-level target, ${e.bidirectional ? 'bidirectional ' : ''}${e.cell.toUpperCase()} encoder-decoder, ` +
      `${e.layers} x ${e.hidden}, ${translator.model.params.size.toLocaleString('en')} parameters, backend ${kernels.name}`,
    `  vocabularies: input ${translator.input.vocabulary.size.toLocaleString('en')}, target ${translator.target.vocabulary.size.toLocaleString('en')} tokens; outputs up to ${translator.maxLength} tokens`,
    `  ${train.length.toLocaleString('en')} training + ${validation.length.toLocaleString('en')} validation pairs (validation: ${validationSource}` +
      `${validation.length > 0 ? `; exact match of greedy decoding on ${decoded}` : ''})`,
  ]
  const evalData = valid ?? data
  const sample = train[0]!.input
  return runTaskTraining({
    io, names: NAMES, config, json: flags.json, out, header,
    session: translator.session(train, validation),
    metric: { name: 'exact match', column: 'valExactMatch' },
    info: { data, valid: valid ?? null, inputField, targetField, trainExamples: train.length, validationExamples: validation.length, decodeMaxLength: translator.maxLength },
    save: saveTo(translator, out),
    next: [
      `recur translate predict ${out} ${JSON.stringify(Array.isArray(sample) ? sample.join(' ') : sample)} --beam 3`,
      `recur translate eval ${out} --data ${evalData} --beam 3`,
    ],
    summary: { trainExamples: train.length, validationExamples: validation.length, inputVocabulary: translator.input.vocabulary.size, targetVocabulary: translator.target.vocabulary.size },
  })
}

export async function runTranslatePredict(args: readonly string[], values: TaskFlagValues, io: Io): Promise<number> {
  const { model: path, texts } = modelAndTexts('translate predict', args, values['model'] as string | undefined)
  const decode = decodeOptions(values)
  const translator = TextTranslator.fromBundle(await openTaskModel(path, values, io, NAMES), path)
  const inputs = await predictInputsFromFlags(io, 'translate predict', texts, values, translator.training)
  // One input at a time (a batch of 1): each length makes its own buffers.
  checkInputMemory('translate predict', inputMemory(translator, 1), inputs.map((i) => ({ length: translator.encodeInput(i.value).length, where: i.where })), values['maxMemory'] as string | undefined)
  const lines: unknown[] = []
  for (const input of inputs) {
    const t = await translator.translate(input.value, { ...decode, where: input.where })
    lines.push({ input: input.value, ...candidateJson(t), ...(decode.beam > 1 ? { alternatives: t.alternatives.map(candidateJson) } : {}) })
  }
  writeJsonLines(io, lines)
  return 0
}

/** An output as predict writes it: the text, its probability P(output, <EOS> | input) and the beam's ranking score. */
function candidateJson(c: TranslationCandidate): Record<string, unknown> {
  return { output: c.output, probability: roundProbability(Math.exp(c.logProb)), score: Math.round(c.score * 1e6) / 1e6, ...(c.finished ? {} : { finished: false }) }
}

export async function runTranslateEval(modelArgument: string | undefined, values: TaskFlagValues, io: Io): Promise<number> {
  const { path, data } = evalModelAndData(NAMES, modelArgument, values, 'Give a .jsonl, .csv or .tsv file of input and target texts')
  const decode = decodeOptions(values)
  const translator = TextTranslator.fromBundle(await openTaskModel(path, values, io, NAMES), path)
  const { inputField, labelField: targetField, records } = await readEvalRecords(data, values, translator.training, TARGET_FIELD)
  checkInputMemory('translate eval', inputMemory(translator, translator.config.batch), records.map((r) => ({ length: translator.encodeInput(r.fields[inputField]!).length, where: r.where })), values['maxMemory'] as string | undefined)
  const result = await translator.evaluate(examplesOf(records, inputField, targetField), decode)
  const maxLength = decode.maxLength > 0 ? decode.maxLength : translator.maxLength
  if (values['json'] === true) {
    io.out.write(`${JSON.stringify({
      model: path, data, examples: result.total, beam: decode.beam, lengthPenalty: decode.lengthPenalty, maxLength,
      exactMatch: result.exactMatch, tokenErrorRate: result.tokenErrorRate, editDistance: result.editDistance, referenceTokens: result.referenceTokens,
    })}\n`)
  } else {
    io.out.write(`${formatEvaluation(result, data, decode, maxLength)}\n`)
  }
  return 0
}

function formatEvaluation(result: TranslateEvaluation, data: string, decode: DecodeConfig, maxLength: number): string {
  const search = decode.beam === 1 ? 'greedy' : `beam ${decode.beam}, length penalty ${decode.lengthPenalty}`
  return formatKeyValues([
    ['data', `${data} (${result.total.toLocaleString('en')} pairs)`],
    ['decoding', `${search}, at most ${maxLength} tokens`],
    ['exact match', `${formatFixed(result.exactMatch, 4)} (${Math.round(result.exactMatch * result.total).toLocaleString('en')} of ${result.total.toLocaleString('en')})`],
    ['token error rate', `${formatFixed(result.tokenErrorRate, 4)} (${result.editDistance.toLocaleString('en')} edits / ${result.referenceTokens.toLocaleString('en')} reference tokens)`],
  ])
}

/** The encoder's buffers per batch shape, for the memory check of predict and eval (the decoder works a step at a time). */
function inputMemory(translator: TextTranslator, batch: number): InputMemoryModel {
  return { encoder: translator.model.architecture.encoder, perPosition: 4, batch, kernels: translator.model.kernels }
}

/**
 * The memory of training `translator` on `examples`: the encoder reads the inputs; the decoder
 * reads <BOS> and the target (T = target tokens + 1) and keeps the output layer's logits, their
 * gradient and the loss's (3 x V per position) besides its recurrent buffers.
 */
function translateMemory(translator: TextTranslator, examples: readonly TranslateExample[], kernels: Kernels): TrainingMemory {
  const { config } = translator
  const pairs = translator.encodePairs(examples)
  const d = translator.model.architecture.decoder
  const e = translator.model.architecture.encoder
  const decoder = { ...e, layers: d.layers, hidden: d.hidden, vocabularySize: d.vocabularySize, embedding: d.embedding, bidirectional: false }
  const parts = [
    { encoder: e, perPosition: 4, lengths: pairs.map((p) => p.source.length) },
    { encoder: decoder, perPosition: 4 + 3 * d.vocabularySize + d.hidden + 1, lengths: pairs.map((p) => p.target.length + 1) },
  ]
  return taskTrainingMemory(describeTaskModel(config, 'encoder-decoder'),
    translator.model.params.size, config.optimizer, parts, config.batch, kernels, taskAdvice(config, null))
}
