/**
 * Replays every input that once found a bug (test/fuzz/regressions/<target>/<file>) through its
 * fuzz target, on every `npm test`: each must now end in a valid result or a RecurError of one
 * short line, allocating no more than its limit (see test/fuzz/target.ts). Also replays the seeds
 * and the committed corpus, which must stay valid or refused the same way.
 *
 * A few bug inputs are too large to keep as files; they are built here instead.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { parseDataset } from '../../src/data/parse.js'
import { TARGETS } from '../fuzz/targets/index.js'
import { refusedOrValid } from '../fuzz/target.js'

const FUZZ = join(import.meta.dirname, '..', 'fuzz')

/** The files of a folder, sorted, or none when it does not exist. */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('.') && !name.endsWith('.md')).sort()
  } catch {
    return []
  }
}

describe('fuzz regressions: every input that found a bug is refused or valid now', () => {
  const targets = filesIn(join(FUZZ, 'regressions'))
  test('every regression folder names a fuzz target', () => {
    for (const name of targets) assert.ok(TARGETS.has(name), `test/fuzz/regressions/${name}/ is not a target (${[...TARGETS.keys()].join(', ')})`)
    assert.ok(targets.length > 0, 'there are regressions')
  })
  for (const name of targets) {
    const target = TARGETS.get(name)
    if (target === undefined) continue
    test(name, async () => {
      const files = filesIn(join(FUZZ, 'regressions', name))
      assert.ok(files.length > 0)
      for (const file of files) {
        await target.fuzz(new Uint8Array(readFileSync(join(FUZZ, 'regressions', name, file)))).catch((error: Error) => {
          throw new Error(`test/fuzz/regressions/${name}/${file}: ${error.message}`, { cause: error })
        })
      }
    })
  }
})

describe('fuzz corpus: the seeds and the committed corpus still run cleanly', () => {
  for (const target of TARGETS.values()) {
    test(target.name, async () => {
      const inputs = [...(await target.seeds()), ...filesIn(join(FUZZ, 'corpus', target.name)).map((f) => new Uint8Array(readFileSync(join(FUZZ, 'corpus', target.name, f))))]
      for (const input of inputs) await target.fuzz(input)
    })
  }
})

describe('fuzz regressions built in the test (too large to keep as files)', () => {
  test('a CSV field of 800,000 doubled quotes parses in linear time (counting its line feeds was quadratic: 17 s)', async () => {
    const text = `text,label\n"${'""'.repeat(800_000)}",x\na,b\n`
    await refusedOrValid(text.length, () => {
      const dataset = parseDataset(text, 'csv', ['text', 'label'], 'quotes.csv')
      assert.equal(dataset.records[0]!['text']!.length, 800_000)
      assert.deepEqual(dataset.lines, [2, 3])
    })
  })
})
