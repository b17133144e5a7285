import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  displayWidth,
  formatBytes,
  formatCompact,
  formatDuration,
  formatFixed,
  formatInteger,
  formatKeyValues,
  formatPercent,
  formatRate,
  formatTable,
  pad,
  truncate,
  wrapText,
} from '../../src/cli/format.js'

test('formatDuration: mm:ss below an hour, h:mm:ss above, --:-- when unknown', () => {
  assert.equal(formatDuration(0), '00:00')
  assert.equal(formatDuration(59.9), '00:59')
  assert.equal(formatDuration(83), '01:23')
  assert.equal(formatDuration(3599), '59:59')
  assert.equal(formatDuration(3600), '1:00:00')
  assert.equal(formatDuration(3725), '1:02:05')
  assert.equal(formatDuration(36 * 3600 + 1), '36:00:01')
  assert.equal(formatDuration(-1), '--:--')
  assert.equal(formatDuration(Number.NaN), '--:--')
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), '--:--')
})

test('formatCompact: three significant digits and an SI suffix', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [0.5, '0.5'],
    [0.001234, '0.00123'],
    [12.345, '12.3'],
    [950, '950'],
    [999.4, '999'],
    [999.7, '1k'],
    [1000, '1k'],
    [12_345, '12.3k'],
    [123_456, '123k'],
    [1_500_000, '1.5M'],
    [2e9, '2G'],
    [-1234, '-1.23k'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '∞'],
  ]
  for (const [value, text] of cases) assert.equal(formatCompact(value), text, String(value))
})

test('formatRate, formatInteger, formatFixed, formatPercent, formatBytes', () => {
  assert.equal(formatRate(12_345), '12.3k tok/s')
  assert.equal(formatRate(950), '950 tok/s')
  assert.equal(formatRate(3.25, 'step'), '3.25 step/s')
  assert.equal(formatRate(Number.NaN), '-- tok/s')
  assert.equal(formatInteger(1_234_567), '1,234,567')
  assert.equal(formatInteger(-1000), '-1,000')
  assert.equal(formatInteger(999), '999')
  assert.equal(formatFixed(1.23456, 3), '1.235')
  assert.equal(formatFixed(Number.NaN, 3), 'NaN')
  assert.equal(formatFixed(Number.NEGATIVE_INFINITY, 3), '-∞')
  assert.equal(formatPercent(0.25), '25%')
  assert.equal(formatPercent(0.12345, 1), '12.3%')
  assert.equal(formatBytes(512), '512 B')
  assert.equal(formatBytes(1536), '1.5 KiB')
  assert.equal(formatBytes(3 * 2 ** 20), '3 MiB')
  assert.equal(formatBytes(2 ** 40), '1 TiB')
})

test('text helpers: width ignores ANSI escapes, pad, truncate, wrap', () => {
  assert.equal(displayWidth('\x1b[1mbold\x1b[0m'), 4)
  assert.equal(displayWidth('█▌'), 2)
  assert.equal(pad('ab', 4), 'ab  ')
  assert.equal(pad('ab', 4, 'right'), '  ab')
  assert.equal(pad('abcdef', 4), 'abcdef')
  assert.equal(truncate('abcdef', 4), 'abc…')
  assert.equal(truncate('abc', 4), 'abc')
  assert.equal(truncate('abc', 0), '')
  assert.deepEqual(wrapText('the quick brown fox jumps', 10), ['the quick', 'brown fox', 'jumps'])
  assert.deepEqual(wrapText('a\nb c', 10), ['a', 'b c'])
  assert.deepEqual(wrapText('supercalifragilistic is long', 8), ['supercalifragilistic', 'is long'])
  assert.deepEqual(wrapText('keep\u00a0these together', 6), ['keep\u00a0these', 'together'])
})

test('formatTable aligns columns, right-aligns numbers on request, trims trailing space', () => {
  const table = formatTable(
    [
      ['lstm', '1,234'],
      ['gru', '56'],
      ['rnn'],
    ],
    { header: ['cell', 'params'], align: ['left', 'right'] },
  )
  assert.equal(table, ['cell  params', '────  ──────', 'lstm   1,234', 'gru       56', 'rnn'].join('\n'))
  assert.equal(formatTable([['a', 'b']], { header: ['x', 'y'], rule: false, indent: 2, gap: 1 }), '  x y\n  a b')
  assert.equal(formatTable([]), '')
  assert.equal(formatKeyValues([['cell', 'lstm'], ['parameters', '1,234,567']]), 'cell        lstm\nparameters  1,234,567')
})
