/**
 * ONNX export: recur's models as standard ONNX graphs built from ONNX's own RNN / GRU / LSTM
 * operators, for ONNX Runtime and the other engines that serve ONNX at scale. The protobuf is
 * produced by `onnx-proto` (ONNX's definitions compiled for protobufjs); see ./onnx/graph.ts.
 *
 * Graphs (time-major like recur; T and B are symbolic, every other size is fixed):
 *
 *   language model   tokens (T,B) int64 [, h0 (S,B,H), c0 (S,B,H)]  ->  logits (T,B,V), hn, cn (S,B,H)
 *   tagger           tokens (T,B) int64                             ->  logits (T,B,K)
 *   classifier       tokens (T,B) int64                             ->  logits (B,K)
 *   encoder-decoder  encoder graph: source (Tx,B) int64             ->  h0 [, c0] (Ld,B,Hd): the decoder's initial states
 *                    decoder graph: tokens (T,B) int64, h0 [, c0]   ->  logits (T,B,V), hn [, cn]
 *                    (T = 1 is one decoding step: feed hn / cn back as h0 / c0)
 *
 *   S = layers * directions, in PyTorch's order (index layer*D + direction). With `softmax` the
 *   graph outputs `probabilities` instead of `logits`: Softmax over the last axis, or Sigmoid for
 *   a sigmoid output. Without `initialStates` the language model and decoder graphs start from
 *   zeros and have only the `tokens` input.
 *
 * How each part is written:
 *
 *   embedding        Gather(embedding.weight (V,E), tokens) -> (T,B,E)
 *   one-hot input    OneHot(tokens, V) -> (T,B,V) feeding the first layer with W = weight_ih as
 *                    (G*H, V), recur's (V, G*H) lookup table transposed: the same product PyTorch
 *                    computes for a one-hot model. (Gathering rows of the table would give the input
 *                    projection directly, but ONNX's recurrent operators take X and W, not X W^T.)
 *   each layer       one RNN / GRU / LSTM node: W (D, G*H, X), R (D, G*H, H), B (D, 2*G*H) = [b_ih, b_hh],
 *                    initial_h / initial_c = Slice of h0 / c0, direction 'forward' or 'bidirectional'.
 *                    Its Y (T, D, B, H) becomes (T, B, D*H) by Transpose [0,2,1,3] and Reshape
 *                    (merge 'concat', forward half first) or ReduceSum over D (merge 'sum').
 *   gate order       converted from recur's (docs/conventions.md): LSTM [Γu,Γf,c~,Γo] -> ONNX
 *                    [i,o,f,c]; GRU [Γr,Γu,c~] -> ONNX [z,r,h] with z = -Γu's block (Γu = 1 - z),
 *                    linear_before_reset = 1 for reset 'after', 0 for reset 'before'; peepholes
 *                    [pu,pf,po] -> P (D, 3H) = [p_i,p_o,p_f].
 *   dense layers     MatMul(x, W^T) + Add(b), then Tanh / Sigmoid / Relu as the layer has it.
 *   pooling          'final': the top layer's Y_h (D,B,H) -> (B, D*H); 'mean' / 'max': ReduceMean /
 *                    ReduceMax over time.
 *   bridge           per decoder layer, [→a, ←a] of the encoder layer it reads -> Dense (tanh) for
 *                    h, Dense (identity) for c; or the encoder's final states as they are.
 *
 * Padding: the graphs have no mask. Every sequence of a batch must have the same length T
 * (batch sequences of equal length, or run them one at a time); a padded batch would mix the
 * padding into the states, the pooled encodings and the decoder's start.
 * Token ids must be in [0, V): Gather refuses others, OneHot turns them into zero vectors.
 */
import type { CellKind } from '../cells/recurrent.js'
import { RecurError } from '../errors.js'
import type { Activation, GruReset } from '../kernels/types.js'
import type { Merge } from '../layers/recurrent.js'
import type { SequenceClassifier } from '../models/classifier.js'
import { CELL_GATES, type LanguageModel } from '../models/language-model.js'
import type { LanguageModelBundle } from '../models/language-model-file.js'
import type { Seq2Seq } from '../models/seq2seq.js'
import type { SequenceTagger } from '../models/tagger.js'
import type { TaskBundle } from '../models/task-file.js'
import { FLOAT, GraphBuilder, INT64 } from './onnx/graph.js'

export { ONNX_IR_VERSION, ONNX_OPSET } from './onnx/graph.js'

export interface OnnxExportOptions {
  /** Output probabilities (Softmax, or Sigmoid for a sigmoid output) instead of logits. Default false. */
  softmax?: boolean
  /** Language model and decoder: take the initial states as inputs h0 (and c0). Default true. */
  initialStates?: boolean
}

/** One exported graph: its role ('model', or 'encoder' / 'decoder'), its bytes, and its inputs and outputs. */
export interface OnnxGraph {
  role: 'model' | 'encoder' | 'decoder'
  bytes: Uint8Array
  inputs: string[]
  outputs: string[]
}

/** A model to export, with what a server needs to turn text into ids (kept in the graph's metadata_props). */
export type OnnxExportable = { kind: 'language-model'; bundle: LanguageModelBundle } | { kind: 'classifier' | 'tagger' | 'seq2seq'; bundle: TaskBundle }

type Values = ReadonlyMap<string, Float32Array>

/** What a recurrent stack needs to be written: the parameters' prefix and the architecture. */
interface StackSpec {
  name: string
  cell: CellKind
  layers: number
  hidden: number
  directions: 1 | 2
  merge: Merge
  reset: GruReset
  peephole: boolean
  /** V for a one-hot first layer (input 'lookup'), else the embedding width E. */
  inputSize: number
  lookup: boolean
}

/** recur's gate block b of ONNX's block i, and its sign (GRU: z = -Γu's pre-activation). */
const ONNX_GATES: Readonly<Record<CellKind, readonly { block: number; sign: 1 | -1 }[]>> = {
  rnn: [{ block: 0, sign: 1 }],
  gru: [{ block: 1, sign: -1 }, { block: 0, sign: 1 }, { block: 2, sign: 1 }], // z, r, h from Γr, Γu, c~
  lstm: [{ block: 0, sign: 1 }, { block: 3, sign: 1 }, { block: 1, sign: 1 }, { block: 2, sign: 1 }], // i, o, f, c from Γu, Γf, c~, Γo
}

/** (G*H, cols) in recur's gate order -> ONNX's gate order and signs, appended to `out` at `at`. */
function toOnnxGates(cell: CellKind, data: Float32Array, H: number, cols: number, out: Float32Array, at: number): void {
  const block = H * cols
  ONNX_GATES[cell].forEach(({ block: from, sign }, i) => {
    for (let j = 0; j < block; j++) out[at + i * block + j] = sign * data[from * block + j]!
  })
}

/** (rows, cols) row-major -> (cols, rows). */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!
  return out
}

function param(values: Values, name: string): Float32Array {
  const v = values.get(name)
  if (v === undefined) throw new RecurError('STATE', `ONNX export: the model has no parameter '${name}'`)
  return v
}

/** tokens (T,B) int64 -> x (T,B,E) by Gather, or (T,B,V) by OneHot for a one-hot first layer. */
function embed(g: GraphBuilder, values: Values, embeddingName: string | null, V: number, tokens: string): string {
  if (embeddingName !== null) {
    const table = param(values, `${embeddingName}.weight`)
    const weight = g.floats(`${embeddingName}.weight`, [V, table.length / V], table)
    return g.op('Gather', [weight, tokens], { axis: 0 })
  }
  const depth = g.int64s('onehot_depth', [V], [])
  const offOn = g.floats('onehot_values', [2], Float32Array.of(0, 1))
  return g.op('OneHot', [tokens, depth, offOn], { axis: -1 })
}

/**
 * The recurrent layers of `spec` on x (T,B,X): one ONNX RNN / GRU / LSTM node per layer. Initial
 * states are slices of h0 / c0 (S,B,H) when given. Returns ys (T,B,outputSize) and each layer's
 * final states (D,B,H).
 */
function stack(g: GraphBuilder, values: Values, spec: StackSpec, x: string, h0: string | null, c0: string | null): { ys: string; h: string[]; c: string[] } {
  const { cell, hidden: H, directions: D } = spec
  const G = CELL_GATES[cell], GH = G * H
  const op = { rnn: 'RNN', gru: 'GRU', lstm: 'LSTM' }[cell]
  const finalsH: string[] = [], finalsC: string[] = []
  let input = x
  let X = spec.inputSize
  for (let l = 0; l < spec.layers; l++) {
    const W = new Float32Array(D * GH * X), R = new Float32Array(D * GH * H), Bias = new Float32Array(D * 2 * GH)
    const P = spec.peephole ? new Float32Array(D * 3 * H) : null
    for (let d = 0; d < D; d++) {
      const prefix = `${spec.name}.l${l}${d === 1 ? '_reverse' : ''}`
      const wIh = param(values, `${prefix}.weight_ih`)
      // a one-hot first layer stores W_ih as (V, G*H); ONNX takes (G*H, V)
      toOnnxGates(cell, l === 0 && spec.lookup ? transpose(wIh, X, GH) : wIh, H, X, W, d * GH * X)
      toOnnxGates(cell, param(values, `${prefix}.weight_hh`), H, H, R, d * GH * H)
      toOnnxGates(cell, param(values, `${prefix}.bias_ih`), H, 1, Bias, d * 2 * GH)
      toOnnxGates(cell, param(values, `${prefix}.bias_hh`), H, 1, Bias, d * 2 * GH + GH)
      if (P !== null) {
        const p = param(values, `${prefix}.peephole`) // [pu, pf, po] -> [p_i, p_o, p_f]
        P.set(p.subarray(0, H), d * 3 * H)
        P.set(p.subarray(2 * H, 3 * H), d * 3 * H + H)
        P.set(p.subarray(H, 2 * H), d * 3 * H + 2 * H)
      }
    }
    const name = `${spec.name}.l${l}`
    const slice = (states: string | null): string => {
      if (states === null) return ''
      return g.op('Slice', [states, g.int64s(`${name}.state_start`, [l * D]), g.int64s(`${name}.state_end`, [(l + 1) * D]), g.int64s(`${name}.state_axis`, [0])])
    }
    const inputs = [input, g.floats(`${name}.W`, [D, GH, X], W), g.floats(`${name}.R`, [D, GH, H], R), g.floats(`${name}.B`, [D, 2 * GH], Bias), '', slice(h0)]
    if (cell === 'lstm') inputs.push(slice(c0), P === null ? '' : g.floats(`${name}.P`, [D, 3 * H], P))
    while (inputs[inputs.length - 1] === '') inputs.pop()
    const attributes: Record<string, number | string> = { hidden_size: H, direction: D === 2 ? 'bidirectional' : 'forward' }
    if (cell === 'gru') attributes['linear_before_reset'] = spec.reset === 'after' ? 1 : 0
    const [Y, Yh, Yc] = g.node(op, inputs, cell === 'lstm' ? 3 : 2, attributes)
    finalsH.push(Yh!)
    if (Yc !== undefined) finalsC.push(Yc)
    // Y (T, D, B, H) -> (T, B, D*H) [forward half first] or (T, B, H) summed over directions
    if (D === 2 && spec.merge === 'sum') {
      input = g.op('ReduceSum', [Y!, g.int64s(`${name}.direction_axis`, [1])], { keepdims: 0 })
    } else {
      const perm = g.op('Transpose', [Y!], { perm: [0, 2, 1, 3] })
      input = g.op('Reshape', [perm, g.int64s(`${name}.merge_shape`, [0, 0, D * H])])
    }
    X = D === 2 && spec.merge === 'concat' ? D * H : H
  }
  return { ys: input, h: finalsH, c: finalsC }
}

/** x (..., X) -> x W^T + b (..., Y), then the activation. */
function dense(g: GraphBuilder, values: Values, name: string, x: string, activation: Activation): string {
  const weight = param(values, `${name}.weight`), bias = param(values, `${name}.bias`)
  const Y = bias.length, X = weight.length / Y
  const product = g.op('MatMul', [x, g.floats(`${name}.weight_t`, [X, Y], transpose(weight, Y, X))])
  const z = g.op('Add', [product, g.floats(`${name}.bias`, [Y], bias)])
  switch (activation) {
    case 'identity':
      return z
    case 'tanh':
      return g.op('Tanh', [z])
    case 'sigmoid':
      return g.op('Sigmoid', [z])
    case 'relu':
      return g.op('Relu', [z])
  }
}

/** The model's output: logits as they are, or probabilities (Softmax over the last axis, or Sigmoid). */
function finish(g: GraphBuilder, logits: string, output: 'softmax' | 'sigmoid', probabilities: boolean): string {
  if (!probabilities) return g.op('Identity', [logits], {}, 'logits')
  return output === 'softmax' ? g.op('Softmax', [logits], { axis: -1 }, 'probabilities') : g.op('Sigmoid', [logits], {}, 'probabilities')
}

/** Concat of per-layer states (D,B,H) into (S,B,H), named. */
function concatStates(g: GraphBuilder, states: readonly string[], name: string): string {
  return g.op('Concat', states, { axis: 0 }, name)
}

const DOC_PADDING = 'Every sequence of a batch must have the same length T: the graph has no padding mask.'

function stackOf(name: string, a: { cell: CellKind; layers: number; hidden: number; vocabularySize: number; embedding: number; reset: GruReset; peephole: boolean }, bidirectional: boolean, merge: Merge): StackSpec {
  return {
    name, cell: a.cell, layers: a.layers, hidden: a.hidden, directions: bidirectional ? 2 : 1, merge, reset: a.reset, peephole: a.peephole,
    inputSize: a.embedding > 0 ? a.embedding : a.vocabularySize, lookup: a.embedding === 0,
  }
}

/**
 * A token -> next-token-logits graph with state inputs and outputs: the language model, and the
 * decoder of an encoder-decoder (both unidirectional).
 */
function stepGraph(
  g: GraphBuilder, values: Values, spec: StackSpec, embeddingName: string | null, outName: string, V: number, options: OnnxExportOptions,
): { inputs: string[]; outputs: string[] } {
  const S = spec.layers, H = spec.hidden, lstm = spec.cell === 'lstm'
  const withStates = options.initialStates ?? true
  const tokens = g.input('tokens', INT64, ['T', 'B'])
  const h0 = withStates ? g.input('h0', FLOAT, [S, 'B', H]) : null
  const c0 = withStates && lstm ? g.input('c0', FLOAT, [S, 'B', H]) : null
  const x = embed(g, values, embeddingName, V, tokens)
  const { ys, h, c } = stack(g, values, spec, x, h0, c0)
  const output = finish(g, dense(g, values, outName, ys, 'identity'), 'softmax', options.softmax === true)
  g.output(output, FLOAT, ['T', 'B', V])
  concatStates(g, h, 'hn')
  g.output('hn', FLOAT, [S, 'B', H])
  if (lstm) {
    concatStates(g, c, 'cn')
    g.output('cn', FLOAT, [S, 'B', H])
  }
  return { inputs: ['tokens', ...(h0 === null ? [] : ['h0']), ...(c0 === null ? [] : ['c0'])], outputs: [output, 'hn', ...(lstm ? ['cn'] : [])] }
}

/** The ONNX graph of a language model: tokens (T,B) [, h0, c0] -> logits (T,B,V), hn [, cn]. */
export async function languageModelToOnnx(model: LanguageModel, options: OnnxExportOptions = {}, metadata: Readonly<Record<string, string>> = {}): Promise<OnnxGraph> {
  const a = model.architecture
  const values = await model.params.readValues()
  const g = new GraphBuilder('recur_language_model')
  const io = stepGraph(g, values, stackOf('rnn', a, false, 'concat'), a.embedding > 0 ? 'embedding' : null, 'out', a.vocabularySize, options)
  const doc = `recur language model (${describeCell(a)}, ${a.layers} x ${a.hidden}, V = ${a.vocabularySize}): tokens (T,B) int64${io.inputs.length > 1 ? ', h0 (L,B,H)' : ''}${io.inputs.includes('c0') ? ', c0 (L,B,H)' : ''} -> ${io.outputs[0]} (T,B,V), ${io.outputs.slice(1).join(', ')} (L,B,H). Zero states when starting a text. ${DOC_PADDING}`
  return { role: 'model', bytes: g.encode({ docString: doc, metadata: { 'recur.kind': 'language-model', ...metadata } }), ...io }
}

/** The ONNX graph of a tagger: tokens (T,B) -> logits (T,B,K). */
export async function taggerToOnnx(model: SequenceTagger, options: OnnxExportOptions = {}, metadata: Readonly<Record<string, string>> = {}): Promise<OnnxGraph> {
  const a = model.architecture
  const values = await model.params.readValues()
  const g = new GraphBuilder('recur_tagger')
  const tokens = g.input('tokens', INT64, ['T', 'B'])
  const x = embed(g, values, a.embedding > 0 ? 'encoder.embedding' : null, a.vocabularySize, tokens)
  const { ys } = stack(g, values, stackOf('encoder', a, a.bidirectional, a.merge), x, null, null)
  const output = finish(g, head(g, values, a.dense, a.activation, ys), a.output, options.softmax === true)
  g.output(output, FLOAT, ['T', 'B', a.tags])
  const doc = `recur tagger (${describeCell(a)}, ${a.bidirectional ? 'bidirectional, ' : ''}${a.layers} x ${a.hidden}, K = ${a.tags}): tokens (T,B) int64 -> ${output} (T,B,K). ${DOC_PADDING}`
  return { role: 'model', bytes: g.encode({ docString: doc, metadata: { 'recur.kind': 'tagger', ...metadata } }), inputs: ['tokens'], outputs: [output] }
}

/** The ONNX graph of a classifier: tokens (T,B) -> logits (B,K). */
export async function classifierToOnnx(model: SequenceClassifier, options: OnnxExportOptions = {}, metadata: Readonly<Record<string, string>> = {}): Promise<OnnxGraph> {
  const a = model.architecture
  const values = await model.params.readValues()
  const g = new GraphBuilder('recur_classifier')
  const tokens = g.input('tokens', INT64, ['T', 'B'])
  const x = embed(g, values, a.embedding > 0 ? 'encoder.embedding' : null, a.vocabularySize, tokens)
  const { ys, h } = stack(g, values, stackOf('encoder', a, a.bidirectional, a.merge), x, null, null)
  let pooled: string
  if (a.pooling === 'final') {
    // the top layer's Y_h (D,B,H) -> (B,D,H) -> (B, D*H): [→a<T>, ←a<1>] per row
    const perm = g.op('Transpose', [h[h.length - 1]!], { perm: [1, 0, 2] })
    pooled = g.op('Reshape', [perm, g.int64s('pooled_shape', [0, (a.bidirectional ? 2 : 1) * a.hidden])])
  } else {
    pooled = g.op(a.pooling === 'mean' ? 'ReduceMean' : 'ReduceMax', [ys], { axes: [0], keepdims: 0 })
  }
  const output = finish(g, head(g, values, a.dense, a.activation, pooled), a.output, options.softmax === true)
  g.output(output, FLOAT, ['B', a.classes])
  const doc = `recur classifier (${describeCell(a)}, ${a.bidirectional ? 'bidirectional, ' : ''}${a.layers} x ${a.hidden}, pooling ${a.pooling}, K = ${a.classes}): tokens (T,B) int64 -> ${output} (B,K). ${DOC_PADDING}`
  return { role: 'model', bytes: g.encode({ docString: doc, metadata: { 'recur.kind': 'classifier', ...metadata } }), inputs: ['tokens'], outputs: [output] }
}

/**
 * The two ONNX graphs of an encoder-decoder: the encoder (source (Tx,B) -> the decoder's initial
 * states h0 [, c0]) and the decoder (tokens (T,B), h0 [, c0] -> logits (T,B,V), hn [, cn]).
 */
export async function seq2seqToOnnx(model: Seq2Seq, options: OnnxExportOptions = {}, metadata: Readonly<Record<string, string>> = {}): Promise<{ encoder: OnnxGraph; decoder: OnnxGraph }> {
  const { encoder: e, decoder: d } = model.architecture
  const values = await model.params.readValues()
  const lstm = e.cell === 'lstm'
  const D = e.bidirectional ? 2 : 1

  const ge = new GraphBuilder('recur_encoder')
  const source = ge.input('source', INT64, ['T', 'B'])
  const x = embed(ge, values, e.embedding > 0 ? 'encoder.embedding' : null, e.vocabularySize, source)
  const encoded = stack(ge, values, stackOf('encoder', e, e.bidirectional, e.merge), x, null, null)
  if (model.bridges === null) {
    concatStates(ge, encoded.h, 'h0')
    if (lstm) concatStates(ge, encoded.c, 'c0')
  } else {
    const bridged = (states: readonly string[], l: number, kind: 'h' | 'c'): string => {
      const from = model.bridges![l]!.fromLayer
      // (D,B,He) -> (B, D*He): [→a, ←a] of encoder layer `from`
      const perm = ge.op('Transpose', [states[from]!], { perm: [1, 0, 2] })
      const input = ge.op('Reshape', [perm, ge.int64s(`bridge.l${l}.${kind}.shape`, [0, D * e.hidden])])
      const out = dense(ge, values, `bridge.l${l}.${kind}`, input, kind === 'h' ? 'tanh' : 'identity')
      return ge.op('Unsqueeze', [out, ge.int64s(`bridge.l${l}.${kind}.axis`, [0])])
    }
    concatStates(ge, Array.from({ length: d.layers }, (_, l) => bridged(encoded.h, l, 'h')), 'h0')
    if (lstm) concatStates(ge, Array.from({ length: d.layers }, (_, l) => bridged(encoded.c, l, 'c')), 'c0')
  }
  ge.output('h0', FLOAT, [d.layers, 'B', d.hidden])
  if (lstm) ge.output('c0', FLOAT, [d.layers, 'B', d.hidden])
  const encoderDoc = `recur encoder (${describeCell(e)}, ${e.bidirectional ? 'bidirectional, ' : ''}${e.layers} x ${e.hidden}): source (T,B) int64 -> h0${lstm ? ', c0' : ''} (L,B,H), the decoder's initial states. ${DOC_PADDING}`

  const gd = new GraphBuilder('recur_decoder')
  const decoderSpec = stackOf('decoder', { ...d, cell: e.cell, reset: e.reset, peephole: e.peephole }, false, 'concat')
  const io = stepGraph(gd, values, decoderSpec, d.embedding > 0 ? 'decoder.embedding' : null, 'out', d.vocabularySize, { ...options, initialStates: true })
  const decoderDoc = `recur decoder (${describeCell(e)}, ${d.layers} x ${d.hidden}, V = ${d.vocabularySize}): tokens (T,B) int64, h0${lstm ? ', c0' : ''} (L,B,H) -> ${io.outputs[0]} (T,B,V), ${io.outputs.slice(1).join(', ')}. One step: T = 1, the previous token (first <BOS>), states from the encoder, then from hn${lstm ? ' / cn' : ''}.`
  return {
    encoder: { role: 'encoder', bytes: ge.encode({ docString: encoderDoc, metadata: { 'recur.kind': 'seq2seq-encoder', ...metadata } }), inputs: ['source'], outputs: lstm ? ['h0', 'c0'] : ['h0'] },
    decoder: { role: 'decoder', bytes: gd.encode({ docString: decoderDoc, metadata: { 'recur.kind': 'seq2seq-decoder', ...metadata } }), ...io },
  }
}

function head(g: GraphBuilder, values: Values, hidden: readonly number[], activation: Activation, x: string): string {
  let y = x
  hidden.forEach((_, i) => {
    y = dense(g, values, `head.dense${i}`, y, activation)
  })
  return dense(g, values, 'head.out', y, 'identity')
}

function describeCell(a: { cell: CellKind; reset: GruReset; peephole: boolean }): string {
  if (a.cell === 'gru') return `GRU, reset ${a.reset}`
  if (a.cell === 'lstm') return a.peephole ? 'LSTM with peepholes' : 'LSTM'
  return 'RNN (tanh)'
}

/**
 * Every graph of a model (one; two for an encoder-decoder), with the text side a server needs in
 * metadata_props: `recur.vocabulary` (and `recur.target.vocabulary`), `recur.tokenizer`, `recur.labels`.
 */
export async function exportOnnx(model: OnnxExportable, options: OnnxExportOptions = {}): Promise<OnnxGraph[]> {
  if (model.kind === 'language-model') {
    const { bundle } = model
    return [await languageModelToOnnx(bundle.model, options, {
      'recur.vocabulary': JSON.stringify(bundle.vocabulary.tokens), 'recur.tokenizer': JSON.stringify(bundle.tokenizer),
    })]
  }
  const bundle = model.bundle
  const metadata: Record<string, string> = {
    'recur.vocabulary': JSON.stringify(bundle.input.vocabulary.tokens), 'recur.tokenizer': JSON.stringify(bundle.input.tokenizer),
  }
  switch (bundle.kind) {
    case 'classifier':
      return [await classifierToOnnx(bundle.model, options, { ...metadata, 'recur.labels': JSON.stringify(bundle.labels) })]
    case 'tagger':
      return [await taggerToOnnx(bundle.model, options, { ...metadata, 'recur.labels': JSON.stringify(bundle.labels) })]
    case 'seq2seq': {
      const { encoder, decoder } = await seq2seqToOnnx(bundle.model, options, {
        ...metadata, 'recur.target.vocabulary': JSON.stringify(bundle.target.vocabulary.tokens), 'recur.target.tokenizer': JSON.stringify(bundle.target.tokenizer),
      })
      return [encoder, decoder]
    }
  }
}
