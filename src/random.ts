/**
 * One seedable random generator for everything recur draws: initial weights, dropout masks,
 * batch order and samples. xoshiro128** on 32-bit integers, so the same seed gives the same
 * numbers on every platform, and its whole state is four integers that a checkpoint can store.
 */
export class Random {
  private s: Uint32Array

  constructor(seed = 1) {
    this.s = new Uint32Array(4)
    // splitmix32 spreads any seed over the four state words (never all zero).
    let x = seed >>> 0
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      this.s[i] = (z ^ (z >>> 16)) >>> 0
    }
  }

  /** The generator's state, to store in a checkpoint. */
  getState(): number[] {
    return [...this.s]
  }

  /** Restores a state returned by getState. */
  setState(state: readonly number[]): void {
    this.s = Uint32Array.from(state)
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0
    const t = (s[1] << 9) >>> 0
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return result
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform()
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n)
  }

  /** Standard normal (Box-Muller; one value per call, for a state that is easy to store). */
  normal(): number {
    const u = 1 - this.uniform() // (0, 1]
    const v = this.uniform()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
