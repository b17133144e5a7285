/** Decoding outcomes for the property tests of the file parsers: refused (with which error) or valid. */
import assert from 'node:assert/strict'
import { RecurError, type RecurErrorCode } from '../../src/errors.js'
import { refusedOrValid } from '../fuzz/target.js'

/** Decodes `bytes` (as `refusedOrValid` checks it); returns the RecurError when refused, else null. */
export async function outcome(bytes: Uint8Array, decode: (bytes: Uint8Array) => unknown): Promise<RecurError | null> {
  let refusal: RecurError | null = null
  await refusedOrValid(bytes.length, () => {
    try {
      decode(bytes)
    } catch (error) {
      if (error instanceof RecurError) refusal = error
      throw error
    }
  })
  return refusal
}

/** Asserts that decoding is refused with one of `codes`. */
export async function assertRefused(bytes: Uint8Array, decode: (bytes: Uint8Array) => unknown, codes: readonly RecurErrorCode[]): Promise<RecurError> {
  const refusal = await outcome(bytes, decode)
  assert.ok(refusal !== null, 'expected a refusal, the input decoded')
  assert.ok(codes.includes(refusal.code), `expected ${codes.join(' or ')}, got ${refusal.code}: ${refusal.message}`)
  return refusal
}
