/**
 * What a fuzz target is, and the one rule every target checks: an input ends in a valid result or
 * a RecurError whose message is one line of reasonable length. Anything else (a TypeError, a
 * RangeError from a typed-array constructor, a SyntaxError from JSON.parse, a stack overflow, an
 * allocation beyond the input's limit) is a bug, reported by throwing `FuzzBug`.
 *
 * A target's `fuzz(data)` has the shape of a libFuzzer / Jazzer.js target (bytes in, throws on a
 * bug), so the same targets would run under Jazzer.js where its native part loads.
 */
import { RecurError } from '../../src/errors.js'
import { allocationLimitFor, withAllocationLimit } from './allocation-guard.js'
import type { Random } from './mutate.js'

/** The longest message a RecurError may carry; the CLI prints it as one line. */
export const MAX_MESSAGE_LENGTH = 2000

export interface FuzzTarget {
  /** Its corpus folder: test/fuzz/corpus/<name>/ and test/fuzz/regressions/<name>/. */
  name: string
  /** The parser it feeds, for the fuzzer's report. */
  description: string
  /** Words for the dictionary mutation: field names, dtype names, keywords of the format. */
  dictionary: readonly string[]
  /** Valid inputs the corpus starts from. */
  seeds(): Promise<Uint8Array[]>
  /** Runs one input. Resolves for a valid result or a RecurError; rejects with a `FuzzBug` otherwise. */
  fuzz(data: Uint8Array): Promise<void>
  /** A format-aware mutation (lengths and checksums rebuilt), or null to fall back to byte mutations. */
  mutate?(data: Uint8Array, random: Random): Uint8Array | null
}

/** An input that broke the rule: the cause is what the parser threw. */
export class FuzzBug extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options)
    this.name = 'FuzzBug'
  }
}

/**
 * Runs `run` on an input of `inputLength` bytes with allocations limited (see allocation-guard.ts)
 * and says how it ended: 'valid' or 'refused' (a well-formed RecurError). Anything else throws FuzzBug.
 */
export async function refusedOrValid(inputLength: number, run: () => unknown): Promise<'valid' | 'refused'> {
  try {
    await withAllocationLimit(allocationLimitFor(inputLength), run)
    return 'valid'
  } catch (error) {
    if (!(error instanceof RecurError)) {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      throw new FuzzBug(`not a RecurError: ${what.slice(0, 500)}`, { cause: error })
    }
    checkMessage(error)
    return 'refused'
  }
}

/** A RecurError's message must be one line of at most MAX_MESSAGE_LENGTH characters. */
function checkMessage(error: RecurError): void {
  if (error.message.includes('\n')) throw new FuzzBug(`RecurError ${error.code} has a message of several lines: ${JSON.stringify(error.message.slice(0, 300))}`, { cause: error })
  if (error.message.length > MAX_MESSAGE_LENGTH) {
    throw new FuzzBug(`RecurError ${error.code} has a ${error.message.length}-character message: ${JSON.stringify(error.message.slice(0, 300))}...`, { cause: error })
  }
}

/** Throws FuzzBug unless `condition` holds: for checks of a valid result. */
export function expectValid(condition: boolean, what: string): void {
  if (!condition) throw new FuzzBug(`invalid result: ${what}`)
}
