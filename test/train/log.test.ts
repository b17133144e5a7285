/**
 * Training logs: CSV and JSONL round trips, appending, and what an interrupted write leaves.
 * Every test works in its own temporary folder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { TrainingLogWriter, parseTrainingLog, readTrainingLog, trainingLogFormat, type TrainingRecord } from '../../src/train/log.js'

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'recur-log-'))
  try {
    fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function throwsCode(fn: () => unknown, code: RecurErrorCode, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RecurError, String(error))
    assert.equal(error.code, code)
    assert.match(error.message, pattern)
    return true
  })
}

const records: TrainingRecord[] = [
  { step: 0, time: 0.5, loss: 4.174, valLoss: 4.17, lr: 0.002, tokensPerSecond: 0, gradNorm: 3.5 },
  { step: 100, time: 12.25, loss: 2.5, lr: 0.002, tokensPerSecond: 41_000.5, gradNorm: 1.25 },
  { step: 200, time: 24, loss: Number.NaN, lr: 0.0019, tokensPerSecond: 40_000, gradNorm: Number.POSITIVE_INFINITY },
  { step: 300, time: 36, loss: 1.9, valLoss: 2.05, lr: 1e-7, tokensPerSecond: 39_999, gradNorm: Number.NEGATIVE_INFINITY },
]

function writeAll(path: string, list: readonly TrainingRecord[], options?: { extraColumns: readonly string[] }): void {
  const writer = new TrainingLogWriter(path, options)
  for (const record of list) writer.append(record)
  writer.close()
}

test('format comes from the extension', () => {
  assert.equal(trainingLogFormat('run/log.csv'), 'csv')
  assert.equal(trainingLogFormat('run/LOG.JSONL'), 'jsonl')
  throwsCode(() => trainingLogFormat('run/log.txt'), 'FILE', /unknown extension '\.txt'\. Use a \.csv or \.jsonl file name$/)
})

test('CSV: header in a stable order, one line per record, round trip', () => {
  withTempDir((dir) => {
    const path = join(dir, 'log.csv')
    writeAll(path, records)
    const lines = readFileSync(path, 'utf8').split('\n')
    assert.equal(lines[0], 'step,time,loss,valLoss,lr,tokensPerSecond,gradNorm')
    assert.equal(lines[1], '0,0.5,4.174,4.17,0.002,0,3.5')
    assert.equal(lines[2], '100,12.25,2.5,,0.002,41000.5,1.25')
    assert.equal(lines[3], '200,24,NaN,,0.0019,40000,Infinity')
    assert.equal(lines[4], '300,36,1.9,2.05,1e-7,39999,-Infinity')
    assert.equal(lines[5], '')
    const log = readTrainingLog(path)
    assert.equal(log.format, 'csv')
    assert.deepEqual(log.columns, ['step', 'time', 'loss', 'valLoss', 'lr', 'tokensPerSecond', 'gradNorm'])
    assert.deepEqual(log.records, records)
    assert.equal(log.truncatedLastLine, false)
  })
})

test('JSONL: one object per line, non-finite values as strings, round trip', () => {
  withTempDir((dir) => {
    const path = join(dir, 'log.jsonl')
    writeAll(path, records)
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
    assert.equal(lines.length, 4)
    assert.equal(lines[1], '{"step":100,"time":12.25,"loss":2.5,"lr":0.002,"tokensPerSecond":41000.5,"gradNorm":1.25}')
    assert.equal(lines[2], '{"step":200,"time":24,"loss":"NaN","lr":0.0019,"tokensPerSecond":40000,"gradNorm":"Infinity"}')
    const log = readTrainingLog(path)
    assert.equal(log.format, 'jsonl')
    assert.deepEqual(log.columns, ['step', 'time', 'loss', 'valLoss', 'lr', 'tokensPerSecond', 'gradNorm'])
    assert.deepEqual(log.records, records)
  })
})

test('each append leaves only complete lines on disk', () => {
  withTempDir((dir) => {
    for (const name of ['log.csv', 'log.jsonl']) {
      const path = join(dir, name)
      const writer = new TrainingLogWriter(path)
      records.forEach((record, i) => {
        writer.append(record)
        const text = readFileSync(path, 'utf8')
        assert.ok(text.endsWith('\n'))
        assert.equal(readTrainingLog(path).records.length, i + 1)
      })
      writer.close()
    }
  })
})

test('CSV: appending to a file with the same header adds rows without a second header', () => {
  withTempDir((dir) => {
    const path = join(dir, 'log.csv')
    writeAll(path, records.slice(0, 2))
    writeAll(path, records.slice(2))
    const text = readFileSync(path, 'utf8')
    assert.equal(text.split('\n').filter((l) => l.startsWith('step,')).length, 1)
    assert.deepEqual(readTrainingLog(path).records, records)
  })
})

test('CSV: appending with other columns is refused and leaves the file alone', () => {
  withTempDir((dir) => {
    const path = join(dir, 'log.csv')
    writeAll(path, records)
    const before = readFileSync(path, 'utf8')
    const writer = new TrainingLogWriter(path)
    throwsCode(
      () => writer.append({ step: 400, time: 1, loss: 1, lr: 1, tokensPerSecond: 1 }),
      'FILE',
      /has columns 'step,time,loss,valLoss,lr,tokensPerSecond,gradNorm', this run writes 'step,time,loss,valLoss,lr,tokensPerSecond'\. Log to a new file/,
    )
    throwsCode(() => new TrainingLogWriter(path, { extraColumns: ['epoch'] }), 'FILE', /this run writes '.*,epoch'/)
    assert.equal(readFileSync(path, 'utf8'), before)
  })
})

test('declared extra columns: missing values are empty cells; undeclared fields are refused', () => {
  withTempDir((dir) => {
    const path = join(dir, 'log.csv')
    const writer = new TrainingLogWriter(path, { extraColumns: ['epoch', 'gradNorm'] })
    writer.append({ step: 1, time: 1, loss: 2, lr: 0.1, tokensPerSecond: 5, gradNorm: 0.5 })
    throwsCode(
      () => writer.append({ step: 2, time: 2, loss: 2, lr: 0.1, tokensPerSecond: 5, momentum: 0.9 }),
      'FORMAT',
      /field 'momentum' at step 2 is not a column .*Declare it in extraColumns/,
    )
    throwsCode(() => writer.append({ step: 3, time: 2, loss: 2, lr: 0.1 } as unknown as TrainingRecord), 'FORMAT', /has no number 'tokensPerSecond'/)
    writer.close()
    throwsCode(() => writer.append(records[0]!), 'STATE', /append after close/)
    assert.equal(readFileSync(path, 'utf8'), 'step,time,loss,valLoss,lr,tokensPerSecond,epoch,gradNorm\n1,1,2,,0.1,5,,0.5\n')
    assert.deepEqual(readTrainingLog(path).records, [{ step: 1, time: 1, loss: 2, lr: 0.1, tokensPerSecond: 5, gradNorm: 0.5 }])
    throwsCode(() => new TrainingLogWriter(join(dir, 'x.csv'), { extraColumns: ['bad name'] }), 'FORMAT', /column name 'bad name'/)
    throwsCode(() => new TrainingLogWriter(join(dir, 'y.csv'), { extraColumns: ['loss'] }), 'FORMAT', /'loss' is a standard column/)
  })
})

test('a truncated last line is skipped by the reader and cut by the next writer', () => {
  withTempDir((dir) => {
    const csv = join(dir, 'log.csv')
    writeAll(csv, records.slice(0, 2))
    // A crash in the middle of writing the third line: "200,24,1.2" of "200,24,1.25,...".
    appendFileSync(csv, '200,24,1.2')
    const partial = readTrainingLog(csv)
    assert.deepEqual(partial.records, records.slice(0, 2))
    assert.equal(partial.truncatedLastLine, true)
    writeAll(csv, records.slice(2))
    assert.deepEqual(readTrainingLog(csv), { ...partial, records, truncatedLastLine: false })

    const jsonl = join(dir, 'log.jsonl')
    writeAll(jsonl, records.slice(0, 2))
    appendFileSync(jsonl, '{"step":200,"time":24,"lo')
    assert.equal(readTrainingLog(jsonl).truncatedLastLine, true)
    assert.deepEqual(readTrainingLog(jsonl).records, records.slice(0, 2))
    writeAll(jsonl, records.slice(2))
    assert.deepEqual(readTrainingLog(jsonl).records, records)

    // A file that is nothing but a partial header is started over.
    const headerOnly = join(dir, 'cut.csv')
    writeFileSync(headerOnly, 'step,ti')
    writeAll(headerOnly, records.slice(0, 1))
    assert.deepEqual(readTrainingLog(headerOnly).records, records.slice(0, 1))
  })
})

test('parseTrainingLog: a complete JSON object without its newline is kept, CRLF and blank lines are fine', () => {
  const jsonl = parseTrainingLog('{"step":1,"time":1,"loss":2,"lr":1,"tokensPerSecond":3}\n\n{"step":2,"time":2,"loss":1,"lr":1,"tokensPerSecond":3}', 'jsonl')
  assert.equal(jsonl.records.length, 2)
  assert.equal(jsonl.truncatedLastLine, false)
  const csv = parseTrainingLog('step,time,loss,valLoss,lr,tokensPerSecond\r\n1,1,2,,1,3\r\n\r\n2,2,1,1.5,1,3\r\n', 'csv')
  assert.deepEqual(csv.records, [
    { step: 1, time: 1, loss: 2, lr: 1, tokensPerSecond: 3 },
    { step: 2, time: 2, loss: 1, valLoss: 1.5, lr: 1, tokensPerSecond: 3 },
  ])
  assert.deepEqual(parseTrainingLog('', 'csv'), { format: 'csv', columns: [], records: [], truncatedLastLine: false })
})

test('malformed lines in the middle are FORMAT errors with the line number', () => {
  const header = 'step,time,loss,valLoss,lr,tokensPerSecond\n'
  throwsCode(() => parseTrainingLog(`${header}1,1,2,,1\n2,2,1,,1,3\n`, 'csv', 'log.csv'), 'FORMAT', /^log\.csv, line 2: 5 values for 6 columns$/)
  throwsCode(() => parseTrainingLog(`${header}1,1,abc,,1,3\n`, 'csv', 'log.csv'), 'FORMAT', /^log\.csv, line 2, column loss: 'abc' is not a number$/)
  throwsCode(() => parseTrainingLog(`${header}1,1,,,1,3\n`, 'csv', 'log.csv'), 'FORMAT', /^log\.csv, line 2: no value for 'loss'$/)
  throwsCode(() => parseTrainingLog('step,loss\n1,2\n', 'csv', 'log.csv'), 'FORMAT', /the CSV header has no 'time' column/)
  throwsCode(() => parseTrainingLog('{"step":1\n{}\n', 'jsonl', 'log.jsonl'), 'FORMAT', /^log\.jsonl, line 1: not a JSON object$/)
  throwsCode(
    () => parseTrainingLog('{"step":1,"time":1,"loss":true,"lr":1,"tokensPerSecond":3}\n', 'jsonl', 'log.jsonl'),
    'FORMAT',
    /^log\.jsonl, line 1: field 'loss' is not a number$/,
  )
  throwsCode(
    () => parseTrainingLog('{"step":1,"time":1,"loss":"lots","lr":1,"tokensPerSecond":3}\n', 'jsonl', 'log.jsonl'),
    'FORMAT',
    /field loss: 'lots' is not a number/,
  )
})

test('unreadable and unwritable paths are FILE errors', () => {
  withTempDir((dir) => {
    throwsCode(() => readTrainingLog(join(dir, 'missing.csv')), 'FILE', /missing\.csv: cannot read/)
    throwsCode(() => new TrainingLogWriter(join(dir, 'no', 'such', 'folder', 'log.csv')), 'FILE', /cannot open for writing .*Check that the folder exists/)
  })
})
