/**
 * `recur export`: a recur model file as safetensors (PyTorch's names and layouts, for PyTorch and
 * the tools around it) or as ONNX (for ONNX Runtime and the other engines that serve models).
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import { RecurError } from '../errors.js'
import { decodeModelFile } from '../io/model-format.js'
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET } from '../io/onnx.js'
import { encodePyTorchSafetensors } from '../io/pytorch.js'
import { ReferenceKernels } from '../kernels/reference/index.js'
import { LANGUAGE_MODEL_KIND, decodeLanguageModel } from '../models/language-model-file.js'
import { TASK_KINDS, decodeTaskModel, type TaskKind } from '../models/task-file.js'
import { defineCommand } from './args.js'
import { jsonFlag, type Io } from './common.js'

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'Write a model as safetensors (PyTorch names and layouts) or ONNX (for ONNX Runtime)',
  usage: '<model> --format safetensors|onnx [flags]',
  positionals: [{ name: 'model', description: 'Model file written by recur' }],
  flags: [
    { name: 'format', type: 'enum', values: ['safetensors', 'onnx'], description: 'safetensors: the weights with PyTorch names; onnx: a graph ONNX Runtime runs' },
    { name: 'out', type: 'string', placeholder: 'file', description: 'Where to write (default: the model path with .safetensors / .onnx; an encoder-decoder writes <out>.encoder.onnx and <out>.decoder.onnx)' },
    { name: 'softmax', type: 'boolean', description: 'ONNX: output probabilities instead of logits' },
    { name: 'initial-states', type: 'boolean', default: true, description: 'ONNX language model: take h0 (and c0) as inputs; --no-initial-states starts from zeros' },
    jsonFlag,
  ],
  examples: [
    { command: 'recur export model.recur --format onnx --out model.onnx', description: 'for ONNX Runtime' },
    { command: 'recur export model.recur --format safetensors', description: 'for PyTorch: model.safetensors' },
  ],
})

/** Reads a model file of any kind recur writes; errors name the path. */
async function readModelBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new RecurError('FILE', `model file ${path} does not exist`, 'Give the path of a model written by recur')
    if (code === 'EISDIR') throw new RecurError('FILE', `${path} is a directory, not a model file`, 'Give the path of a .recur file written by recur')
    throw new RecurError('FILE', `cannot read model file ${path}: ${(error as Error).message.split('\n')[0]}`, 'Check the path and its permissions')
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename, so no half-written file is left. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(temporary, bytes, { flag: 'wx' })
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => undefined)
    const code = (error as NodeJS.ErrnoException).code
    const cause = code === 'ENOENT' ? `the directory ${dirname(path)} does not exist` : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message.split('\n')[0]
    throw new RecurError('FILE', `cannot write ${path}: ${cause}`)
  }
}

/** `file.recur` -> `file.<ext>`. */
function replaceExtension(path: string, extension: string): string {
  return path.slice(0, path.length - extname(path).length) + extension
}

export async function runExport(path: string, v: Record<string, string | number | boolean | undefined>, io: Io): Promise<number> {
  const format = v['format'] as 'safetensors' | 'onnx' | undefined
  if (format === undefined) throw new RecurError('OPTION', 'recur export needs --format safetensors or --format onnx', 'safetensors for PyTorch, onnx for ONNX Runtime')
  if (format === 'safetensors' && v['softmax'] === true) throw new RecurError('OPTION', '--softmax applies to --format onnx only (safetensors holds weights, not outputs)')
  const bytes = await readModelBytes(path)
  const kind = decodeModelFile(bytes, { source: path }).kind
  const kernels = new ReferenceKernels('f32')
  const json = v['json'] === true
  const written: { file: string; bytes: number; inputs?: string[]; outputs?: string[] }[] = []

  if (kind !== LANGUAGE_MODEL_KIND && !(TASK_KINDS as readonly string[]).includes(kind)) {
    throw new RecurError('VERSION', `${path} holds a model of kind "${kind}"; recur export writes ${[LANGUAGE_MODEL_KIND, ...TASK_KINDS].join(', ')} models`)
  }
  const model = kind === LANGUAGE_MODEL_KIND
    ? { kind: 'language-model' as const, bundle: decodeLanguageModel(bytes, kernels, path) }
    : { kind: kind as TaskKind, bundle: decodeTaskModel(bytes, kernels, kind as TaskKind, path) }

  if (format === 'safetensors') {
    if (model.kind !== 'language-model' && model.bundle.kind !== 'tagger') {
      throw new RecurError('OPTION', `${path} is a ${kind}; safetensors export writes the language model and the tagger (embedding -> recurrent -> linear, as PyTorch builds them)`, 'Export it with --format onnx')
    }
    const out = (v['out'] as string | undefined) ?? replaceExtension(path, '.safetensors')
    const file = model.kind === 'language-model'
      ? await encodePyTorchSafetensors(model)
      : await encodePyTorchSafetensors({ kind: 'tagger', bundle: model.bundle as typeof model.bundle & { kind: 'tagger' } })
    await writeFileAtomic(out, file)
    written.push({ file: out, bytes: file.length })
  } else {
    const graphs = await exportOnnx(model, { softmax: v['softmax'] === true, initialStates: v['initialStates'] !== false })
    const given = v['out'] as string | undefined
    for (const graph of graphs) {
      const base = given ?? replaceExtension(path, '.onnx')
      const out = graph.role === 'model' ? base : `${replaceExtension(base, '')}.${graph.role}.onnx`
      await writeFileAtomic(out, graph.bytes)
      written.push({ file: out, bytes: graph.bytes.length, inputs: graph.inputs, outputs: graph.outputs })
    }
  }

  if (json) {
    io.out.write(`${JSON.stringify({ model: path, kind, format, files: written })}\n`)
    return 0
  }
  for (const w of written) {
    const what = format === 'onnx'
      ? `ONNX (IR ${ONNX_IR_VERSION}, opset ${ONNX_OPSET}), inputs ${w.inputs!.join(', ')} -> outputs ${w.outputs!.join(', ')}`
      : 'safetensors with PyTorch names and layouts'
    io.out.write(`wrote ${w.file}: ${kind} as ${what}, ${w.bytes.toLocaleString('en')} bytes\n`)
  }
  return 0
}
