/** `recur bench`: runs a shortened workload and reports its figures; unknown workloads are refused. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli } from '../helpers/lm.js'

test('recur bench W4 --steps 5 --json reports tokens/s and peak memory', async () => {
  const r = await runCli(['bench', 'W4', '--steps', '5', '--json'])
  assert.equal(r.code, 0, r.err)
  const result = JSON.parse(r.out) as { workload: string; backend: string; tokens: number; tokensPerSecond: number; peakRssMiB: number }
  assert.equal(result.workload, 'W4')
  assert.equal(result.backend, 'reference')
  assert.equal(result.tokens, 5)
  assert.ok(result.tokensPerSecond > 0 && result.peakRssMiB > 0)
})

test('recur bench refuses an unknown workload', async () => {
  const r = await runCli(['bench', 'W9'])
  assert.equal(r.code, 2)
  assert.match(r.err, /^recur: error: unknown workload 'W9'/)
})
