/** Matching the errors recur throws on purpose in `assert.throws` / `assert.rejects`. */
import assert from 'node:assert/strict'

import { RecurError, type RecurErrorCode } from '../../src/errors.js'

/**
 * A validator for `assert.throws(fn, isRecurError('DATA', 'line 3'))`: the error must be a
 * RecurError with `code` and a one-line message holding every fragment. Any other error is not
 * matched (so `assert.throws` reports it); a RecurError that differs fails with what differs.
 */
export function isRecurError(code: RecurErrorCode, ...fragments: string[]): (error: unknown) => boolean {
  return (error) => {
    if (!(error instanceof RecurError)) return false
    assert.equal(error.code, code, error.message)
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `${JSON.stringify(fragment)} not in: ${error.message}`)
    assert.doesNotMatch(error.message, /\n/, 'error messages are one line')
    return true
  }
}
