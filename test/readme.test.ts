/** The README's library quick start runs as written (with 'recur' pointing at this checkout). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'

test('README quick start runs and learns', () => {
  const readme = readFileSync(resolve('README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)
  assert.ok(block, 'README has a ```ts block')
  const index = resolve('src/index.ts')
  const code = block[1].replace("from 'recur'", `from ${JSON.stringify(index)}`)
  const dir = mkdtempSync(join(tmpdir(), 'recur-readme-'))
  try {
    const file = join(dir, 'quick-start.mts')
    writeFileSync(file, code)
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: resolve('.') })
    const lines = out.trim().split('\n')
    const loss = Number(/^loss (\S+)/.exec(lines[0])?.[1])
    assert.ok(loss < 1.5, `quick start reaches a loss below 1.5 nats, got ${lines[0]}`)
    assert.ok(lines.length >= 2 && lines.slice(1).join('\n').length > 0, 'quick start prints a sample')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
