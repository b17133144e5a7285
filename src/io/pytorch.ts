/**
 * PyTorch <-> recur: parameter names, layouts and gate conventions, for a single recurrent module
 * and for whole "embedding -> recurrent -> linear" networks (a language model, or a tagger when the
 * recurrent module is bidirectional), and the safetensors files that carry them.
 *
 * The mapping (docs/conventions.md states it once for the whole project):
 *
 *   names    PyTorch `{module}.weight_ih_l{k}[_reverse]`  <->  recur `{stack}.l{k}[_reverse].weight_ih`,
 *            the same for weight_hh, bias_ih, bias_hh. nn.Embedding `.weight` (V,E) and nn.Linear
 *            `.weight` (K, D*H) / `.bias` (K) have recur's layouts already.
 *   shapes   weight_ih (G*H, X_k), weight_hh (G*H, H), bias_ih and bias_hh (G*H), G row blocks of H.
 *            One-hot input: recur stores the first layer's weight_ih transposed, (V, G*H) (a row
 *            lookup); PyTorch's model with one-hot input has weight_ih_l0 (G*H, V).
 *   RNN      as is (tanh).
 *   LSTM     as is: PyTorch's blocks i, f, g, o are recur's Γu, Γf, c~, Γo. Peepholes: none in PyTorch.
 *   GRU      PyTorch's blocks r, z, n are recur's Γr, Γu, c~ with Γu = 1 - z. Since 1 - σ(v) = σ(-v),
 *            the middle (update) block of weight_ih, weight_hh, bias_ih and bias_hh is NEGATED, on
 *            import and again on export; gradients too. PyTorch's GRU is recur's reset 'after';
 *            reset 'before' has no PyTorch form.
 *   states   h0, c0, h_n, c_n (L*D, B, H): index layer*D + direction (1 = reverse).
 *   outputs  (T, B, D*H), the forward direction's H columns first: recur's merge 'concat'.
 *
 * Every conversion here is linear (a copy, a transpose, a sign), so the same functions convert
 * values and gradients, and float32 values go through unchanged bit for bit.
 *
 * A safetensors file written by recur (`encodePyTorchSafetensors`) holds the PyTorch state dict and,
 * in `__metadata__`, recur's description of the model as JSON strings: `recur.kind`,
 * `recur.architecture`, `recur.vocabulary`, `recur.tokenizer` (and `recur.labels` for a tagger),
 * plus `format: "pt"` as PyTorch tools expect. Such a file imports without a config; a file
 * written by PyTorch needs a `PyTorchImportConfig` for what the weights do not say (the tokens).
 *
 * Browser-safe: no `node:` imports.
 */
import type { CellKind } from '../cells/recurrent.js'
import { RecurError } from '../errors.js'
import type { GruReset, Kernels } from '../kernels/types.js'
import { CELL_GATES, LanguageModel, type LanguageModelArchitecture } from '../models/language-model.js'
import type { LanguageModelBundle } from '../models/language-model-file.js'
import { SequenceTagger, type TaggerArchitecture } from '../models/tagger.js'
import type { TaskBundle } from '../models/task-file.js'
import { resolveTokenizerOptions, type TokenizerOptionsInput } from '../text/tokenizers.js'
import { Vocabulary } from '../text/vocabulary.js'
import { describeShape, describeValue, quoteName, shortName } from './describe.js'
import {
  checkFiniteWeights, checkParameterBudget, fileBoolean, fileEnum, fileInt, fileNumber, fileRecord, fileTokenizer, fileVocabulary, inFileOrder, type BadFile,
} from './file-values.js'
import { decodeSafetensors, encodeSafetensors, tensorToFloat32, type SafetensorsInput } from './safetensors.js'

// ---------------------------------------------------------------------------------------------
// One recurrent module

/** One recurrent module of a PyTorch state_dict and the recur stack it becomes. */
export interface RecurrentModule {
  kind: CellKind
  /** PyTorch's prefix including the dot (`'lstm.'`), or `''` for a bare nn.LSTM's state_dict. */
  torchPrefix: string
  /** The StackedRecurrent's name in recur (`'rnn'` gives `rnn.l0.weight_ih`). */
  recurName: string
}

const TORCH_NAME = /^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$/
const RECUR_NAME = /^\.l(\d+)(_reverse)?\.(weight_ih|weight_hh|bias_ih|bias_hh)$/

/** `weight_ih_l1_reverse` of `module` -> `rnn.l1_reverse.weight_ih`, or null when not this module's. */
export function recurNameOf(torchName: string, module: RecurrentModule): string | null {
  if (!torchName.startsWith(module.torchPrefix)) return null
  const m = TORCH_NAME.exec(torchName.slice(module.torchPrefix.length))
  if (m === null) return null
  const [, tensor, layer, reverse = ''] = m
  return `${module.recurName}.l${layer}${reverse}.${tensor}`
}

/** `rnn.l1_reverse.weight_ih` -> `weight_ih_l1_reverse` (with the module's prefix), or null. */
export function torchNameOf(recurName: string, module: RecurrentModule): string | null {
  if (!recurName.startsWith(module.recurName)) return null
  const m = RECUR_NAME.exec(recurName.slice(module.recurName.length))
  if (m === null) return null
  const [, layer, reverse = '', tensor] = m
  return `${module.torchPrefix}${tensor}_l${layer}${reverse}`
}

/** A copy of `data` of the same float width: Float32Array stays float32, anything else becomes float64. */
function copyOf(data: ArrayLike<number>): Float32Array | Float64Array {
  return data instanceof Float32Array ? Float32Array.from(data) : Float64Array.from(data)
}

/**
 * A recurrent parameter (or its gradient) in (G*H, cols) or (G*H) layout converted between
 * PyTorch and recur: a copy, with the GRU update block negated. The conversion is its own
 * inverse, so import and export both use it.
 */
export function convertGateBlocks(kind: CellKind, data: ArrayLike<number>): Float32Array | Float64Array {
  const out = copyOf(data)
  if (kind === 'gru') {
    // (3H, cols) row-major, or (3H): the middle third of the elements is the z / Γu block.
    const third = out.length / 3
    for (let i = third; i < 2 * third; i++) out[i] = -out[i]!
  }
  return out
}

/**
 * PyTorch state_dict entries -> recur parameter values. Entries of a listed recurrent module are
 * renamed and converted; every other entry (nn.Embedding, nn.Linear) keeps its name and values.
 * Dense input only: a one-hot first layer needs the transpose that `fromPyTorchStateDict` does.
 */
export function fromPyTorch(
  stateDict: ReadonlyMap<string, ArrayLike<number>>, modules: readonly RecurrentModule[],
): Map<string, Float32Array | Float64Array> {
  const out = new Map<string, Float32Array | Float64Array>()
  for (const [torchName, data] of stateDict) {
    const module = modules.find((m) => recurNameOf(torchName, m) !== null)
    if (module === undefined) out.set(torchName, copyOf(data))
    else out.set(recurNameOf(torchName, module)!, convertGateBlocks(module.kind, data))
  }
  return out
}

/** recur parameter values (or gradients) -> PyTorch state_dict names and layouts: fromPyTorch's inverse. */
export function toPyTorch(
  values: ReadonlyMap<string, ArrayLike<number>>, modules: readonly RecurrentModule[],
): Map<string, Float32Array | Float64Array> {
  const out = new Map<string, Float32Array | Float64Array>()
  for (const [recurName, data] of values) {
    const module = modules.find((m) => torchNameOf(recurName, m) !== null)
    if (module === undefined) out.set(recurName, copyOf(data))
    else out.set(torchNameOf(recurName, module)!, convertGateBlocks(module.kind, data))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Whole networks: [nn.Embedding | one-hot] -> nn.RNN / nn.GRU / nn.LSTM -> nn.Linear

/** The architecture of a PyTorch "embedding -> recurrent -> linear" network. */
export interface PyTorchNetwork {
  cell: CellKind
  layers: number
  hidden: number
  bidirectional: boolean
  /** V: input vocabulary size. */
  vocabularySize: number
  /** E: nn.Embedding width, or 0 for one-hot input (the recurrent module's input_size is V). */
  embedding: number
  /** K: nn.Linear's output width (V for a language model, the tag count for a tagger). */
  outputs: number
}

/** Module names of the three parts: PyTorch's attribute names, or recur's parameter prefixes. */
export interface ModuleNames {
  embedding: string
  rnn: string
  out: string
}

/** PyTorch's names in a state dict that recur reads and writes by default. */
export const PYTORCH_MODULE_NAMES: Readonly<ModuleNames> = Object.freeze({ embedding: 'embedding', rnn: 'rnn', out: 'out' })
/** Where a language model keeps the three parts. */
export const LANGUAGE_MODEL_NAMES: Readonly<ModuleNames> = Object.freeze({ embedding: 'embedding', rnn: 'rnn', out: 'out' })
/** Where a tagger (with no hidden dense layers) keeps them. */
export const TAGGER_NAMES: Readonly<ModuleNames> = Object.freeze({ embedding: 'encoder.embedding', rnn: 'encoder', out: 'head.out' })

/** A tensor of a state dict. */
export interface StateTensor {
  shape: number[]
  data: Float32Array
}

/** The PyTorch state dict's names and shapes of a network, in PyTorch's order. */
export function pytorchShapes(net: PyTorchNetwork, torch: ModuleNames = PYTORCH_MODULE_NAMES): Map<string, number[]> {
  const { hidden: H, vocabularySize: V, embedding: E } = net
  const GH = CELL_GATES[net.cell] * H, D = net.bidirectional ? 2 : 1
  const shapes = new Map<string, number[]>()
  if (E > 0) shapes.set(`${torch.embedding}.weight`, [V, E])
  for (let l = 0; l < net.layers; l++) {
    const X = l === 0 ? (E > 0 ? E : V) : D * H
    for (const suffix of D === 2 ? ['', '_reverse'] : ['']) {
      shapes.set(`${torch.rnn}.weight_ih_l${l}${suffix}`, [GH, X])
      shapes.set(`${torch.rnn}.weight_hh_l${l}${suffix}`, [GH, H])
      shapes.set(`${torch.rnn}.bias_ih_l${l}${suffix}`, [GH])
      shapes.set(`${torch.rnn}.bias_hh_l${l}${suffix}`, [GH])
    }
  }
  shapes.set(`${torch.out}.weight`, [net.outputs, D * H])
  shapes.set(`${torch.out}.bias`, [net.outputs])
  return shapes
}

/** (rows, cols) row-major -> (cols, rows). */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!
  return out
}

/** The recur name of a PyTorch tensor of the network, and whether it is a one-hot weight_ih_l0. */
function recurNameFor(torchName: string, net: PyTorchNetwork, torch: ModuleNames, recur: ModuleNames): { name: string; oneHot: boolean; recurrent: boolean } {
  if (torchName === `${torch.embedding}.weight`) return { name: `${recur.embedding}.weight`, oneHot: false, recurrent: false }
  if (torchName === `${torch.out}.weight`) return { name: `${recur.out}.weight`, oneHot: false, recurrent: false }
  if (torchName === `${torch.out}.bias`) return { name: `${recur.out}.bias`, oneHot: false, recurrent: false }
  const name = recurNameOf(torchName, { kind: net.cell, torchPrefix: `${torch.rnn}.`, recurName: recur.rnn })!
  return { name, oneHot: net.embedding === 0 && /^weight_ih_l0(_reverse)?$/.test(torchName.slice(torch.rnn.length + 1)), recurrent: true }
}

/**
 * recur parameter values -> the network's PyTorch state dict (names, layouts, gate conversion),
 * in PyTorch's order. `values` must hold every parameter (float32).
 */
export function toPyTorchStateDict(
  net: PyTorchNetwork, values: ReadonlyMap<string, Float32Array>, recur: ModuleNames, torch: ModuleNames = PYTORCH_MODULE_NAMES,
): Map<string, StateTensor> {
  const out = new Map<string, StateTensor>()
  for (const [torchName, shape] of pytorchShapes(net, torch)) {
    const { name, oneHot, recurrent } = recurNameFor(torchName, net, torch, recur)
    const value = values.get(name)
    if (value === undefined) throw new RecurError('SHAPE', `PyTorch export: the model has no parameter '${name}' for '${torchName}'`)
    const size = shape.reduce((a, b) => a * b, 1)
    if (value.length !== size) throw new RecurError('SHAPE', `PyTorch export: parameter '${name}' has ${value.length} values, '${torchName}' [${shape.join(', ')}] needs ${size}`)
    // one-hot: recur (V, G*H) -> PyTorch (G*H, V), then the gate conversion on PyTorch's layout
    const laid = oneHot ? transpose(value, shape[1]!, shape[0]!) : value
    out.set(torchName, { shape, data: recurrent ? (convertGateBlocks(net.cell, laid) as Float32Array) : Float32Array.from(laid) })
  }
  return out
}

/**
 * A PyTorch state dict -> recur parameter values. Every tensor the network needs must be there
 * with its shape ('SHAPE' names the tensor, its shape and the one expected); tensors it does not
 * need are refused too ('SHAPE'), so a file of another architecture is not half read.
 */
export function fromPyTorchStateDict(
  net: PyTorchNetwork, stateDict: ReadonlyMap<string, StateTensor>, recur: ModuleNames, torch: ModuleNames = PYTORCH_MODULE_NAMES, source = 'PyTorch state dict',
): Map<string, Float32Array> {
  const expected = pytorchShapes(net, torch)
  for (const name of stateDict.keys()) {
    if (!expected.has(name)) {
      throw new RecurError('SHAPE', `${source}: unexpected tensor '${shortName(name)}' for ${describeNetwork(net)}`, `Expected exactly: ${listNames([...expected.keys()])}`)
    }
  }
  const out = new Map<string, Float32Array>()
  for (const [torchName, shape] of expected) {
    const tensor = stateDict.get(torchName)
    if (tensor === undefined) throw new RecurError('SHAPE', `${source}: missing tensor '${torchName}' [${shape.join(', ')}] of ${describeNetwork(net)}`)
    if (tensor.shape.join('x') !== shape.join('x')) {
      throw new RecurError('SHAPE', `${source}: tensor '${torchName}' has shape ${describeShape(tensor.shape)}, ${describeNetwork(net)} needs [${shape.join(', ')}]`)
    }
    const { name, oneHot, recurrent } = recurNameFor(torchName, net, torch, recur)
    const converted = recurrent ? (convertGateBlocks(net.cell, tensor.data) as Float32Array) : Float32Array.from(tensor.data)
    // one-hot: PyTorch (G*H, V) -> recur (V, G*H), after the gate conversion on PyTorch's layout
    out.set(name, oneHot ? transpose(converted, shape[0]!, shape[1]!) : converted)
  }
  return out
}

/** Up to 12 names, then how many more. */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 12).join(', ')
  return names.length > 12 ? `${shown} and ${names.length - 12} more` : shown
}

function describeNetwork(net: PyTorchNetwork): string {
  const input = net.embedding > 0 ? `nn.Embedding(${net.vocabularySize}, ${net.embedding})` : `one-hot(${net.vocabularySize})`
  const module = { rnn: 'nn.RNN', gru: 'nn.GRU', lstm: 'nn.LSTM' }[net.cell]
  const D = net.bidirectional ? 2 : 1
  return `${input} -> ${module}(hidden ${net.hidden}, layers ${net.layers}${net.bidirectional ? ', bidirectional' : ''}) -> nn.Linear(${D * net.hidden}, ${net.outputs})`
}

/**
 * The network a state dict holds, read from its shapes: H from weight_hh_l0 (G*H, H), the cell from
 * G (1 RNN, 3 GRU, 4 LSTM; `cell` breaks no tie but is checked), layers from the highest l, the
 * directions from `_reverse`, E and V from the embedding (or V from weight_ih_l0 for one-hot input),
 * K from the linear layer. Throws 'SHAPE' naming what is missing or inconsistent.
 */
export function inferPyTorchNetwork(shapes: ReadonlyMap<string, readonly number[]>, torch: ModuleNames = PYTORCH_MODULE_NAMES, source = 'PyTorch state dict'): PyTorchNetwork {
  const shape = (name: string, rank: number): readonly number[] => {
    const s = shapes.get(name)
    if (s === undefined) {
      throw new RecurError('SHAPE', `${source}: no tensor '${name}'`,
        `recur reads an nn.Embedding named '${torch.embedding}' (optional), an nn.RNN / nn.GRU / nn.LSTM named '${torch.rnn}' and an nn.Linear named '${torch.out}'; give the names your model uses in the config ("names")`)
    }
    if (s.length !== rank) throw new RecurError('SHAPE', `${source}: tensor '${name}' has shape ${describeShape(s)}, expected ${rank} dimensions`)
    return s
  }
  const [GH, H] = shape(`${torch.rnn}.weight_hh_l0`, 2) as [number, number]
  const G = GH / H
  const cell = (Object.keys(CELL_GATES) as CellKind[]).find((c) => CELL_GATES[c] === G)
  if (cell === undefined) throw new RecurError('SHAPE', `${source}: '${torch.rnn}.weight_hh_l0' is [${GH}, ${H}]: ${GH} rows are not 1, 3 or 4 gate blocks of ${H} (RNN, GRU, LSTM)`)
  let layers = 0
  while (shapes.has(`${torch.rnn}.weight_hh_l${layers}`)) layers++
  const bidirectional = shapes.has(`${torch.rnn}.weight_hh_l0_reverse`)
  const hasEmbedding = shapes.has(`${torch.embedding}.weight`)
  const [V, E] = hasEmbedding ? (shape(`${torch.embedding}.weight`, 2) as [number, number]) : [shape(`${torch.rnn}.weight_ih_l0`, 2)[1]!, 0]
  const [K] = shape(`${torch.out}.weight`, 2) as [number, number]
  return { cell, layers, hidden: H, bidirectional, vocabularySize: V, embedding: E, outputs: K }
}

/**
 * Refuses a recurrent variant PyTorch cannot express ('OPTION'): the GRU reset-before form and
 * LSTM peepholes. `what` names the model.
 */
export function checkPyTorchExpressible(what: string, variant: { cell: CellKind; reset: GruReset; peephole: boolean }): void {
  if (variant.cell === 'gru' && variant.reset === 'before') {
    throw new RecurError('OPTION', `${what} is a GRU with reset 'before', which PyTorch cannot express (nn.GRU applies the reset gate after the recurrent product)`,
      "Export it with --format onnx (linear_before_reset = 0), or train with reset 'after'")
  }
  if (variant.cell === 'lstm' && variant.peephole) {
    throw new RecurError('OPTION', `${what} is an LSTM with peepholes, which PyTorch cannot express (nn.LSTM has none)`,
      'Export it with --format onnx (the P input), or train without peepholes')
  }
}

// ---------------------------------------------------------------------------------------------
// Models <-> safetensors files

/** A model that goes to and from PyTorch: a language model, or a tagger with one linear output layer. */
export type PyTorchCompatibleModel =
  | { kind: 'language-model'; bundle: LanguageModelBundle }
  | { kind: 'tagger'; bundle: TaskBundle & { kind: 'tagger' } }

/**
 * What `recur import` needs besides a PyTorch model's weights. Architecture fields are optional:
 * what is left out is read from the tensors' shapes, what is given is checked against them.
 */
export interface PyTorchImportConfig {
  /** 'language-model' (default; unidirectional) or 'tagger' (one output per input token). */
  model?: 'language-model' | 'tagger'
  cell?: CellKind
  layers?: number
  hidden?: number
  bidirectional?: boolean
  /** E, or 0 for one-hot input. */
  embedding?: number
  /** The input tokens in id order (token i is row i of the embedding); must include `<UNK>`. */
  vocabulary: string[]
  /** How text becomes tokens: `level` alone ('char' or 'word') takes that level's defaults. */
  level?: 'char' | 'word'
  tokenizer?: TokenizerOptionsInput
  /** Tagger only: the tag names, in the order of nn.Linear's outputs. */
  labels?: string[]
  /** Tagger only: 'softmax' (default) or 'sigmoid' (one binary tag). */
  output?: 'softmax' | 'sigmoid'
  /** The PyTorch module names, when they are not embedding / rnn / out. */
  names?: Partial<ModuleNames>
}

const METADATA = {
  kind: 'recur.kind', architecture: 'recur.architecture', vocabulary: 'recur.vocabulary', tokenizer: 'recur.tokenizer', labels: 'recur.labels',
} as const

/** The PyTorch network of a recur model, refusing what PyTorch cannot express. */
export function pytorchNetworkOf(model: PyTorchCompatibleModel): PyTorchNetwork {
  if (model.kind === 'language-model') {
    const a = model.bundle.model.architecture
    checkPyTorchExpressible('the language model', a)
    return { cell: a.cell, layers: a.layers, hidden: a.hidden, bidirectional: false, vocabularySize: a.vocabularySize, embedding: a.embedding, outputs: a.vocabularySize }
  }
  const a = model.bundle.model.architecture
  checkPyTorchExpressible('the tagger', a)
  if (a.dense.length > 0) {
    throw new RecurError('OPTION', `the tagger has ${a.dense.length} hidden dense layer(s) before its output; the PyTorch form recur writes is one nn.Linear`, 'Export it with --format onnx')
  }
  if (a.bidirectional && a.merge !== 'concat') {
    throw new RecurError('OPTION', `the tagger merges its two directions by '${a.merge}'; a bidirectional PyTorch module concatenates them`, 'Export it with --format onnx')
  }
  return { cell: a.cell, layers: a.layers, hidden: a.hidden, bidirectional: a.bidirectional, vocabularySize: a.vocabularySize, embedding: a.embedding, outputs: a.tags }
}

/**
 * A safetensors file of a language model or tagger with PyTorch's names and layouts, and recur's
 * description of the model in `__metadata__`. Refuses ('OPTION') what PyTorch cannot express.
 */
export async function encodePyTorchSafetensors(model: PyTorchCompatibleModel): Promise<Uint8Array> {
  const net = pytorchNetworkOf(model)
  const values = await model.bundle.model.params.readValues()
  const names = model.kind === 'language-model' ? LANGUAGE_MODEL_NAMES : TAGGER_NAMES
  const stateDict = toPyTorchStateDict(net, values, names)
  const tensors: SafetensorsInput[] = [...stateDict].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))
  const metadata: Record<string, string> = {
    format: 'pt',
    [METADATA.kind]: model.kind,
    [METADATA.architecture]: JSON.stringify(model.bundle.model.architecture),
  }
  if (model.kind === 'language-model') {
    metadata[METADATA.vocabulary] = JSON.stringify(model.bundle.vocabulary.toJSON())
    metadata[METADATA.tokenizer] = JSON.stringify(model.bundle.tokenizer)
  } else {
    metadata[METADATA.vocabulary] = JSON.stringify(model.bundle.input.vocabulary.toJSON())
    metadata[METADATA.tokenizer] = JSON.stringify(model.bundle.input.tokenizer)
    metadata[METADATA.labels] = JSON.stringify(model.bundle.labels)
  }
  return encodeSafetensors(tensors, metadata)
}

/** Whether a decoded safetensors file carries recur's description of its model. */
export function hasRecurMetadata(metadata: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(metadata, METADATA.kind)
}

/**
 * A recur model from a safetensors file of PyTorch weights: with `config`, a model PyTorch
 * trained (names, layouts and gates converted; the config supplies the tokens); without, a file
 * recur wrote (its `__metadata__` describes the model). `source` and `configSource` name the two
 * in errors: 'FORMAT' for a malformed file or config, 'SHAPE' for a tensor that does not fit
 * (named), 'OPTION' when there is no config and the file has no recur metadata.
 */
export function decodePyTorchSafetensors(
  bytes: Uint8Array | ArrayBuffer, kernels: Kernels, config: unknown = null, source = 'safetensors file', configSource = 'config',
): PyTorchCompatibleModel {
  const file = decodeSafetensors(bytes, source)
  const stateDict = new Map<string, StateTensor>()
  for (const [name, t] of file.tensors) {
    const data = tensorToFloat32(t, name)
    checkFiniteWeights(source, name, data)
    stateDict.set(name, { shape: t.shape, data })
  }
  if (config === null) {
    if (!hasRecurMetadata(file.metadata)) {
      throw new RecurError('OPTION', `${source} has no recur metadata (it was not written by recur export), so the model's tokens are unknown`,
        'Pass --config with the vocabulary, tokenizer level and (optionally) the architecture; see README "PyTorch interop"')
    }
    return fromRecurMetadata(file.metadata, stateDict, kernels, source)
  }
  return fromConfig(checkConfig(config, configSource), stateDict, kernels, source, configSource)
}

function fromRecurMetadata(metadata: Readonly<Record<string, string>>, stateDict: ReadonlyMap<string, StateTensor>, kernels: Kernels, source: string): PyTorchCompatibleModel {
  const bad: BadFile = (what) => new RecurError('FORMAT', `${source}: ${what}`, 'The metadata is damaged')
  const json = (key: string): unknown => {
    const text = metadata[key]
    if (text === undefined) throw bad(`__metadata__ has no "${key}"`)
    try {
      return JSON.parse(text)
    } catch {
      throw bad(`__metadata__ "${key}" is not valid JSON`)
    }
  }
  const kind = metadata[METADATA.kind]
  if (kind !== 'language-model' && kind !== 'tagger') throw bad(`__metadata__ "${METADATA.kind}" is ${describeValue(kind)}, expected "language-model" or "tagger"`)
  const architecture = json(METADATA.architecture)
  if (typeof architecture !== 'object' || architecture === null) throw bad('the architecture is not an object')
  const vocabulary = fileVocabulary(json(METADATA.vocabulary), source, 'the vocabulary')
  const tokenizer = fileTokenizer(json(METADATA.tokenizer), 'tokenizer settings', bad)
  const stored = [...stateDict.values()].reduce((total, t) => total + t.data.length, 0)
  if (kind === 'language-model') {
    const a = checkLanguageModelArchitecture(architecture, bad)
    const net = networkFromArchitecture(a, false, a.vocabularySize)
    checkParameterBudget(networkWeights(net), stored, 'the architecture', bad)
    checkVocabulary(vocabulary, net, bad)
    checkShapes(net, stateDict, source)
    const model = new LanguageModel(kernels, a)
    model.params.writeValues(fromPyTorchStateDict(net, stateDict, LANGUAGE_MODEL_NAMES, PYTORCH_MODULE_NAMES, source))
    return { kind, bundle: { model, vocabulary, tokenizer, training: null, trainerState: null, validationIds: null } }
  }
  const a = checkTaggerArchitecture(architecture, bad)
  const labels = json(METADATA.labels)
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw bad('the labels are not a list of strings')
  if (a.output === 'softmax' ? labels.length !== a.tags : labels.length < 2) {
    throw bad(`the metadata names ${labels.length} labels for a ${a.output} output of ${a.tags} (a softmax needs one label per output, a sigmoid two)`)
  }
  const net = networkFromArchitecture(a, a.bidirectional, a.tags)
  checkParameterBudget(networkWeights(net), stored, 'the architecture', bad)
  checkVocabulary(vocabulary, net, bad)
  checkShapes(net, stateDict, source)
  const model = new SequenceTagger(kernels, a)
  model.params.writeValues(fromPyTorchStateDict(net, stateDict, TAGGER_NAMES, PYTORCH_MODULE_NAMES, source))
  return { kind, bundle: { kind, model, labels: labels as string[], input: { vocabulary, tokenizer }, training: null, optimizer: null } }
}

const CELLS: readonly CellKind[] = ['rnn', 'gru', 'lstm']

/** A language model's architecture from a file's metadata, checked field by field before anything is allocated. */
function checkLanguageModelArchitecture(value: object, bad: BadFile): LanguageModelArchitecture {
  const a = fileRecord(value, 'architecture', bad)
  const checked: LanguageModelArchitecture = {
    cell: fileEnum(a['cell'], 'architecture.cell', CELLS, bad),
    layers: fileInt(a['layers'], 'architecture.layers', 1, Number.MAX_SAFE_INTEGER, bad),
    hidden: fileInt(a['hidden'], 'architecture.hidden', 1, Number.MAX_SAFE_INTEGER, bad),
    vocabularySize: fileInt(a['vocabularySize'], 'architecture.vocabularySize', 2, Number.MAX_SAFE_INTEGER, bad),
    embedding: fileInt(a['embedding'], 'architecture.embedding', 0, Number.MAX_SAFE_INTEGER, bad),
    dropout: fileNumber(a['dropout'], 'architecture.dropout', 0, 0.999, bad),
    reset: fileEnum(a['reset'], 'architecture.reset', ['after', 'before'] as const, bad),
    peephole: fileBoolean(a['peephole'], 'architecture.peephole', bad),
  }
  if ((checked.cell === 'gru' && checked.reset === 'before') || (checked.cell === 'lstm' && checked.peephole)) {
    throw bad(`the architecture is a ${checked.cell === 'gru' ? "GRU with reset 'before'" : 'LSTM with peepholes'}, which PyTorch weights cannot hold`)
  }
  return inFileOrder(a, checked)
}

/**
 * A tagger's architecture from a file's metadata, checked field by field: the PyTorch form has
 * one nn.Linear after the recurrent module (no hidden dense layers) and concatenates directions.
 */
function checkTaggerArchitecture(value: object, bad: BadFile): TaggerArchitecture {
  const a = fileRecord(value, 'architecture', bad)
  const output = fileEnum(a['output'], 'architecture.output', ['softmax', 'sigmoid'] as const, bad)
  if (!Array.isArray(a['dense']) || a['dense'].length !== 0) throw bad(`architecture.dense is ${describeValue(a['dense'])}, expected [] (the PyTorch form has one linear layer)`)
  return inFileOrder(a, {
    ...checkLanguageModelArchitecture(a, bad),
    bidirectional: fileBoolean(a['bidirectional'], 'architecture.bidirectional', bad),
    merge: fileEnum(a['merge'], 'architecture.merge', ['concat'] as const, bad),
    tags: fileInt(a['tags'], 'architecture.tags', output === 'softmax' ? 2 : 1, output === 'softmax' ? Number.MAX_SAFE_INTEGER : 1, bad),
    output,
    dense: [],
    activation: fileEnum(a['activation'], 'architecture.activation', ['identity', 'tanh', 'sigmoid', 'relu'] as const, bad),
  })
}

/** The network of a checked architecture. */
function networkFromArchitecture(a: LanguageModelArchitecture, bidirectional: boolean, outputs: number): PyTorchNetwork {
  return { cell: a.cell, layers: a.layers, hidden: a.hidden, bidirectional, vocabularySize: a.vocabularySize, embedding: a.embedding, outputs }
}

/**
 * The weight matrices of a network (biases left out): at least what its state dict holds, so a
 * network whose count exceeds the file's values is refused before its tensor list is even built.
 * Floating point, so huge fields give a huge number, never a wrapped one.
 */
function networkWeights(net: PyTorchNetwork): number {
  const G = CELL_GATES[net.cell], D = net.bidirectional ? 2 : 1, H = net.hidden
  const input = net.embedding > 0 ? net.vocabularySize * net.embedding : D * G * H * net.vocabularySize
  return input + net.layers * D * G * H * H + net.outputs * D * H
}

/** The token ids of the vocabulary index the input weights: it must have exactly V tokens. */
function checkVocabulary(vocabulary: Vocabulary, net: PyTorchNetwork, bad: BadFile): void {
  if (vocabulary.size !== net.vocabularySize) throw bad(`the vocabulary has ${vocabulary.size} tokens but the architecture says ${net.vocabularySize}`)
}

/** Checks the file's tensors against the network before a model is allocated ('SHAPE', naming the tensor). */
function checkShapes(net: PyTorchNetwork, stateDict: ReadonlyMap<string, StateTensor>, source: string, torch: ModuleNames = PYTORCH_MODULE_NAMES): void {
  for (const [name, shape] of pytorchShapes(net, torch)) {
    const t = stateDict.get(name)
    if (t === undefined) throw new RecurError('SHAPE', `${source}: missing tensor '${name}' [${shape.join(', ')}] of ${describeNetwork(net)}`)
    if (t.shape.join('x') !== shape.join('x')) throw new RecurError('SHAPE', `${source}: tensor '${name}' has shape ${describeShape(t.shape)}, ${describeNetwork(net)} needs [${shape.join(', ')}]`)
  }
}

/** A config as read from JSON, checked field by field ('FORMAT' naming the field). */
function checkConfig(raw: unknown, configSource: string): PyTorchImportConfig {
  const bad = (what: string): never => {
    throw new RecurError('FORMAT', `${configSource}: ${what}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('expected a JSON object')
  const c = raw as Record<string, unknown>
  const known = ['model', 'cell', 'layers', 'hidden', 'bidirectional', 'embedding', 'vocabulary', 'vocabularySize', 'level', 'tokenizer', 'labels', 'output', 'names']
  for (const key of Object.keys(c)) if (!known.includes(key)) bad(`unknown field ${quoteName(key)} (known: ${known.join(', ')})`)
  if (c['model'] !== undefined && c['model'] !== 'language-model' && c['model'] !== 'tagger') bad(`"model" is ${JSON.stringify(c['model'])}, expected "language-model" or "tagger"`)
  if (c['cell'] !== undefined && !Object.hasOwn(CELL_GATES, c['cell'] as string)) bad(`"cell" is ${JSON.stringify(c['cell'])}, expected "rnn", "gru" or "lstm"`)
  for (const [name, min] of [['layers', 1], ['hidden', 1], ['embedding', 0]] as const) {
    const v = c[name]
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)) bad(`"${name}" is ${JSON.stringify(v)}, expected an integer >= ${min}`)
  }
  if (c['bidirectional'] !== undefined && typeof c['bidirectional'] !== 'boolean') bad(`"bidirectional" must be true or false`)
  if (c['vocabulary'] === undefined) {
    bad(c['vocabularySize'] !== undefined
      ? '"vocabularySize" alone is not enough: recur needs the tokens themselves to read and write text; give "vocabulary": the list of tokens in id order'
      : 'no "vocabulary": give the list of input tokens in id order (token i is row i of the embedding)')
  }
  if (!Array.isArray(c['vocabulary'])) bad('"vocabulary" must be a list of token strings')
  if (c['level'] !== undefined && c['level'] !== 'char' && c['level'] !== 'word') bad(`"level" is ${JSON.stringify(c['level'])}, expected "char" or "word"`)
  if (c['level'] === undefined && c['tokenizer'] === undefined) bad('no "level" (or "tokenizer"): say how text becomes tokens, "char" or "word"')
  if (c['labels'] !== undefined && (!Array.isArray(c['labels']) || !c['labels'].every((l) => typeof l === 'string'))) bad('"labels" must be a list of strings')
  if (c['output'] !== undefined && c['output'] !== 'softmax' && c['output'] !== 'sigmoid') bad(`"output" is ${JSON.stringify(c['output'])}, expected "softmax" or "sigmoid"`)
  if (c['names'] !== undefined) {
    const n = c['names']
    if (typeof n !== 'object' || n === null || Array.isArray(n)) bad('"names" must be an object { embedding, rnn, out }')
    for (const [key, value] of Object.entries(n as Record<string, unknown>)) {
      if (!['embedding', 'rnn', 'out'].includes(key) || typeof value !== 'string' || value === '') bad(`"names.${key}" must be one of embedding, rnn, out with a module name`)
    }
  }
  return raw as PyTorchImportConfig
}

/** Runs `read`, turning a RecurError about a config field into a FORMAT error that names the config. */
function configured<T>(configSource: string, field: string, read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (!(error instanceof RecurError)) throw error
    throw new RecurError('FORMAT', `${configSource}: ${field}: ${error.message}`)
  }
}

function fromConfig(config: PyTorchImportConfig, stateDict: ReadonlyMap<string, StateTensor>, kernels: Kernels, source: string, configSource: string): PyTorchCompatibleModel {
  const torch: ModuleNames = { ...PYTORCH_MODULE_NAMES, ...config.names }
  const shapes = new Map([...stateDict].map(([name, t]) => [name, t.shape]))
  const net = inferPyTorchNetwork(shapes, torch, source)
  for (const key of ['cell', 'layers', 'hidden', 'bidirectional', 'embedding'] as const) {
    const given = config[key]
    if (given !== undefined && given !== net[key]) {
      throw new RecurError('SHAPE', `${configSource} says ${key} ${JSON.stringify(given)} but the tensors of ${source} hold ${key} ${JSON.stringify(net[key])} (${describeNetwork(net)})`)
    }
  }
  const vocabulary = configured(configSource, '"vocabulary"', () => Vocabulary.fromTokens(config.vocabulary))
  if (vocabulary.size !== net.vocabularySize) {
    throw new RecurError('SHAPE', `${configSource} lists ${vocabulary.size} tokens but the input weights of ${source} have V = ${net.vocabularySize} rows`)
  }
  const tokenizer = configured(configSource, '"tokenizer"', () => resolveTokenizerOptions(config.tokenizer ?? { level: config.level! }))
  const model = config.model ?? 'language-model'
  const values = fromPyTorchStateDict(net, stateDict, model === 'language-model' ? LANGUAGE_MODEL_NAMES : TAGGER_NAMES, torch, source)
  const common = { cell: net.cell, layers: net.layers, hidden: net.hidden, vocabularySize: net.vocabularySize, embedding: net.embedding, dropout: 0, reset: 'after' as const, peephole: false }
  if (model === 'language-model') {
    if (net.bidirectional) {
      throw new RecurError('OPTION', `${source} holds a bidirectional recurrent module; a language model reads left to right only`, `Import it as a tagger: "model": "tagger" in ${configSource}`)
    }
    if (net.outputs !== net.vocabularySize) {
      throw new RecurError('SHAPE', `${source}: a language model predicts its own tokens, but '${torch.out}.weight' has ${net.outputs} outputs for V = ${net.vocabularySize}`, `Import it as a tagger ("model": "tagger") with ${net.outputs} labels`)
    }
    const lm = new LanguageModel(kernels, common)
    lm.params.writeValues(values)
    return { kind: 'language-model', bundle: { model: lm, vocabulary, tokenizer, training: null, trainerState: null, validationIds: null } }
  }
  const labels = config.labels ?? Array.from({ length: net.outputs }, (_, i) => `tag${i}`)
  if (labels.length !== net.outputs) throw new RecurError('SHAPE', `${configSource} lists ${labels.length} labels but '${torch.out}.weight' has ${net.outputs} outputs`)
  const output = config.output ?? 'softmax'
  const tagger = new SequenceTagger(kernels, { ...common, bidirectional: net.bidirectional, merge: 'concat', tags: net.outputs, output, dense: [], activation: 'tanh' })
  tagger.params.writeValues(values)
  return { kind: 'tagger', bundle: { kind: 'tagger', model: tagger, labels, input: { vocabulary, tokenizer }, training: null, optimizer: null } }
}
