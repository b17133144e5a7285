/**
 * Initialisation schemes (InitScheme in src/params.ts): 'glorot' (the default) keeps its draws and
 * its LSTM forget-gate bias of 1; 'pytorch' draws every recurrent weight and bias from
 * U(-1/√H, 1/√H) and a dense layer's weight and bias from U(-1/√X, 1/√X), as nn.LSTM / nn.Linear do.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCell, type CellKind } from '../../src/cells/index.js'
import { RecurError } from '../../src/errors.js'
import { Dense } from '../../src/layers/dense.js'
import { LanguageModel } from '../../src/models/language-model.js'
import { ParamBuilder, type InitScheme } from '../../src/params.js'
import { f64, Random } from '../helpers/setup.js'

const H = 32, X = 20

/** Each parameter's values, by name, for one cell built under a scheme. */
async function cellValues(kind: CellKind, init: InitScheme | undefined, extra: { forgetBias?: number; input?: 'lookup' } = {}): Promise<Map<string, Float32Array>> {
  const k = f64()
  const params = new ParamBuilder()
  createCell(params, 'cell', { kind, inputSize: X, hiddenSize: H, ...(init === undefined ? {} : { init }), ...extra })
  return params.build(k, new Random(5)).readValues()
}

function stats(values: ArrayLike<number>): { min: number; max: number; mean: number; variance: number } {
  let min = Infinity, max = -Infinity, sum = 0, sumSq = 0
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i])
    max = Math.max(max, values[i])
    sum += values[i]
    sumSq += values[i] * values[i]
  }
  const mean = sum / values.length
  return { min, max, mean, variance: sumSq / values.length - mean * mean }
}

/** Values drawn from U(-limit, limit): inside the bounds, spread over them, variance limit²/3. */
function assertUniform(what: string, values: ArrayLike<number>, limit: number): void {
  const s = stats(values)
  assert.ok(s.min >= -limit && s.max <= limit, `${what}: values in [${s.min}, ${s.max}] must lie in ±${limit}`)
  assert.ok(s.min < -0.8 * limit && s.max > 0.8 * limit, `${what}: values in [${s.min}, ${s.max}] should fill ±${limit}`)
  // The tolerance: the sample variance of n >= 96 uniform draws has a relative spread of 0.89/√n
  // (<= 9%), so ±25% is about 3 sigma (and the draws are seeded: the test cannot flake).
  const expected = (limit * limit) / 3
  assert.ok(Math.abs(s.variance - expected) < 0.25 * expected, `${what}: variance ${s.variance}, expected about ${expected}`)
}

for (const kind of ['rnn', 'gru', 'lstm'] as const) {
  test(`'pytorch' init: every ${kind} weight and bias is U(-1/√H, 1/√H)`, async () => {
    for (const [name, values] of await cellValues(kind, 'pytorch')) assertUniform(`${kind} ${name}`, values, 1 / Math.sqrt(H))
  })
}

test(`'pytorch' init: a lookup input's (V, G*H) table is U(-1/√H, 1/√H) too`, async () => {
  const values = await cellValues('lstm', 'pytorch', { input: 'lookup' })
  assertUniform('lookup weight_ih', values.get('cell.weight_ih')!, 1 / Math.sqrt(H))
})

test(`'pytorch' init has no forget-gate bias unless one is asked for, then adds it to the draws`, async () => {
  const limit = 1 / Math.sqrt(H)
  assertUniform('bias_ih', (await cellValues('lstm', 'pytorch')).get('cell.bias_ih')!, limit)
  const biased = (await cellValues('lstm', 'pytorch', { forgetBias: 1 })).get('cell.bias_ih')!
  const forget = stats(biased.subarray(H, 2 * H))
  assert.ok(forget.min >= 1 - limit && forget.max <= 1 + limit && forget.max - forget.min > limit, `forget block in [${forget.min}, ${forget.max}]`)
  assertUniform('the other blocks', [...biased.subarray(0, H), ...biased.subarray(2 * H)], limit)
})

test(`'glorot' is the default: forget-gate bias 1, other biases 0, orthogonal recurrent blocks, Glorot input weights`, async () => {
  const byDefault = await cellValues('lstm', undefined)
  const explicit = await cellValues('lstm', 'glorot')
  for (const [name, values] of byDefault) assert.deepEqual(values, explicit.get(name), `${name}: the default must be 'glorot'`)
  const bIh = byDefault.get('cell.bias_ih')!
  assert.deepEqual([...new Set(bIh.subarray(0, H))], [0])
  assert.deepEqual([...new Set(bIh.subarray(H, 2 * H))], [1])
  assert.deepEqual([...new Set(bIh.subarray(2 * H))], [0])
  assert.deepEqual([...new Set(byDefault.get('cell.bias_hh')!)], [0])
  const wHh = byDefault.get('cell.weight_hh')!
  for (const row of [0, H + 3, 4 * H - 1]) {
    const norm = Math.hypot(...wHh.subarray(row * H, (row + 1) * H))
    assert.ok(Math.abs(norm - 1) < 1e-6, `row ${row} of W_hh has norm ${norm}, expected 1 (orthogonal blocks)`)
  }
  assertUniform('weight_ih', byDefault.get('cell.weight_ih')!, Math.sqrt(6 / (X + 4 * H)))
})

test(`dense layer: 'pytorch' draws weight and bias from U(-1/√X, 1/√X); 'glorot' keeps a zero bias`, async () => {
  const k = f64()
  const built = async (init: InitScheme) => {
    const params = new ParamBuilder()
    new Dense(params, 'out', 64, 100, 'identity', init)
    return params.build(k, new Random(3)).readValues()
  }
  const pytorch = await built('pytorch')
  assertUniform('out.weight', pytorch.get('out.weight')!, 1 / 8)
  assertUniform('out.bias', pytorch.get('out.bias')!, 1 / 8)
  const glorot = await built('glorot')
  assertUniform('out.weight', glorot.get('out.weight')!, Math.sqrt(6 / (64 + 100)))
  assert.deepEqual([...new Set(glorot.get('out.bias')!)], [0])
})

test(`language model: init 'pytorch' reaches every layer; an unknown scheme is an OPTION error`, async () => {
  const architecture = { cell: 'lstm', layers: 2, hidden: H, vocabularySize: 100, embedding: 0, dropout: 0, reset: 'after', peephole: false } as const
  const model = new LanguageModel(f64(), architecture, 1, { init: 'pytorch' })
  const values = await model.params.readValues()
  assert.deepEqual([...values.keys()].sort(), [
    'out.bias', 'out.weight',
    'rnn.l0.bias_hh', 'rnn.l0.bias_ih', 'rnn.l0.weight_hh', 'rnn.l0.weight_ih',
    'rnn.l1.bias_hh', 'rnn.l1.bias_ih', 'rnn.l1.weight_hh', 'rnn.l1.weight_ih',
  ])
  for (const [name, v] of values) assertUniform(name, v, 1 / Math.sqrt(H))
  assert.throws(
    () => new LanguageModel(f64(), architecture, 1, { init: 'xavier' as InitScheme }),
    (e: unknown) => e instanceof RecurError && e.code === 'OPTION' && /init: expected one of glorot, pytorch, got 'xavier'/.test(e.message),
  )
})
