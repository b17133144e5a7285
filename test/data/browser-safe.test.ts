import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const dataFolder = join(root, 'src/data')

/** The module specifiers a TypeScript file imports or re-exports (static and dynamic). */
function importsOf(path: string): string[] {
  const source = readFileSync(path, 'utf8')
  const specifiers: string[] = []
  for (const match of source.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    specifiers.push((match[1] ?? match[2] ?? match[3])!)
  }
  return specifiers
}

/** Every file reachable from `entry` through relative imports, with the non-relative specifiers it meets. */
function reachable(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>()
  const external: string[] = []
  const visit = (path: string): void => {
    if (files.has(path)) return
    files.add(path)
    for (const specifier of importsOf(path)) {
      if (specifier.startsWith('.')) visit(resolve(dirname(path), specifier).replace(/\.js$/, '.ts'))
      else external.push(`${relative(root, path)} -> ${specifier}`)
    }
  }
  visit(entry)
  return { files: [...files], external }
}

test('the data index and every data module but datasets.ts import nothing outside the package (no node: modules)', () => {
  const names = readdirSync(dataFolder).filter((name) => name.endsWith('.ts') && name !== 'datasets.ts')
  assert.ok(names.includes('index.ts'))
  for (const name of names) {
    const { files, external } = reachable(join(dataFolder, name))
    assert.deepEqual(external, [], name)
    for (const file of files) {
      const source = readFileSync(file, 'utf8')
      assert.doesNotMatch(source, /\b(?:process|Buffer|require)\s*[.(]/, `${relative(root, file)} uses a Node global`)
    }
  }
})

test('datasets.ts is the only file in src/data that imports node: modules', () => {
  const withNode = readdirSync(dataFolder)
    .filter((name) => name.endsWith('.ts'))
    .filter((name) => importsOf(join(dataFolder, name)).some((specifier) => specifier.startsWith('node:')))
  assert.deepEqual(withNode, ['datasets.ts'])
})
