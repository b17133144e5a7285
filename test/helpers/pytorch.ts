/**
 * PyTorch <-> recur: parameter names and layouts of nn.RNN / nn.GRU / nn.LSTM, and the reader of
 * the golden fixtures in test/golden (made by make_golden.py with PyTorch 1.13, float64).
 *
 * The mapping, stated once for the tests (src/kernels/types.ts states recur's own gate layouts):
 *
 *   names    PyTorch `{module}.weight_ih_l{k}[_reverse]`  <->  recur `{stack}.l{k}[_reverse].weight_ih`,
 *            and the same for weight_hh, bias_ih, bias_hh. nn.Embedding and nn.Linear parameters
 *            (`.weight` (V,E) / (Y,X), `.bias`) have recur's names and layouts already.
 *   shapes   identical: weight_ih (G*H, X_k), weight_hh (G*H, H), bias_ih and bias_hh (G*H), G row
 *            blocks of H; both biases are kept as separate parameters.
 *   RNN      as is (tanh).
 *   LSTM     as is: PyTorch's blocks i, f, g, o are recur's Γu, Γf, c~, Γo.
 *   GRU      PyTorch's blocks r, z, n are recur's Γr, Γu, c~ with Γu = 1 - z. Since 1 - σ(v) = σ(-v),
 *            the middle (update) block of weight_ih, weight_hh, bias_ih and bias_hh is NEGATED,
 *            on import and again on export; gradients too (∂L/∂w_u = -∂L/∂w_z). PyTorch's GRU is
 *            recur's reset 'after'.
 *   states   h0, c0, h_n, c_n (L*D, B, H): index layer*D + direction (1 = reverse), the order of
 *            StackedRecurrent's State[].
 *   outputs  (T, B, D*H), forward direction's H columns first: recur's merge 'concat'.
 *
 * Every conversion here is linear, so the same functions convert values and gradients.
 */
import { readFileSync } from 'node:fs'
import type { CellKind } from '../../src/cells/recurrent.js'

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

/**
 * A recurrent parameter (or its gradient) converted between the two layouts: a copy, with the GRU
 * update block negated. The conversion is its own inverse, so import and export both use it.
 */
export function convertGateBlocks(kind: CellKind, data: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(data)
  if (kind === 'gru') {
    // (3H, cols) row-major, or (3H): the middle third of the elements is the z / Γu block.
    const third = out.length / 3
    for (let i = third; i < 2 * third; i++) out[i] = -out[i]
  }
  return out
}

/**
 * PyTorch state_dict entries -> recur parameter values. Entries of a listed recurrent module are
 * renamed and converted; every other entry (nn.Embedding, nn.Linear) keeps its name and values.
 */
export function fromPyTorch(
  stateDict: ReadonlyMap<string, ArrayLike<number>>, modules: readonly RecurrentModule[],
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>()
  for (const [torchName, data] of stateDict) {
    const module = modules.find((m) => recurNameOf(torchName, m) !== null)
    if (module === undefined) out.set(torchName, Float64Array.from(data))
    else out.set(recurNameOf(torchName, module)!, convertGateBlocks(module.kind, data))
  }
  return out
}

/** recur parameter values (or gradients) -> PyTorch state_dict names and layouts: fromPyTorch's inverse. */
export function toPyTorch(
  values: ReadonlyMap<string, ArrayLike<number>>, modules: readonly RecurrentModule[],
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>()
  for (const [recurName, data] of values) {
    const module = modules.find((m) => torchNameOf(recurName, m) !== null)
    if (module === undefined) out.set(recurName, Float64Array.from(data))
    else out.set(torchNameOf(recurName, module)!, convertGateBlocks(module.kind, data))
  }
  return out
}

// ---- golden fixtures --------------------------------------------------------------------------

/** A tensor as make_golden.py writes it: its shape and its flat row-major float64 values. */
export interface TorchTensor {
  shape: number[]
  data: number[]
}

/** A fixture of test/golden (schema in test/golden/README.md). */
export interface GoldenFixture {
  torch_version: string
  cell: CellKind
  layers: number
  bidirectional: boolean
  T: number
  B: number
  H: number
  /** Input width of the recurrent fixtures. */
  X?: number
  /** Vocabulary and embedding width of lm-lstm.json. */
  V?: number
  E?: number
  seed: number
  tensors: Record<string, TorchTensor>
  loss: number
}

/** Reads `test/golden/{file}`. */
export function readGolden(file: string): GoldenFixture {
  return JSON.parse(readFileSync(new URL(`../golden/${file}`, import.meta.url), 'utf8')) as GoldenFixture
}

/** The fixture's flat values of `name`; throws when it has no such tensor. */
export function tensorData(fixture: GoldenFixture, name: string): number[] {
  const t = fixture.tensors[name]
  if (t === undefined) throw new Error(`golden fixture (seed ${fixture.seed}) has no tensor '${name}'`)
  return t.data
}

/**
 * The fixture's model parameters as a state_dict: every tensor that has a `grad.` entry, except
 * the inputs and initial states (x, h0, c0).
 */
export function goldenStateDict(fixture: GoldenFixture): Map<string, number[]> {
  const notParameters = new Set(['x', 'h0', 'c0'])
  return new Map(
    Object.keys(fixture.tensors)
      .filter((name) => !name.startsWith('grad.') && !notParameters.has(name) && `grad.${name}` in fixture.tensors)
      .map((name) => [name, fixture.tensors[name].data]),
  )
}
