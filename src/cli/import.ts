/**
 * `recur import`: a recur model file from PyTorch weights in a safetensors file, so a model trained
 * in PyTorch samples, scores and keeps training in recur. A file written by `recur export` carries
 * its own description and needs no config.
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { RecurError } from '../errors.js'
import { saveModelFile } from '../io/model-file.js'
import { decodePyTorchSafetensors } from '../io/pytorch.js'
import { ReferenceKernels } from '../kernels/reference/index.js'
import { languageModelFileContents } from '../models/language-model-file.js'
import { taskFileContents } from '../models/task-file.js'
import { defineCommand } from './args.js'
import { jsonFlag, type Io } from './common.js'

export const importCommand = defineCommand({
  name: 'import',
  summary: 'Build a recur model from PyTorch weights in a safetensors file',
  usage: '<weights> [--config config.json] [--out model.recur]',
  positionals: [{ name: 'weights', description: 'safetensors file (PyTorch names: embedding.weight, rnn.weight_ih_l0, ..., out.weight)' }],
  flags: [
    { name: 'config', type: 'string', placeholder: 'file', description: 'JSON with the vocabulary, the tokenizer level and (optionally) the architecture; not needed for a file recur exported' },
    { name: 'out', type: 'string', placeholder: 'file', description: 'Where to write the recur model (default: the weights path with .recur)' },
    jsonFlag,
  ],
  examples: [
    { command: 'recur import lm.safetensors --config lm.json --out lm.recur', description: 'a PyTorch language model' },
    { command: 'recur sample lm.recur', description: 'then use it like any recur model' },
  ],
})

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new RecurError('FILE', `${what} ${path} does not exist`, `Check the path (a relative path is resolved from ${process.cwd()})`)
    if (code === 'EISDIR') throw new RecurError('FILE', `${what} ${path} is a directory`, `Give the path of the ${what} itself`)
    throw new RecurError('FILE', `cannot read ${what} ${path}: ${(error as Error).message.split('\n')[0]}`, 'Check the path and its permissions')
  }
}

export async function runImport(path: string, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const configPath = v['config'] as string | undefined
  const weights = await readBytes(path, 'weights file')
  let config: unknown = null
  if (configPath !== undefined) config = parseConfig(await readBytes(configPath, 'config file'), configPath)
  const imported = decodePyTorchSafetensors(weights, new ReferenceKernels('f32'), config, path, configPath ?? 'config')
  const out = (v['out'] as string | undefined) ?? path.slice(0, path.length - extname(path).length) + '.recur'
  const contents = imported.kind === 'language-model' ? await languageModelFileContents(imported.bundle) : await taskFileContents(imported.bundle)
  await saveModelFile(out, contents)

  const a = imported.bundle.model.architecture
  const D = imported.kind === 'tagger' && imported.bundle.model.architecture.bidirectional ? 2 : 1
  const vocabulary = imported.kind === 'language-model' ? imported.bundle.vocabulary : imported.bundle.input.vocabulary
  const parameters = imported.bundle.model.params.size
  if (v['json'] === true) {
    io.out.write(`${JSON.stringify({ weights: path, config: configPath ?? null, out, kind: imported.kind, architecture: a, parameters, vocabulary: vocabulary.size })}\n`)
    return 0
  }
  const cell = { rnn: 'RNN', gru: 'GRU', lstm: 'LSTM' }[a.cell]
  const input = a.embedding > 0 ? `embedding ${a.embedding}` : 'one-hot input'
  const what = imported.kind === 'language-model' ? 'language model' : `${D === 2 ? 'bidirectional ' : ''}tagger with ${imported.bundle.labels.length} tags`
  io.out.write(`imported ${path}: ${cell} ${what}, ${a.layers} x ${a.hidden}, ${input}, ${vocabulary.size} tokens, ${parameters.toLocaleString('en')} parameters\n`)
  io.out.write(`wrote ${out}\n`)
  return 0
}

const CONFIG_EXAMPLE = 'Give a JSON file such as {"vocabulary": ["<UNK>", "a", "b"], "level": "char"}'

/** The JSON of a config file, refusing binary or non-UTF-8 content and reporting where the JSON breaks. */
function parseConfig(bytes: Uint8Array, path: string): unknown {
  let text: string
  try {
    if (bytes.indexOf(0) >= 0) throw new Error('NUL byte')
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new RecurError('FORMAT', `config file ${path} is not UTF-8 text`, CONFIG_EXAMPLE)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    // The parser's message quotes the text: keep its first line, without control characters.
    const reason = (error as Error).message.split('\n')[0]!.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 160)
    throw new RecurError('FORMAT', `config file ${path} is not valid JSON (${reason})`, CONFIG_EXAMPLE)
  }
}
