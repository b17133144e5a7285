/**
 * The import graph of the TypeScript sources, read as text: which modules a file imports, which
 * files it reaches, and the checks that a module is browser-safe (no `node:` modules, no Node
 * globals) and that only the expected files of a folder import `node:` modules.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The module specifiers a TypeScript file imports or re-exports (static and dynamic). */
export function importsOf(path: string): string[] {
  const source = readFileSync(path, 'utf8')
  const specifiers: string[] = []
  for (const match of source.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    specifiers.push((match[1] ?? match[2] ?? match[3])!)
  }
  return specifiers
}

/** Every file reachable from `entry` through relative imports, with the non-relative specifiers it meets. */
export function reachable(entry: string): { files: string[]; external: string[] } {
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

/** Asserts that `entry` reaches no module outside the package (so no `node:` module) and no file that uses a Node global. */
export function assertBrowserSafe(entry: string): void {
  const { files, external } = reachable(entry)
  assert.deepEqual(external, [], relative(root, entry))
  for (const file of files) {
    const source = readFileSync(file, 'utf8')
    assert.doesNotMatch(source, /\b(?:process|Buffer|require)\s*[.(]/, `${relative(root, file)} uses a Node global`)
  }
}

/** The names of the .ts files directly in `folder` that import a `node:` module. */
export function filesImportingNode(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .filter((name) => importsOf(join(folder, name)).some((specifier) => specifier.startsWith('node:')))
}
