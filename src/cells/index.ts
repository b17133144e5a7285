/** Builds a cell of any kind from its options. */
import { RecurError } from '../errors.js'
import type { ParamBuilder } from '../params.js'
import { GruCell } from './gru.js'
import { LstmCell } from './lstm.js'
import type { CellOptions, RecurrentCell } from './recurrent.js'
import { RnnCell } from './rnn.js'

export function createCell(params: ParamBuilder, name: string, options: CellOptions): RecurrentCell {
  const { kind, ...rest } = options
  switch (kind) {
    case 'rnn':
      return new RnnCell(params, name, rest)
    case 'gru':
      return new GruCell(params, name, rest)
    case 'lstm':
      return new LstmCell(params, name, rest)
    default:
      throw new RecurError('OPTION', `${name}: unknown cell kind '${String(kind)}'`, 'Use one of rnn, gru, lstm')
  }
}

export { GruCell, LstmCell, RnnCell }
export { RecurrentCell, Workspace, type CellKind, type CellOptions, type State } from './recurrent.js'
