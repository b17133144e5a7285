/** `recur info`: what a model file holds, or which backends can run. */
import { backendStatus } from '../kernels/registry.js'
import { ReferenceKernels } from '../kernels/reference/index.js'
import { defineCommand } from './args.js'
import { jsonFlag, loadModel, type Io } from './common.js'
import { formatKeyValues, formatTable } from './format.js'

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'Show a model file (architecture, parameters, vocabulary, training state), or the backends',
  usage: '[model] [flags]',
  positionals: [{ name: 'model', description: 'Model file', optional: true }],
  flags: [{ name: 'backends', type: 'boolean', description: 'List the compute backends and why any is unavailable' }, jsonFlag],
  examples: ['recur info runs/moby-dick/model.recur', 'recur info --backends'],
})

export async function runInfo(path: string | undefined, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const json = v['json'] === true
  if (v['backends'] === true || path === undefined) {
    const status = await backendStatus()
    const chosen = io.env['RECUR_BACKEND']
    if (json) io.out.write(`${JSON.stringify({ backends: status, forced: chosen ?? null })}\n`)
    else {
      io.out.write(`${formatTable([['backend', 'priority', 'state', 'notes'], ...status.map((s) => [s.name, String(s.priority), s.state, s.reason ?? s.description])])}\n`)
      if (chosen) io.out.write(`RECUR_BACKEND=${chosen} forces that backend.\n`)
      if (path === undefined && v['backends'] !== true) io.out.write('Pass a model file to describe it: recur info <model>\n')
    }
    return 0
  }
  const { model, vocabulary, tokenizer, training, trainerState, validationIds } = await loadModel(path, new ReferenceKernels('f32'))
  const a = model.architecture
  const result = {
    file: path, kind: 'language-model', architecture: a, parameters: model.params.size,
    vocabulary: { size: vocabulary.size, level: tokenizer.level, specials: vocabulary.tokens.filter((t) => /^<[A-Z]+>$/.test(t)) },
    tokenizer,
    training: training === null ? null : { ...training, step: trainerState?.step ?? 0 },
    validationTokens: validationIds?.length ?? 0,
  }
  if (json) {
    io.out.write(`${JSON.stringify(result)}\n`)
    return 0
  }
  const cell = a.cell === 'gru' ? `GRU (reset ${a.reset})` : a.cell === 'lstm' ? `LSTM${a.peephole ? ' with peepholes' : ''}` : 'RNN (tanh)'
  const rows: [string, string][] = [
    ['file', path],
    ['model', `${tokenizer.level}-level language model`],
    ['cell', cell],
    ['layers x hidden', `${a.layers} x ${a.hidden}`],
    ['input', a.embedding > 0 ? `embedding ${a.embedding}` : 'one-hot (lookup)'],
    ['parameters', model.params.size.toLocaleString('en')],
    ['vocabulary', `${vocabulary.size} tokens (${result.vocabulary.specials.join(' ')})`],
  ]
  if (training !== null) {
    rows.push(['trained', `${trainerState?.step ?? 0} of ${training.options.steps} steps, batch ${training.options.batch} x ${training.options.seqLength}, ${training.options.optimizer} lr ${training.options.lr}`])
    rows.push(['corpus', `${training.corpus.name}, ${training.corpus.tokens.toLocaleString('en')} tokens, ${training.corpus.valFraction * 100}% held out`])
    if (training.valLoss !== undefined) rows.push(['validation loss', `${training.valLoss.toFixed(4)} nats (${(training.valLoss / Math.LN2).toFixed(4)} bits per token)`])
  }
  io.out.write(`${formatKeyValues(rows)}\n`)
  return 0
}

