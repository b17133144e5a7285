import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { assertBrowserSafe, filesImportingNode, root } from '../helpers/module-graph.js'

const dataFolder = join(root, 'src/data')

test('the data index and every data module but datasets.ts import nothing outside the package (no node: modules)', () => {
  const names = readdirSync(dataFolder).filter((name) => name.endsWith('.ts') && name !== 'datasets.ts')
  assert.ok(names.includes('index.ts'))
  for (const name of names) assertBrowserSafe(join(dataFolder, name))
})

test('datasets.ts is the only file in src/data that imports node: modules', () => {
  assert.deepEqual(filesImportingNode(dataFolder), ['datasets.ts'])
})
