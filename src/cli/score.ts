/** `recur score`: the log-probability of a sentence, P(y<1>,...,y<T>) = Π P(y<t> | y<1..t-1>). */
import { scoreTokens } from '../decode/sampling.js'
import { RecurError } from '../errors.js'
import { tokenize } from '../text/tokenizers.js'
import { defineCommand } from './args.js'
import { backendFlag, backendFrom, encodeArgument, jsonFlag, loadModel, type Io } from './common.js'
import { formatFixed, formatTable } from './format.js'

export const scoreCommand = defineCommand({
  name: 'score',
  summary: 'Log-probability of a sentence under a model, per token and in total',
  usage: '<model> <text...> [flags]',
  positionals: [
    { name: 'model', description: 'Model file written by recur train' },
    { name: 'text', description: 'The sentence to score', variadic: true },
  ],
  flags: [
    { name: 'unknown', type: 'enum', values: ['unk', 'error'], default: 'unk', description: 'Tokens outside the vocabulary: score as <UNK>, or refuse' },
    { name: 'tokens', type: 'boolean', description: 'Also list every token with its log-probability' },
    backendFlag,
    jsonFlag,
  ],
  examples: ['recur score runs/moby-dick/model.recur "Call me Ishmael."'],
})

export async function runScore(path: string, words: readonly string[], v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const kernels = await backendFrom(v['backend'] as string | undefined, io)
  const { model, vocabulary, tokenizer } = await loadModel(path, kernels)
  const text = words.join(' ')
  const tokens = tokenize(text, tokenizer)
  if (tokens.length === 0) throw new RecurError('DATA', 'nothing to score: the text has no tokens', `Give the text after the model, e.g. recur score ${path} "Call me Ishmael."`)
  const ids = encodeArgument(vocabulary, tokens, v['unknown'] as 'unk' | 'error', 'the text')
  const score = await scoreTokens(model, vocabulary, ids)
  const rows = tokens.map((token, i) => ({ token, id: ids[i], logProb: score.tokenLogProbs[i] }))
  if (v['json'] === true) {
    io.out.write(`${JSON.stringify({ text, tokens: rows, logProb: score.logProb, log10Prob: score.logProb / Math.LN10, meanLogProb: score.meanLogProb, perplexity: Math.exp(-score.meanLogProb) })}\n`)
    return 0
  }
  if (v['tokens'] === true) {
    io.out.write(`${formatTable([['token', 'log P'], ...rows.map((r) => [JSON.stringify(r.token), formatFixed(r.logProb, 4)])])}\n`)
  }
  io.out.write(`log P = ${formatFixed(score.logProb, 4)} (natural log; log10 P = ${formatFixed(score.logProb / Math.LN10, 4)}) over ${tokens.length} tokens, ` +
    `${formatFixed(score.meanLogProb, 4)} per token, perplexity ${formatFixed(Math.exp(-score.meanLogProb), 3)}\n`)
  return 0
}
