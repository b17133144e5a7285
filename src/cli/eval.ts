/** `recur eval`: loss, perplexity and bits per character of a model on a text. */
import { encodeCorpusFile } from '../text/corpus.js'
import { RecurError } from '../errors.js'
import { evaluateStream } from '../train/language-model-trainer.js'
import { defineCommand } from './args.js'
import { backendFlag, backendFrom, jsonFlag, loadModel, type Io } from './common.js'
import { formatFixed, formatKeyValues } from './format.js'

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'Measure a model: mean loss, perplexity and bits per character (or token)',
  usage: '<model> [flags]',
  positionals: [{ name: 'model', description: 'Model file written by recur train' }],
  flags: [
    { name: 'corpus', type: 'string', placeholder: 'file', description: "Text to evaluate on (default: the held-out end of the model's training corpus)" },
    backendFlag,
    jsonFlag,
  ],
  examples: ['recur eval runs/moby-dick/model.recur', 'recur eval model.recur --corpus test.txt --json'],
})

export async function runEval(path: string, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const kernels = await backendFrom(v['backend'] as string | undefined, io)
  const { model, vocabulary, tokenizer, validationIds } = await loadModel(path, kernels)
  const corpus = v['corpus'] as string | undefined
  let ids: Int32Array
  let source: string
  if (corpus !== undefined) {
    ids = (await encodeCorpusFile(corpus, tokenizer, vocabulary)).ids // streamed: 4 bytes per token
    source = corpus
  } else {
    if (validationIds === null) throw new RecurError('DATA', `${path} records no validation text (it was trained with --val-fraction 0)`, 'Pass --corpus FILE')
    ids = validationIds
    source = 'held-out validation text'
  }
  if (ids.length < 2) throw new RecurError('DATA', `${source} has ${ids.length} token(s); evaluation needs at least 2`)
  // The exact definition: one stream from a zero state, every one of the len-1 predictions.
  const { loss, predictions } = await evaluateStream(model, ids, { streams: 1, window: 256 })
  const unknown = ids.reduce((n, id) => n + (id === vocabulary.unkId ? 1 : 0), 0)
  const unit = tokenizer.level === 'char' ? 'character' : 'token'
  const result = { source, tokens: ids.length, predictions, loss, perplexity: Math.exp(loss), bitsPerToken: loss / Math.LN2, unit, unknownTokens: unknown }
  if (v['json'] === true) {
    io.out.write(`${JSON.stringify(result)}\n`)
  } else {
    io.out.write(`${formatKeyValues([
      ['text', `${source} (${ids.length.toLocaleString('en')} ${unit}s${unknown > 0 ? `, ${unknown} unknown` : ''})`],
      ['mean loss', `${formatFixed(loss, 4)} nats`],
      ['perplexity', formatFixed(Math.exp(loss), 3)],
      [`bits per ${unit}`, formatFixed(loss / Math.LN2, 4)],
    ])}\n`)
  }
  return 0
}
