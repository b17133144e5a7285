/** The cell variants the cell and layer tests run, and parameters worth testing them with. */
import type { CellOptions } from '../../src/cells/index.js'
import type { Kernels } from '../../src/kernels/types.js'
import type { ParamStore } from '../../src/params.js'
import type { Random } from '../../src/random.js'

/** Every cell and variant, with a label for test names: RNN, GRU with either reset placement, LSTM with and without peepholes. */
export const CELL_VARIANTS: readonly [string, Pick<CellOptions, 'kind' | 'reset' | 'peephole'>][] = [
  ['rnn', { kind: 'rnn' }],
  ['gru reset-after', { kind: 'gru', reset: 'after' }],
  ['gru reset-before', { kind: 'gru', reset: 'before' }],
  ['lstm', { kind: 'lstm' }],
  ['lstm peephole', { kind: 'lstm', peephole: true }],
]

/** Non-trivial values everywhere, uniform in [-0.6, 0.6) (biases and peepholes start at zero otherwise). */
export function randomizeParams(k: Kernels, store: ParamStore, random: Random): void {
  k.write(store.values, Array.from({ length: store.size }, () => random.range(-0.6, 0.6)))
}
