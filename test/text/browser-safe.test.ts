import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { assertBrowserSafe, filesImportingNode, root } from '../helpers/module-graph.js'

const textFolder = join(root, 'src/text')

test('tokenizers, vocabulary and the text index import nothing outside the package (no node: modules)', () => {
  for (const name of ['index.ts', 'tokenizers.ts', 'vocabulary.ts', 'special-tokens.ts']) assertBrowserSafe(join(textFolder, name))
})

test('corpus.ts is the only file in src/text that imports node: modules', () => {
  assert.deepEqual(filesImportingNode(textFolder), ['corpus.ts'])
})
