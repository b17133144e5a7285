/**
 * The reader of the golden fixtures in test/golden (made by make_golden.py with PyTorch 1.13,
 * float64), and the PyTorch <-> recur parameter mapping the golden tests use. The mapping itself
 * lives in src/io/pytorch.ts (one implementation for the library, `recur import` / `recur export`
 * and these tests); it is re-exported here so the tests name it where they always did.
 *
 *   names    PyTorch `{module}.weight_ih_l{k}[_reverse]`  <->  recur `{stack}.l{k}[_reverse].weight_ih`
 *   GRU      the update block (PyTorch's z, recur's Γu = 1 - z) is negated both ways
 *   states   (L*D, B, H), index layer*D + direction; outputs (T, B, D*H), forward half first
 */
import { readFileSync } from 'node:fs'
import type { CellKind } from '../../src/cells/recurrent.js'

export {
  convertGateBlocks, fromPyTorch, recurNameOf, toPyTorch, torchNameOf, type RecurrentModule,
} from '../../src/io/pytorch.js'

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
