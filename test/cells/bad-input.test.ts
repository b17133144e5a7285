/**
 * Bad input at the public boundary of cells and layers: each must throw a RecurError with the right
 * `code`, and a message that names the operand, what was expected and what was given.
 *
 * The last section covers the remaining boundary checks (kinds, counts, sizes, call order).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, Workspace, type CellKind, type CellOptions } from '../../src/cells/index.js'
import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import type { Kernels } from '../../src/kernels/types.js'
import { Dense } from '../../src/layers/dense.js'
import { Embedding } from '../../src/layers/embedding.js'
import { RecurrentLayer, StackedRecurrent } from '../../src/layers/recurrent.js'
import { ParamBuilder } from '../../src/params.js'
import { SoftmaxCrossEntropy } from '../../src/train/losses.js'
import { f64, randomBuffer, Random } from '../helpers/setup.js'

/** Asserts that `fn` throws a RecurError with `code` whose message matches every pattern. */
function throwsRecur(fn: () => unknown, code: RecurErrorCode, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RecurError, `expected a RecurError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`)
    assert.equal(e.code, code, `code of "${e.message}"`)
    for (const p of patterns) assert.match(e.message, p)
    return true
  })
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** "got <value>" exactly as the message prints it. */
const got = (value: number): RegExp => new RegExp(`got ${escape(String(value))}(\\b|$|[^\\d.])`)

const KINDS: CellKind[] = ['rnn', 'gru', 'lstm']
const BAD_SIZES = [0, -1, 2.5, NaN, Infinity]

// ---- sizes ------------------------------------------------------------------------------------------------

for (const kind of KINDS) {
  test(`${kind} cell: inputSize and hiddenSize must be integers >= 1 (RANGE)`, () => {
    for (const bad of BAD_SIZES) {
      throwsRecur(() => createCell(new ParamBuilder(), 'encoder', { kind, inputSize: bad, hiddenSize: 4 }), 'RANGE', /encoder: inputSize/, /expected an integer >= 1/, got(bad))
      throwsRecur(() => createCell(new ParamBuilder(), 'encoder', { kind, inputSize: 4, hiddenSize: bad }), 'RANGE', /encoder: hiddenSize/, /expected an integer >= 1/, got(bad))
    }
    assert.doesNotThrow(() => createCell(new ParamBuilder(), 'encoder', { kind, inputSize: 1, hiddenSize: 1 }))
  })
}

test('recurrent layer and stack: bad sizes are refused with the layer named; layers must be an integer >= 1', () => {
  for (const bad of BAD_SIZES) {
    throwsRecur(() => new RecurrentLayer(new ParamBuilder(), 'bi', { kind: 'gru', inputSize: 3, hiddenSize: bad, bidirectional: true }), 'RANGE', /bi: hiddenSize/, got(bad))
    throwsRecur(() => new StackedRecurrent(new ParamBuilder(), 'stack', { kind: 'lstm', inputSize: bad, hiddenSize: 3, layers: 2 }), 'RANGE', /stack\.l0: inputSize/, got(bad))
    throwsRecur(() => new StackedRecurrent(new ParamBuilder(), 'stack', { kind: 'lstm', inputSize: 3, hiddenSize: 3, layers: bad }), 'RANGE', /stack: layers/, /expected an integer >= 1/, got(bad))
  }
})

test('embedding and dense: sizes must be integers >= 1 (RANGE)', () => {
  for (const bad of BAD_SIZES) {
    throwsRecur(() => new Embedding(new ParamBuilder(), 'embedding', bad, 8), 'RANGE', /embedding: vocabulary size/, /expected an integer >= 1/, got(bad))
    throwsRecur(() => new Embedding(new ParamBuilder(), 'embedding', 8, bad), 'RANGE', /embedding: dimension/, got(bad))
    throwsRecur(() => new Dense(new ParamBuilder(), 'head', bad, 8), 'RANGE', /head: input size/, /expected an integer >= 1/, got(bad))
    throwsRecur(() => new Dense(new ParamBuilder(), 'head', 8, bad), 'RANGE', /head: output size/, got(bad))
  }
})

// ---- dropout ----------------------------------------------------------------------------------------------

test('stack: dropout must be in [0, 1) (RANGE), naming the range and the value', () => {
  for (const bad of [-0.1, 1, 1.5, NaN, Infinity, -Infinity]) {
    throwsRecur(() => new StackedRecurrent(new ParamBuilder(), 'stack', { kind: 'rnn', inputSize: 3, hiddenSize: 3, layers: 2, dropout: bad }), 'RANGE',
      /stack: dropout/, /\[0, 1\)/, got(bad))
  }
  for (const ok of [0, 0.5, 0.999]) {
    assert.doesNotThrow(() => new StackedRecurrent(new ParamBuilder(), 'stack', { kind: 'rnn', inputSize: 3, hiddenSize: 3, layers: 2, dropout: ok }))
  }
})

// ---- initial states -----------------------------------------------------------------------------------------

function built<T>(make: (params: ParamBuilder) => T): { k: Kernels; model: T } {
  const k = f64()
  const params = new ParamBuilder()
  const model = make(params)
  params.build(k, new Random(1))
  return { k, model }
}

test('stack: the number of initial states must be layers x directions (SHAPE), naming both counts', () => {
  const T = 2, B = 2
  for (const [bidirectional, expected] of [[false, 2], [true, 4]] as const) {
    const { k, model } = built((p) => new StackedRecurrent(p, 'stack', { kind: 'lstm', inputSize: 3, hiddenSize: 3, layers: 2, bidirectional }))
    const xs = randomBuffer(k, T * B * 3, new Random(2))
    assert.equal(model.stateCount, expected)
    for (const count of [0, expected - 1, expected + 1]) {
      const states = Array.from({ length: count }, () => model.zeroStates(k, B)[0])
      throwsRecur(() => model.forward(k, T, B, xs, states), 'SHAPE', new RegExp(`expected ${expected} initial states`), got(count))
    }
    assert.doesNotThrow(() => model.forward(k, T, B, xs, model.zeroStates(k, B)))
  }
})

test('lstm: an initial state without c is refused (SHAPE)', () => {
  const { k, model: cell } = built((p) => createCell(p, 'cell', { kind: 'lstm', inputSize: 3, hiddenSize: 2 }))
  const xs = randomBuffer(k, 2 * 2 * 3, new Random(2))
  throwsRecur(() => cell.forward(k, cell.workspace(k, 2, 2), xs, { h: k.alloc(4), c: null }), 'SHAPE', /lstm/, /needs c as well as h/)
})

// ---- call order ----------------------------------------------------------------------------------------------

for (const [label, options] of [['rnn', { kind: 'rnn' }], ['gru', { kind: 'gru' }], ['lstm', { kind: 'lstm' }]] as [string, Pick<CellOptions, 'kind'>][]) {
  test(`${label} cell: backward before forward on a workspace is refused (STATE)`, () => {
    const { k, model: cell } = built((p) => createCell(p, 'cell', { ...options, inputSize: 3, hiddenSize: 2 }))
    throwsRecur(() => cell.backward(k, cell.workspace(k, 2, 2), null, null), 'STATE', new RegExp(`${label}: backward called before forward`))
    // A forward on another (T,B) shape does not make this workspace ready either.
    cell.forward(k, cell.workspace(k, 3, 2), randomBuffer(k, 3 * 2 * 3, new Random(3)), null)
    throwsRecur(() => cell.backward(k, new Workspace(k, cell, 2, 2, true), null, null), 'STATE', /before forward/)
    assert.doesNotThrow(() => cell.backward(k, cell.workspace(k, 3, 2), null, null))
  })
}

test('recurrent layer and stack: backward before forward is refused (STATE)', () => {
  const { k, model: layer } = built((p) => new RecurrentLayer(p, 'bi', { kind: 'gru', inputSize: 3, hiddenSize: 2, bidirectional: true }))
  throwsRecur(() => layer.backward(k, null, null), 'STATE', /backward called before forward/)
  const { k: k2, model: stack } = built((p) => new StackedRecurrent(p, 'stack', { kind: 'lstm', inputSize: 3, hiddenSize: 2, layers: 2 }))
  throwsRecur(() => stack.backward(k2, null, null), 'STATE', /backward called before forward/)
})

// ---- more boundary checks ------------------------------------------------------------------------------------------


test('an unknown cell kind is refused (OPTION), naming rnn, gru, lstm', () => {
  throwsRecur(() => createCell(new ParamBuilder(), 'cell', { kind: 'transformer' as CellKind, inputSize: 3, hiddenSize: 2 }), 'OPTION', /transformer/, /rnn, gru, lstm/)
})

test('an unknown merge, GRU reset, input mode or Dense activation is refused (OPTION)', () => {
  throwsRecur(() => new RecurrentLayer(new ParamBuilder(), 'bi', { kind: 'rnn', inputSize: 3, hiddenSize: 2, bidirectional: true, merge: 'mean' as 'sum' }), 'OPTION', /mean/, /concat/)
  throwsRecur(() => createCell(new ParamBuilder(), 'cell', { kind: 'gru', inputSize: 3, hiddenSize: 2, reset: 'middle' as 'after' }), 'OPTION', /middle/)
  throwsRecur(() => createCell(new ParamBuilder(), 'cell', { kind: 'gru', inputSize: 3, hiddenSize: 2, input: 'sparse' as 'dense' }), 'OPTION', /sparse/)
  throwsRecur(() => new Dense(new ParamBuilder(), 'head', 3, 2, 'gelu' as 'relu'), 'OPTION', /gelu/)
})

test('recurrent layer: the number of initial states must equal its directions (SHAPE)', () => {
  const { k, model: layer } = built((p) => new RecurrentLayer(p, 'bi', { kind: 'gru', inputSize: 3, hiddenSize: 2, bidirectional: true }))
  throwsRecur(() => layer.forward(k, 2, 2, k.alloc(12), [{ h: k.alloc(4), c: null }]), 'SHAPE', /expected 2/, /got 1/)
})

test('cell forward: an initial state or input of the wrong size is refused (SHAPE)', () => {
  const { k, model: cell } = built((p) => createCell(p, 'cell', { kind: 'lstm', inputSize: 3, hiddenSize: 2 }))
  const ws = cell.workspace(k, 2, 2)
  throwsRecur(() => cell.forward(k, ws, k.alloc(12), { h: k.alloc(3), c: k.alloc(4) }), 'SHAPE', /B\*H = 4/, /got 3/)
  throwsRecur(() => cell.forward(k, ws, k.alloc(5), null), 'SHAPE', /T\*B\*X = 12/, /got 5/)
})

// Token ids inside backend buffers are not read back to be checked (that would stall a GPU
// backend); the models check host-side ids before upload: see test/models/ and test/cli/errors.test.ts.

test('T and B must be integers >= 1 (RANGE)', () => {
  const { k, model: cell } = built((p) => createCell(p, 'cell', { kind: 'rnn', inputSize: 3, hiddenSize: 2 }))
  throwsRecur(() => cell.workspace(k, 0, 2), 'RANGE', /T/, got(0))
  throwsRecur(() => cell.workspace(k, 2, 1.5), 'RANGE', /B/, got(1.5))
})

test('Embedding and Dense: backward before forward is refused (STATE)', () => {
  const { k, model } = built((p) => ({ embedding: new Embedding(p, 'embedding', 5, 2), dense: new Dense(p, 'head', 3, 2) }))
  throwsRecur(() => model.embedding.backward(k, k.alloc(2)), 'STATE', /before forward/)
  throwsRecur(() => model.dense.backward(k, k.alloc(2)), 'STATE', /before forward/)
})

test('a loss read before any compute is refused (STATE)', () => {
  throwsRecur(() => new SoftmaxCrossEntropy().dLogits, 'STATE', /before compute/)
})
