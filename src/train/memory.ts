/**
 * How much memory a training run needs, worked out from its configuration before any of it is
 * allocated. The formulas follow what the code allocates, buffer by buffer:
 *
 *   parameters        P values: the flat store of `src/params.ts`
 *   gradients         P values: the store's gradient buffer (same layout)
 *   optimizer state   P values per moment: 2 for adam / adamw (m, v), 1 for sgd (momentum)
 *   activations       what the forward pass keeps for backpropagation through time, per
 *                     recurrent cell (`Workspace` in `src/cells/recurrent.ts`):
 *                       XW, gates (T,B,G*H); states a<0..T> (T+1,B,H); LSTM cells c<0..T>;
 *                       GRU recurrent projections HW (T,B,G*H) and, reset 'before', Γr*c (T,B,H)
 *                     plus the embedding output (T,B,E), the dropout masks and outputs between
 *                     layers, and the logits (T,B,V)
 *   workspace         the gradients of those (dXW, dHW (T,B,G*H), dxs (T,B,X)), the output
 *                     layer's dz and dLogits (T,B,V) and dx (T,B,H), the per-step carries (B,H),
 *                     token-id buffers, carried states, one small view object per time step, and
 *                     the backend's scratch for its composed step kernels ((B,G*H); GRU (B,H))
 *   validation        the same buffers again at the validation shapes (windows of 128 tokens)
 *                     and at the sampling shape (1,1), which the model keeps once made
 *   token ids         4 bytes per corpus token, and the copy of the validation part
 *   checkpoint        while a checkpoint is written: the weights and the optimizer moments read
 *                     back and copied (two host copies), and the encoded file with the validation ids
 *
 * Shapes use the house letters: B batch (streams), T window length, H hidden width, G gates
 * (1 RNN, 3 GRU, 4 LSTM), V vocabulary, E embedding width (0: one-hot lookup input), X input width.
 *
 * Not counted: Node.js itself (the CLI adds the process's size when it compares with a limit),
 * the vocabulary's strings, and short-lived copies made while the model is built (a host array of
 * P values that is freed before training starts).
 *
 * Browser-safe: no `node:` imports.
 */
import { RecurError } from '../errors.js'
import type { LanguageModelArchitecture } from '../models/language-model.js'
import type { OptimizerKind } from './optimizers.js'

/** G: gates per cell kind. */
const GATES = { rnn: 1, gru: 3, lstm: 4 } as const

/** Bytes of one small JavaScript object per time step (a buffer view: handle + typed-array view). */
export const VIEW_BYTES = 160

/** Window of the validation passes run while training (`recur train` validates in windows of 128). */
export const VALIDATION_WINDOW = 128

/** One line of an estimate. */
export interface MemoryRow {
  /** 'parameters', 'gradients', 'optimizer state', 'activations', 'workspace', 'validation and sampling', 'token ids', 'checkpoint'. */
  readonly name: string
  readonly bytes: number
  /** How the figure comes about, e.g. "1,234,567 values x 4 bytes". */
  readonly detail: string
}

/** The memory a configuration needs: one row per kind of buffer, and their sum. */
export interface MemoryEstimate {
  readonly rows: readonly MemoryRow[]
  readonly total: number
  /** P: number of trainable values. */
  readonly parameters: number
  /** The part allocated on the backend (`kernels.alloc`): all but host copies, token ids and checkpoints. */
  readonly backendBytes: number
}

/** Everything that decides the memory of a language-model training run. */
export interface LanguageModelMemoryConfig {
  readonly architecture: Pick<LanguageModelArchitecture, 'cell' | 'layers' | 'hidden' | 'vocabularySize' | 'embedding' | 'dropout' | 'reset' | 'peephole'>
  /** B: parallel streams per step. */
  readonly batch: number
  /** T: tokens per window (the truncated-BPTT span). */
  readonly seqLength: number
  readonly optimizer: OptimizerKind
  /** Bytes per float value on the backend: 4 (f32) or 8 (the f64 reference backend). */
  readonly bytesPerValue: number
  /** Tokens in the corpus (training and validation). 0 when the ids are not counted. */
  readonly corpusTokens: number
  /** Tokens held out for validation (copied out of the corpus). */
  readonly validationTokens: number
  /** Validation tokens used while training (`--val-tokens`; 0 = all of them). */
  readonly validationSubset: number
  /** Whether samples are printed while training (the model keeps a (1,1) workspace). */
  readonly sampling: boolean
}

/** P of a language model: embedding, recurrent layers, output layer. Equals `model.params.size`. */
export function languageModelParameterCount(a: LanguageModelMemoryConfig['architecture']): number {
  const H = a.hidden, V = a.vocabularySize, E = a.embedding
  let count = E > 0 ? V * E : 0
  for (let l = 0; l < a.layers; l++) {
    const X = l > 0 ? H : E > 0 ? E : V
    count += cellParameterCount(a.cell, X, H, a.peephole)
  }
  return count + H * V + V
}

/** Parameters of one cell: W_ih (G*H,X), W_hh (G*H,H), b_ih and b_hh (G*H), LSTM peepholes (3H). */
export function cellParameterCount(cell: keyof typeof GATES, X: number, H: number, peephole: boolean): number {
  const GH = GATES[cell] * H
  return GH * X + GH * H + 2 * GH + (cell === 'lstm' && peephole ? 3 * H : 0)
}

/** Buffers of one (T,B) shape, split as the rows are: values (floats), ints (4 bytes) and JS bytes. */
interface ShapeCost {
  activationValues: number
  /** Host Float32Arrays that hold activations (dropout masks drawn on the host). */
  activationHostBytes: number
  workspaceValues: number
  workspaceInts: number
  /** Host typed arrays and per-step view objects. */
  workspaceHostBytes: number
}

/** One recurrent cell's `Workspace` at (T,B): see the class in `src/cells/recurrent.ts`. */
function cellCost(cell: keyof typeof GATES, reset: 'after' | 'before', X: number, denseInput: boolean, H: number, T: number, B: number): ShapeCost {
  const GH = GATES[cell] * H
  const TB = T * B
  const gru = cell === 'gru'
  const lstm = cell === 'lstm'
  // forward keeps: XW, gates, a<0..T>; LSTM c<0..T>; GRU HW and (reset before) Γr*c<t-1>.
  const activationValues = 2 * TB * GH + (T + 1) * B * H + (lstm ? (T + 1) * B * H : 0) + (gru ? TB * GH : 0) + (gru && reset === 'before' ? TB * H : 0)
  // backward writes: dXW, GRU dHW, dxs for a dense input; eight (B,H) carries, zeros and padding buffers.
  const workspaceValues = TB * GH + (gru ? TB * GH : 0) + (denseInput ? TB * X : 0) + 8 * B * H
  // Per-step views: XW, gates, dXW, the output gradient's steps (T each), a<t> (T+1); LSTM c<t>
  // (T+1); GRU HW and dHW (2T), Γr*c (T).
  const views = 4 * T + (T + 1) + (lstm ? T + 1 : 0) + (gru ? 2 * T : 0) + (gru && reset === 'before' ? T : 0)
  return { activationValues, activationHostBytes: 0, workspaceValues, workspaceInts: 0, workspaceHostBytes: views * VIEW_BYTES }
}

function addCost(a: ShapeCost, b: ShapeCost): ShapeCost {
  return {
    activationValues: a.activationValues + b.activationValues,
    activationHostBytes: a.activationHostBytes + b.activationHostBytes,
    workspaceValues: a.workspaceValues + b.workspaceValues,
    workspaceInts: a.workspaceInts + b.workspaceInts,
    workspaceHostBytes: a.workspaceHostBytes + b.workspaceHostBytes,
  }
}

const NO_COST: ShapeCost = { activationValues: 0, activationHostBytes: 0, workspaceValues: 0, workspaceInts: 0, workspaceHostBytes: 0 }

/**
 * What a language model allocates for one (T,B) shape, and keeps: the cells' workspaces, the
 * embedding output, dropout buffers (training only), the output layer, the loss (not made when
 * sampling, which never asks for one), the id buffers.
 */
function languageModelShapeCost(a: LanguageModelMemoryConfig['architecture'], T: number, B: number, use: 'train' | 'evaluate' | 'sample'): ShapeCost {
  const H = a.hidden, V = a.vocabularySize, E = a.embedding
  const TB = T * B
  let cost = NO_COST
  for (let l = 0; l < a.layers; l++) {
    const lookup = l === 0 && E === 0
    const X = l > 0 ? H : E > 0 ? E : V
    cost = addCost(cost, cellCost(a.cell, a.reset, X, !lookup, H, T, B))
  }
  const dropoutLayers = use === 'train' && a.dropout > 0 ? a.layers - 1 : 0
  const loss = use === 'sample' ? 0 : TB + TB * V + 1
  const model: ShapeCost = {
    // embedding output (T,B,E); dropout mask and output per inner layer; logits (T,B,V).
    activationValues: (E > 0 ? TB * E : 0) + dropoutLayers * 2 * TB * H + TB * V,
    activationHostBytes: dropoutLayers * TB * H * 4,
    // output layer dz (T,B,V) and dx (T,B,H); loss: per-position losses, dLogits (T,B,V), the total.
    workspaceValues: TB * V + TB * H + loss,
    // the model's ids and targets (T,B)
    workspaceInts: 2 * TB,
    workspaceHostBytes: 0,
  }
  return addCost(cost, model)
}

/** The validation windows `recur train` runs: `evaluateStream` over the subset, streams and window as it chooses them. */
export function validationShapes(validationTokens: number, subset: number, batch: number): { T: number; B: number }[] {
  const n = subset > 0 ? Math.min(subset, validationTokens) : validationTokens
  if (n < 2) return []
  const B = Math.min(batch, Math.max(1, Math.floor(n / 512)))
  const S = Math.floor(n / B)
  if (S < 2) return []
  const shapes: { T: number; B: number }[] = []
  if (S - 1 >= VALIDATION_WINDOW) shapes.push({ T: VALIDATION_WINDOW, B })
  const rest = (S - 1) % VALIDATION_WINDOW
  if (rest > 0) shapes.push({ T: rest, B })
  return shapes
}

/**
 * The memory of training a language model with `config`: parameters, gradients, optimizer
 * state, activations and workspace at the training shape (T,B), the validation and sampling
 * shapes, the corpus's token ids, and a checkpoint being written.
 * @throws RecurError 'RANGE' for sizes that are not positive integers.
 */
export function estimateLanguageModelTraining(config: LanguageModelMemoryConfig): MemoryEstimate {
  const a = config.architecture
  for (const [name, value, min] of [['hidden', a.hidden, 1], ['layers', a.layers, 1], ['vocabularySize', a.vocabularySize, 1], ['embedding', a.embedding, 0], ['batch', config.batch, 1], ['seqLength', config.seqLength, 1]] as const) {
    if (!Number.isInteger(value) || value < min) throw new RecurError('RANGE', `memory estimate: ${name} must be an integer >= ${min}, got ${value}`)
  }
  const f = config.bytesPerValue
  const P = languageModelParameterCount(a)
  const moments = config.optimizer === 'sgd' ? 1 : 2
  const B = config.batch, T = config.seqLength, H = a.hidden, V = a.vocabularySize
  const stateValues = (b: number) => a.layers * (a.cell === 'lstm' ? 2 : 1) * b * H

  // The training shape, and the trainer: carried states, the squared gradient norm (1 value), the
  // window's ids and targets on the host; and the backend's one scratch buffer for its composed
  // step kernels at the largest batch (src/kernels/composed-steps.ts; WebGPU has none): an RNN's or
  // LSTM's pre-activations (B,G*H); a GRU writes hw itself and needs (B,H) backward.
  const train = languageModelShapeCost(a, T, B, 'train')
  const stepScratch = B * (a.cell === 'gru' ? 1 : GATES[a.cell]) * H
  const trainer: ShapeCost = { ...NO_COST, workspaceValues: stateValues(B) + 1 + stepScratch, workspaceHostBytes: 2 * T * B * 4 }

  // Validation windows (evaluateStream: zero states per pass) and sampling (sampleTokens: the
  // probabilities (V) and states of one stream on the backend; on the host the probabilities in
  // f64, their read-back and the ranking of V ids).
  const shapes = validationShapes(config.validationTokens, config.validationSubset, B)
  let other = NO_COST
  for (const shape of shapes) other = addCost(other, languageModelShapeCost(a, shape.T, shape.B, 'evaluate'))
  if (shapes.length > 0) other = addCost(other, { ...NO_COST, workspaceValues: stateValues(shapes[0]!.B) })
  if (config.sampling) {
    other = addCost(other, languageModelShapeCost(a, 1, 1, 'sample'))
    other = addCost(other, { ...NO_COST, workspaceValues: V + stateValues(1), workspaceHostBytes: V * (f + 8 + 8) })
  }

  const device = (c: ShapeCost) => (c.activationValues + c.workspaceValues) * f + c.workspaceInts * 4
  const host = (c: ShapeCost) => c.activationHostBytes + c.workspaceHostBytes
  // Saving reads the weights, moments and carried states back (a read-back and a copy of each) and
  // encodes them with the validation ids into the file's bytes.
  const fileValues = P + moments * P + stateValues(B)
  const checkpoint = 3 * fileValues * 4 + config.validationTokens * 4
  const shapeNames = [...shapes.map((s) => `${s.T} x ${s.B}`), ...(config.sampling ? ['1 x 1'] : [])]

  const rows: MemoryRow[] = [
    { name: 'parameters', bytes: P * f, detail: `${count(P)} values x ${f} bytes` },
    { name: 'gradients', bytes: P * f, detail: `${count(P)} values x ${f} bytes` },
    { name: 'optimizer state', bytes: moments * P * f, detail: `${moments} moment${moments === 1 ? '' : 's'} (${config.optimizer}) x ${count(P)} values` },
    { name: 'activations', bytes: train.activationValues * f + train.activationHostBytes, detail: `kept for backpropagation through ${T} steps x ${B} streams` },
    {
      name: 'workspace', bytes: (train.workspaceValues + trainer.workspaceValues) * f + train.workspaceInts * 4 + train.workspaceHostBytes + trainer.workspaceHostBytes,
      detail: `gradients of the activations, incl. the logits' (${T} x ${B} x ${count(V)})`,
    },
    { name: 'validation and sampling', bytes: device(other) + host(other), detail: shapeNames.length > 0 ? `windows of ${shapeNames.join(', ')}` : 'none' },
    { name: 'token ids', bytes: 4 * (config.corpusTokens + config.validationTokens), detail: `${count(config.corpusTokens)} tokens, ${count(config.validationTokens)} copied for validation` },
    { name: 'checkpoint', bytes: checkpoint, detail: 'the weights and moments read back, copied and encoded, while saving' },
  ]
  return {
    rows,
    total: rows.reduce((sum, row) => sum + row.bytes, 0),
    parameters: P,
    backendBytes: (2 + moments) * P * f + device(train) + device(trainer) + device(other),
  }
}

/** What decides the buffers of a token encoder (`src/layers/token-encoder.ts`). */
export interface EncoderMemoryArchitecture {
  readonly cell: keyof typeof GATES
  readonly layers: number
  readonly hidden: number
  readonly vocabularySize: number
  /** E, or 0 for a one-hot lookup input. */
  readonly embedding: number
  readonly bidirectional: boolean
  readonly merge: 'concat' | 'sum'
  readonly reset: 'after' | 'before'
}

/**
 * Bytes a token encoder allocates on the backend for one (T,B) shape, and keeps: the embedding
 * output (T,B,E), every cell's workspace, and a bidirectional layer's merged outputs (T,B,D*H),
 * split output gradients (2 x (T,B,H)) and summed input gradients (T,B,X). Plus `perPosition`
 * values for each of the T*B positions (a head's buffers, the batch's ids and mask), and the
 * per-step view objects on the host.
 */
export function encoderShapeBytes(a: EncoderMemoryArchitecture, T: number, B: number, bytesPerValue: number, perPosition = 0): number {
  const H = a.hidden, E = a.embedding, TB = T * B
  const D = a.bidirectional ? 2 : 1
  let cost: ShapeCost = { ...NO_COST, workspaceValues: (E > 0 ? TB * E : 0) + perPosition * TB }
  let X = E > 0 ? E : a.vocabularySize
  for (let l = 0; l < a.layers; l++) {
    const dense = l > 0 || E > 0
    for (let d = 0; d < D; d++) cost = addCost(cost, cellCost(a.cell, a.reset, X, dense, H, T, B))
    const out = D === 2 && a.merge === 'concat' ? 2 * H : H
    if (D === 2) {
      const split = a.merge === 'concat' ? 2 * TB * H : 0
      cost = addCost(cost, { ...NO_COST, workspaceValues: TB * out + split + (dense ? TB * X : 0) })
    }
    X = out
  }
  return (cost.activationValues + cost.workspaceValues) * bytesPerValue + cost.workspaceInts * 4 + cost.activationHostBytes + cost.workspaceHostBytes
}

/** The row with the most bytes (what to shrink first). */
export function largestRow(estimate: MemoryEstimate): MemoryRow {
  return estimate.rows.reduce((best, row) => (row.bytes > best.bytes ? row : best))
}

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/**
 * A size such as "4G", "512M", "1.5g", "4GiB", "4GB", "2048k" or "1000000" (bytes) in bytes. The
 * units are binary, as for `java -Xmx` and Docker: K = 1024, M = 1024², G = 1024³, T = 1024⁴.
 * Returns null for text that is not a size.
 */
export function parseMemorySize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text)
  if (match === null) return null
  const value = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!
  return Number.isFinite(value) ? Math.round(value) : null
}

function count(n: number): string {
  return n.toLocaleString('en')
}
