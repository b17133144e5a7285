/**
 * Vocabulary: the two-way map between tokens and integer ids (0 .. V-1), and a counter that builds
 * one from a stream of tokens in bounded memory.
 *
 * Id order, stated once: the specials first, in the order given (default `<UNK>`, `<EOS>`), then
 * the other tokens by count, most frequent first, ties in code-point order of the token. The same
 * counts always give the same ids.
 *
 * Every vocabulary holds `<UNK>`, so any token can be encoded (as `<UNK>` when unknown, unless the
 * caller asks for an error instead).
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError, describeValue, expectInt } from '../errors.js'
import { BOS, EOS, PAD, UNK } from './special-tokens.js'

export { BOS, EOS, PAD, UNK } from './special-tokens.js'

/** Options of `Vocabulary.build` and `TokenCounter.toVocabulary`. */
export interface VocabularyBuildOptions {
  /** Most tokens the vocabulary may hold, specials included. Default: no limit. */
  maxSize?: number
  /** Tokens seen fewer times than this are left out (they encode as `<UNK>`). Default 1. */
  minCount?: number
  /**
   * The special tokens, in id order, before every other token. Must contain `<UNK>`. Default
   * `['<UNK>', '<EOS>']`; ask for padding and a start token with for example
   * `['<PAD>', '<UNK>', '<EOS>', '<BOS>']`.
   */
  specials?: readonly string[]
}

/** Options of `Vocabulary.encode`. */
export interface EncodeOptions {
  /** What an unknown token becomes: 'unk' maps it to `<UNK>` (default); 'error' throws. */
  unknown?: 'unk' | 'error'
}

/** The JSON form of a vocabulary: the tokens in id order, tagged with the format and its version. */
export interface VocabularyJSON {
  format: 'recur-vocabulary'
  version: 1
  tokens: string[]
}

const JSON_FORMAT = 'recur-vocabulary'
const JSON_VERSION = 1

/** The specials a vocabulary starts with unless told otherwise. */
export const DEFAULT_SPECIALS: readonly string[] = Object.freeze([UNK, EOS])

/**
 * Compares two strings by Unicode code point (what `<` does, except that JavaScript compares UTF-16
 * units, which puts U+10000 and above before U+E000..U+FFFF).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (U+10000 and up) must sort after U+E000..U+FFFF: shift each range into place.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000
      }
      return x - y
    }
  }
  return a.length - b.length
}

/** The token -> id / id -> token map of a model. Immutable once made. */
export class Vocabulary {
  static readonly UNK = UNK
  static readonly EOS = EOS
  static readonly PAD = PAD
  static readonly BOS = BOS

  /** Number of tokens, V. Ids run from 0 to V-1. */
  readonly size: number
  /** Id of `<UNK>`; every vocabulary has one. */
  readonly unkId: number
  /** Id of `<EOS>`, or -1 if this vocabulary has none. */
  readonly eosId: number
  /** Id of `<PAD>`, or -1 if this vocabulary has none. */
  readonly padId: number
  /** Id of `<BOS>`, or -1 if this vocabulary has none. */
  readonly bosId: number
  private readonly tokenList: readonly string[]
  private readonly ids: ReadonlyMap<string, number>

  private constructor(tokens: readonly string[], ids: ReadonlyMap<string, number>) {
    this.tokenList = tokens
    this.ids = ids
    this.size = tokens.length
    this.unkId = ids.get(UNK)!
    this.eosId = ids.get(EOS) ?? -1
    this.padId = ids.get(PAD) ?? -1
    this.bosId = ids.get(BOS) ?? -1
  }

  /**
   * Builds a vocabulary from token counts or from the tokens themselves: the specials, then the
   * tokens with at least `minCount` occurrences by count (descending, ties in code-point order),
   * cut to `maxSize` entries in all.
   * @param source a map from token to count (non-negative integers), a `TokenCounter`, or tokens to count
   * @throws RecurError 'OPTION' for bad specials or tokens, 'RANGE' for bad sizes or counts.
   */
  static build(source: ReadonlyMap<string, number> | TokenCounter | Iterable<string>, options: VocabularyBuildOptions = {}): Vocabulary {
    const specials = checkSpecials(options.specials ?? DEFAULT_SPECIALS)
    const minCount = options.minCount ?? 1
    expectInt('Vocabulary.build: minCount', minCount, 1)
    const maxSize = options.maxSize ?? Number.MAX_SAFE_INTEGER
    if (!Number.isInteger(maxSize) || maxSize < specials.length) {
      throw new RecurError(
        'RANGE',
        `Vocabulary.build: maxSize ${maxSize} leaves no room for the ${specials.length} specials (${specials.join(' ')})`,
        `maxSize counts the specials: use at least ${specials.length}`,
      )
    }
    let counts: ReadonlyMap<string, number> | TokenCounter
    if (source instanceof Map || source instanceof TokenCounter) {
      counts = source
    } else if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
      counts = countTokens(source as Iterable<string>)
    } else {
      throw new RecurError('OPTION', `Vocabulary.build: expected a Map of counts, a TokenCounter or an iterable of tokens, got ${describeValue(source)}`)
    }

    // Bucket the tokens by count, then take buckets from the most frequent down, each in
    // code-point order, until the vocabulary is full.
    const specialSet = new Set(specials)
    const buckets = new Map<number, string[]>()
    counts.forEach((count, token) => {
      if (typeof token !== 'string' || token === '') {
        throw new RecurError('OPTION', `Vocabulary.build: tokens must be non-empty strings, got ${describeValue(token)}`)
      }
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new RecurError('RANGE', `Vocabulary.build: count of ${JSON.stringify(token)} is ${count}, expected an integer >= 0`)
      }
      if (count < minCount || specialSet.has(token)) return
      const bucket = buckets.get(count)
      if (bucket === undefined) buckets.set(count, [token])
      else bucket.push(token)
    })
    const tokens = specials.slice()
    const room = maxSize - specials.length
    const countsDescending = Array.from(buckets.keys()).sort((a, b) => b - a)
    for (const count of countsDescending) {
      const left = room - (tokens.length - specials.length)
      if (left <= 0) break
      const bucket = sortByCodePoint(buckets.get(count)!)
      const take = Math.min(left, bucket.length)
      for (let i = 0; i < take; i++) tokens.push(bucket[i]!)
    }
    return Vocabulary.fromTrustedList(tokens)
  }

  /**
   * A vocabulary with exactly these tokens, in this order (token i gets id i).
   * @throws RecurError 'FORMAT' for a non-string or empty token, a duplicate, or no `<UNK>`.
   */
  static fromTokens(tokens: readonly string[]): Vocabulary {
    return Vocabulary.fromCheckedList(tokens, 'Vocabulary.fromTokens')
  }

  /**
   * Reads what `toJSON` wrote, as the object or as JSON text.
   * @throws RecurError 'FORMAT' for malformed input (not JSON, wrong format tag, tokens that are not
   *   unique non-empty strings, no `<UNK>`), 'VERSION' for another format version.
   */
  static fromJSON(json: unknown): Vocabulary {
    let value = json
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value)
      } catch (error) {
        throw new RecurError('FORMAT', `Vocabulary.fromJSON: not valid JSON (${(error as Error).message})`)
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RecurError('FORMAT', `Vocabulary.fromJSON: expected an object { format, version, tokens }, got ${describeValue(value)}`)
    }
    const record = value as Record<string, unknown>
    if (record['format'] !== JSON_FORMAT) {
      throw new RecurError('FORMAT', `Vocabulary.fromJSON: format is ${describeValue(record['format'])}, expected "${JSON_FORMAT}"`, 'is this a vocabulary file written by recur?')
    }
    if (record['version'] !== JSON_VERSION) {
      throw new RecurError('VERSION', `Vocabulary.fromJSON: version ${describeValue(record['version'])} is not supported (this recur reads version ${JSON_VERSION})`)
    }
    const tokens = record['tokens']
    if (!Array.isArray(tokens)) {
      throw new RecurError('FORMAT', `Vocabulary.fromJSON: tokens is ${describeValue(tokens)}, expected an array of strings`)
    }
    return Vocabulary.fromCheckedList(tokens, 'Vocabulary.fromJSON')
  }

  private static fromCheckedList(tokens: readonly unknown[], operation: string): Vocabulary {
    if (!Array.isArray(tokens)) {
      throw new RecurError('FORMAT', `${operation}: expected an array of tokens, got ${describeValue(tokens)}`)
    }
    const ids = new Map<string, number>()
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id]
      if (typeof token !== 'string' || token === '') {
        throw new RecurError('FORMAT', `${operation}: token ${id} is ${describeValue(token)}, expected a non-empty string`)
      }
      const first = ids.get(token)
      if (first !== undefined) {
        throw new RecurError('FORMAT', `${operation}: token ${JSON.stringify(token)} appears twice, at ids ${first} and ${id}`)
      }
      ids.set(token, id)
    }
    if (!ids.has(UNK)) {
      throw new RecurError('FORMAT', `${operation}: the tokens have no ${UNK}`, `every vocabulary needs ${UNK} for tokens it does not hold; add it (usually as id 0)`)
    }
    return new Vocabulary((tokens as string[]).slice(), ids)
  }

  private static fromTrustedList(tokens: string[]): Vocabulary {
    const ids = new Map<string, number>()
    for (let id = 0; id < tokens.length; id++) ids.set(tokens[id]!, id)
    return new Vocabulary(tokens, ids)
  }

  /** The tokens in id order. */
  get tokens(): readonly string[] {
    return this.tokenList
  }

  /** Whether `token` has an id of its own. */
  has(token: string): boolean {
    return this.ids.has(token)
  }

  /** The id of `token`, or `unkId` if the vocabulary does not hold it (see `has`). */
  id(token: string): number {
    return this.ids.get(token) ?? this.unkId
  }

  /**
   * The token with id `id`.
   * @throws RecurError 'RANGE' unless 0 <= id < size.
   */
  token(id: number): string {
    this.checkId('Vocabulary.token', id, -1)
    return this.tokenList[id]!
  }

  /**
   * Token ids of `tokens`, in order.
   * @throws RecurError 'TOKEN' for an unknown token when `unknown` is 'error', naming it and its position.
   */
  encode(tokens: Iterable<string>, options: EncodeOptions = {}): Int32Array {
    const unknown = options.unknown ?? 'unk'
    if (unknown !== 'unk' && unknown !== 'error') {
      throw new RecurError('OPTION', `Vocabulary.encode: unknown must be 'unk' or 'error', got ${JSON.stringify(unknown)}`)
    }
    if (typeof tokens === 'string') {
      throw new RecurError('OPTION', 'Vocabulary.encode: expected tokens, got a string', 'tokenize the text first: vocabulary.encode(tokenize(text, options))')
    }
    const list = Array.isArray(tokens) ? (tokens as readonly string[]) : Array.from(tokens)
    const ids = new Int32Array(list.length)
    for (let position = 0; position < list.length; position++) {
      const token = list[position]!
      const id = this.ids.get(token)
      if (id !== undefined) {
        ids[position] = id
      } else if (unknown === 'unk') {
        ids[position] = this.unkId
      } else {
        throw new RecurError(
          'TOKEN',
          `Vocabulary.encode: unknown token ${JSON.stringify(token)} at position ${position} (vocabulary of ${this.size} tokens)`,
          `pass { unknown: 'unk' } to encode unknown tokens as ${UNK} (id ${this.unkId}), or build the vocabulary from text that contains it`,
        )
      }
    }
    return ids
  }

  /**
   * Tokens of `ids`, in order.
   * @throws RecurError 'RANGE' for an id outside [0, size), naming it and its position.
   */
  decode(ids: ArrayLike<number>): string[] {
    const tokens = new Array<string>(ids.length)
    for (let position = 0; position < ids.length; position++) {
      const id = ids[position]!
      this.checkId('Vocabulary.decode', id, position)
      tokens[position] = this.tokenList[id]!
    }
    return tokens
  }

  /**
   * The one-hot row of `id`: V values, all 0 but a 1 at `id`.
   * @throws RecurError 'RANGE' unless 0 <= id < size.
   */
  oneHot(id: number): Float32Array {
    this.checkId('Vocabulary.oneHot', id, -1)
    const row = new Float32Array(this.size)
    row[id] = 1
    return row
  }

  /**
   * One-hot rows of `ids`, row-major: out is (N, V) for N ids, row n has a 1 at ids[n].
   * @throws RecurError 'RANGE' for an id outside [0, size), naming it and its position.
   */
  oneHotBatch(ids: ArrayLike<number>): Float32Array {
    const V = this.size
    const rows = new Float32Array(ids.length * V)
    for (let n = 0; n < ids.length; n++) {
      const id = ids[n]!
      this.checkId('Vocabulary.oneHotBatch', id, n)
      rows[n * V + id] = 1
    }
    return rows
  }

  /** The JSON form: `{ format: 'recur-vocabulary', version: 1, tokens }`. `JSON.stringify` calls it. */
  toJSON(): VocabularyJSON {
    return { format: JSON_FORMAT, version: JSON_VERSION, tokens: this.tokenList.slice() }
  }

  private checkId(operation: string, id: number, position: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) {
      const where = position >= 0 ? ` at position ${position}` : ''
      throw new RecurError(
        'RANGE',
        `${operation}: id ${id}${where} is outside [0, ${this.size - 1}]`,
        `ids must come from this vocabulary (size ${this.size}); was the model made with another one?`,
      )
    }
  }
}

function checkSpecials(specials: readonly string[]): readonly string[] {
  if (!Array.isArray(specials)) {
    throw new RecurError('OPTION', `Vocabulary.build: specials must be an array of strings, got ${describeValue(specials)}`)
  }
  const seen = new Set<string>()
  for (const special of specials) {
    if (typeof special !== 'string' || special === '') {
      throw new RecurError('OPTION', `Vocabulary.build: special ${describeValue(special)} is not a non-empty string`)
    }
    if (seen.has(special)) throw new RecurError('OPTION', `Vocabulary.build: special ${JSON.stringify(special)} is listed twice`)
    seen.add(special)
  }
  if (!seen.has(UNK)) {
    throw new RecurError('OPTION', `Vocabulary.build: specials [${specials.join(', ')}] lack ${UNK}`, `every vocabulary needs ${UNK}; add it to specials`)
  }
  return specials
}

/** Sorts `tokens` in place by code point: the native sort where that is the same order (no unit >= U+D800). */
function sortByCodePoint(tokens: string[]): string[] {
  const needsCodePoints = tokens.some((token) => HIGH_UNITS.test(token))
  return needsCodePoints ? tokens.sort(compareCodePoints) : tokens.sort()
}
const HIGH_UNITS = /[\ud800-\uffff]/

function countTokens(tokens: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1)
  return counts
}

/** Options of `TokenCounter`. */
export interface TokenCounterOptions {
  /**
   * Most distinct tokens held in memory (about 60 bytes each plus the token's text). Default
   * 2,097,152, about 200 MB at most for word tokens. Beyond it the rarest entries are pruned: see
   * `TokenCounter`.
   */
  maxDistinct?: number
}

/** Default `TokenCounterOptions.maxDistinct`. */
export const DEFAULT_MAX_DISTINCT_TOKENS = 2_097_152

/** The table grows (doubles) when more than this fraction of its slots is used. */
const MAX_LOAD = 0.7
const INITIAL_SLOTS = 1024

/**
 * Counts tokens as they stream past, in bounded memory.
 *
 * The approximation, stated once: while at most `maxDistinct` distinct tokens have been seen, the
 * counts are exact (`exact` is true). When one more would exceed the cap, the counter prunes: it
 * removes every entry whose count is at most t, for the smallest t that brings the table down to
 * 3/4 of the cap (so all entries with equal counts go together, and the result does not depend on
 * the order of equally rare tokens). A pruned token seen again starts from zero. So every count is
 * a lower bound, at most `countErrorBound` (the sum of the t of every prune) below the true count,
 * and every token whose true count exceeds `countErrorBound` is still present. Tokens that are
 * frequent from the start of the stream are never pruned and keep exact counts.
 *
 * Implementation: an open-addressing hash table (linear probing) in flat arrays, about twice as
 * fast as a `Map` once it holds a million tokens, which is where the time of counting a big corpus
 * goes.
 */
export class TokenCounter {
  /** Most distinct tokens held (see `TokenCounterOptions`). */
  readonly maxDistinct: number
  /** slot -> token, or undefined for an empty slot. The slot count is a power of two. */
  private slotTokens: (string | undefined)[]
  private slotHashes: Int32Array
  private slotCounts: Float64Array
  private used = 0
  private total = 0
  private errorBound = 0
  private prunes = 0

  constructor(options: TokenCounterOptions = {}) {
    const maxDistinct = options.maxDistinct ?? DEFAULT_MAX_DISTINCT_TOKENS
    expectInt('TokenCounter: maxDistinct', maxDistinct, 4)
    this.maxDistinct = maxDistinct
    this.slotTokens = new Array<string | undefined>(INITIAL_SLOTS).fill(undefined)
    this.slotHashes = new Int32Array(INITIAL_SLOTS)
    this.slotCounts = new Float64Array(INITIAL_SLOTS)
  }

  /** Counts each of `tokens` once. */
  add(tokens: Iterable<string>): void {
    if (Array.isArray(tokens)) {
      const list = tokens as readonly string[]
      for (let i = 0; i < list.length; i++) this.addOne(list[i]!)
    } else {
      for (const token of tokens) this.addOne(token)
    }
  }

  private addOne(token: string): void {
    this.total++
    const hash = hashToken(token)
    let mask = this.slotTokens.length - 1
    let slot = hash & mask
    for (;;) {
      const held = this.slotTokens[slot]
      if (held === undefined) break
      if (this.slotHashes[slot] === hash && held === token) {
        this.slotCounts[slot]!++
        return
      }
      slot = (slot + 1) & mask
    }
    // A new token.
    if (this.used >= this.maxDistinct || this.used + 1 > this.slotTokens.length * MAX_LOAD) {
      if (this.used >= this.maxDistinct) this.prune()
      else this.rehash(this.slotTokens.length * 2)
      mask = this.slotTokens.length - 1
      slot = hash & mask
      while (this.slotTokens[slot] !== undefined) slot = (slot + 1) & mask
    }
    // Tokens cut from a big chunk of text can be views into it (V8 "sliced strings"); keeping
    // one would keep the whole chunk alive. Rebuilding the string detaches it.
    this.slotTokens[slot] = token.length > 12 ? (' ' + token).slice(1) : token
    this.slotHashes[slot] = hash
    this.slotCounts[slot] = 1
    this.used++
  }

  /** How many times `token` was counted (0 if never, or if pruned and not seen since). */
  count(token: string): number {
    const hash = hashToken(token)
    const mask = this.slotTokens.length - 1
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.slotTokens[slot]
      if (held === undefined) return 0
      if (this.slotHashes[slot] === hash && held === token) return this.slotCounts[slot]!
    }
  }

  /** Number of distinct tokens held now. */
  get distinctTokens(): number {
    return this.used
  }

  /** Number of tokens counted, pruned ones included. */
  get totalTokens(): number {
    return this.total
  }

  /** Whether no entry was ever pruned, so every count is exact. */
  get exact(): boolean {
    return this.prunes === 0
  }

  /** Largest amount by which any held count can be below its true count (0 while `exact`). */
  get countErrorBound(): number {
    return this.errorBound
  }

  /** Calls `visit(count, token)` for every token held, in no particular order (like `Map.forEach`). */
  forEach(visit: (count: number, token: string) => void): void {
    const tokens = this.slotTokens
    for (let slot = 0; slot < tokens.length; slot++) {
      const token = tokens[slot]
      if (token !== undefined) visit(this.slotCounts[slot]!, token)
    }
  }

  /** The counts as a `Map`, in no particular order. */
  toMap(): Map<string, number> {
    const counts = new Map<string, number>()
    this.forEach((count, token) => counts.set(token, count))
    return counts
  }

  /** `Vocabulary.build` on these counts. */
  toVocabulary(options: VocabularyBuildOptions = {}): Vocabulary {
    return Vocabulary.build(this, options)
  }

  /** Moves every entry into a table of `slotCount` slots (a power of two). */
  private rehash(slotCount: number, keep: (count: number) => boolean = () => true): void {
    const oldTokens = this.slotTokens
    const oldHashes = this.slotHashes
    const oldCounts = this.slotCounts
    const tokens = new Array<string | undefined>(slotCount).fill(undefined)
    const hashes = new Int32Array(slotCount)
    const counts = new Float64Array(slotCount)
    const mask = slotCount - 1
    let used = 0
    for (let old = 0; old < oldTokens.length; old++) {
      const token = oldTokens[old]
      if (token === undefined || !keep(oldCounts[old]!)) continue
      let slot = oldHashes[old]! & mask
      while (tokens[slot] !== undefined) slot = (slot + 1) & mask
      tokens[slot] = token
      hashes[slot] = oldHashes[old]!
      counts[slot] = oldCounts[old]!
      used++
    }
    this.slotTokens = tokens
    this.slotHashes = hashes
    this.slotCounts = counts
    this.used = used
  }

  private prune(): void {
    const target = Math.floor((this.maxDistinct * 3) / 4)
    const mustRemove = this.used - target
    // Smallest t such that at least mustRemove entries have count <= t. A histogram finds it for
    // small t; the rare case of a larger t sorts the large counts.
    const histogramSize = 1 << 16
    const histogram = new Uint32Array(histogramSize)
    this.forEach((count) => {
      if (count < histogramSize) histogram[count]!++
    })
    let threshold = 0
    let removed = 0
    while (removed < mustRemove && threshold < histogramSize - 1) {
      threshold++
      removed += histogram[threshold]!
    }
    if (removed < mustRemove) {
      const large: number[] = []
      this.forEach((count) => {
        if (count >= histogramSize) large.push(count)
      })
      large.sort((a, b) => a - b)
      threshold = large[mustRemove - removed - 1]!
    }
    this.rehash(this.slotTokens.length, (count) => count > threshold)
    this.errorBound += threshold
    this.prunes++
  }
}

/** FNV-1a over the UTF-16 units, then murmur3's finaliser so that the low bits are well mixed. */
function hashToken(token: string): number {
  let hash = 0x811c9dc5 | 0
  for (let i = 0; i < token.length; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193)
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  return hash ^ (hash >>> 16)
}
