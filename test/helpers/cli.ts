/** What the CLI tests check of every run: success without a stack trace, or one error line. */
import assert from 'node:assert/strict'

import { stackLines, type CliResult } from './lm.js'

export { runCli, stackLines, type CliResult } from './lm.js'

/** The run exited 0 and printed no stack trace; `what` names it in the failure message. */
export function assertSucceeded(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what} exited ${result.code}: ${result.err}`)
  assert.deepEqual(stackLines(result.out + result.err), [], `${what}: no stack trace`)
}

/** A failure: the exit code, exactly one line on stderr matching `pattern`, nothing on stdout, no stack. */
export function assertFailedWithOneLine(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `exit code (stderr: ${result.err})`)
  assert.equal(result.out, '')
  const lines = result.err.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line: ${result.err}`)
  assert.match(lines[0]!, /^recur: error: /)
  assert.match(lines[0]!, pattern)
}
