/**
 * Catches unbounded allocation: while a limit is set, creating an ArrayBuffer or typed array larger
 * than the limit throws `AllocationLimitError` (and is remembered, in case the code under test
 * swallows the error). The fuzz targets set the limit from the input's length, so a parser that
 * sizes a buffer from a header it has not checked against the bytes it was given is caught before
 * it allocates, whether the size is 10^12 elements (which would throw a RangeError anyway) or a
 * mere 400 MB (which would silently succeed).
 *
 * It works by replacing the global constructors with Proxies that check the requested size and
 * then construct the real thing, so `instanceof`, static methods (`Float32Array.from`) and
 * subclasses behave as before. Allocations made inside V8 or Node (Buffer pools, `slice` of an
 * existing array) are not seen; they are bounded by data that already exists.
 */

/** Thrown (and recorded) when an allocation exceeds the limit: always a bug in the code under test. */
export class AllocationLimitError extends Error {
  constructor(readonly bytes: number, readonly limit: number, readonly what: string) {
    super(`unbounded allocation: new ${what} of ${bytes} bytes, more than the ${limit}-byte limit for this input`)
    this.name = 'AllocationLimitError'
  }
}

const GUARDED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const

interface GuardState {
  limit: number | null
  violation: AllocationLimitError | null
}

const state: GuardState = { limit: null, violation: null }
let installed = false

/** Bytes a constructor call with these arguments allocates, when its first argument is a length. */
function requestedBytes(name: string, args: readonly unknown[]): number {
  const first = args[0]
  if (typeof first !== 'number') return 0 // from an array, an iterable or an existing buffer: bounded by existing data
  const perElement = name === 'ArrayBuffer' || name === 'SharedArrayBuffer' ? 1 : (globalThis[name as 'Uint8Array'] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
  return first * perElement
}

/** Replaces the global ArrayBuffer and typed-array constructors with checking Proxies (once per process). */
export function installAllocationGuard(): void {
  if (installed) return
  installed = true
  const globals = globalThis as unknown as Record<string, unknown>
  for (const name of GUARDED) {
    const real = globals[name] as (new (...args: unknown[]) => object) | undefined
    if (real === undefined) continue
    globals[name] = new Proxy(real, {
      construct(target, args, newTarget) {
        const bytes = requestedBytes(name, args)
        if (state.limit !== null && bytes > state.limit) {
          const error = new AllocationLimitError(bytes, state.limit, name)
          state.violation ??= error
          throw error
        }
        return Reflect.construct(target, args, newTarget) as object
      },
    })
  }
}

/**
 * Runs `run` with allocations limited to `limitBytes` each; rejects with the first violation even
 * when the code under test caught it.
 */
export async function withAllocationLimit<T>(limitBytes: number, run: () => Promise<T> | T): Promise<T> {
  installAllocationGuard()
  state.limit = limitBytes
  state.violation = null
  try {
    const result = await run()
    if (state.violation !== null) throw state.violation
    return result
  } catch (error) {
    throw state.violation ?? error
  } finally {
    state.limit = null
    state.violation = null
  }
}

/** The limit for an input of `length` bytes: a parser may allocate a few times the input, plus slack. */
export function allocationLimitFor(length: number): number {
  return 8 * length + 8 * 1024 * 1024
}
