/** `recur sample`: generate text from a trained language model, streamed as it comes. */
import { sampleTokens } from '../decode/sampling.js'
import { detokenize, tokenize } from '../text/tokenizers.js'
import { defineCommand } from './args.js'
import { backendFlag, backendFrom, encodeArgument, jsonFlag, loadModel, type Io } from './common.js'

export const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'Generate text from a trained model',
  usage: '<model> [flags]',
  positionals: [{ name: 'model', description: 'Model file written by recur train' }],
  flags: [
    { name: 'length', type: 'int', default: 500, min: 1, description: 'Most tokens to generate' },
    { name: 'temperature', type: 'number', default: 1, min: 0.01, max: 100, description: 'Softmax temperature: lower is safer, higher is wilder' },
    { name: 'top-k', type: 'int', default: 0, min: 0, description: 'Draw only from the k most probable tokens (0 = all)' },
    { name: 'top-p', type: 'number', default: 1, min: 0.001, max: 1, description: 'Draw only from the smallest set reaching probability p' },
    { name: 'greedy', type: 'boolean', description: 'Always take the most probable token' },
    { name: 'seed', type: 'int', default: 1, min: 0, max: 4294967295, description: 'Seed: the same seed gives the same sample' },
    { name: 'prime', type: 'string', placeholder: 'text', description: 'Text to start from (it is printed first)' },
    { name: 'unknown', type: 'enum', values: ['unk', 'error'], default: 'error', description: "Prime tokens outside the vocabulary: map to <UNK> or refuse" },
    { name: 'resample-unk', type: 'boolean', default: true, description: 'Draw again when <UNK> comes up (--no-resample-unk keeps it)' },
    { name: 'stop-at-eos', type: 'boolean', default: true, description: 'End the sample at <EOS>' },
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'recur sample runs/moby-dick/model.recur',
    { command: 'recur sample model.recur --prime "The whale" --temperature 0.7 --seed 3', description: 'continue a prompt, reproducibly' },
  ],
})

export async function runSample(path: string, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const kernels = await backendFrom(v['backend'] as string | undefined, io)
  const { model, vocabulary, tokenizer } = await loadModel(path, kernels)
  const primeText = (v['prime'] as string | undefined) ?? ''
  const primeTokens = tokenize(primeText, { ...tokenizer, eos: 'none' })
  const prime = encodeArgument(vocabulary, primeTokens, v['unknown'] as 'unk' | 'error', '--prime')
  const json = v['json'] === true
  const ids: number[] = []
  const separator = tokenizer.level === 'word' ? ' ' : ''
  if (!json && primeText !== '') io.out.write(primeText)
  let first = true
  for await (const id of sampleTokens(model, vocabulary, {
    length: v['length'] as number, temperature: v['temperature'] as number, topK: v['topK'] as number, topP: v['topP'] as number,
    greedy: v['greedy'] === true, seed: v['seed'] as number, resampleUnknown: v['resampleUnk'] as boolean,
    stopAtEos: v['stopAtEos'] as boolean, prime,
  })) {
    ids.push(id)
    if (!json) {
      const piece = detokenize([vocabulary.token(id)], tokenizer)
      io.out.write((first && primeText === '') || /^[.,;:!?)\]'"]/.test(piece) ? piece : separator + piece)
      first = false
    }
  }
  const text = detokenize(vocabulary.decode(ids), tokenizer)
  if (json) io.out.write(`${JSON.stringify({ prime: primeText, text, tokens: ids.length, seed: v['seed'] })}\n`)
  else io.out.write('\n')
  return 0
}
