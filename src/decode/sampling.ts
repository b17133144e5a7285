/**
 * Sampling text from a language model, and scoring text with it.
 *
 * Sampling draws y<t> from softmax(logits / temperature), optionally cut to the top-k tokens or
 * to the smallest set whose probability reaches top-p, then feeds y<t> back as the next input.
 * `<UNK>` is re-sampled by default (its probability is set to 0 and the rest renormalised, which
 * is what drawing again until it is not `<UNK>` amounts to), and `<EOS>` ends the sample.
 *
 * Scoring: log P(y<1>, ..., y<T>) = Σ_t log P(y<t> | y<1..t-1>), the first token conditioned on
 * the start token (see `startToken`).
 */
import type { State } from '../cells/recurrent.js'
import { RecurError } from '../errors.js'
import type { LanguageModel } from '../models/language-model.js'
import { Random } from '../random.js'
import type { Vocabulary } from '../text/vocabulary.js'

export interface SampleOptions {
  /** Most tokens to generate. Default 200. */
  length?: number
  /** Softmax temperature: < 1 sharper, > 1 flatter. Default 1. */
  temperature?: number
  /** Keep only the k most probable tokens (0: all). Default 0. */
  topK?: number
  /** Keep the smallest set of tokens whose probability reaches p (1: all). Default 1. */
  topP?: number
  /** Always take the most probable token. Default false. */
  greedy?: boolean
  /** Seed of the draws, so a sample can be reproduced. Default 1. */
  seed?: number
  /** Draw again when `<UNK>` comes up. Default true. */
  resampleUnknown?: boolean
  /** Stop when `<EOS>` is drawn (it is not yielded). Default true. */
  stopAtEos?: boolean
  /** Token ids to condition on before sampling; empty starts from the start token. */
  prime?: ArrayLike<number>
}

/**
 * The token a sequence is conditioned on when nothing precedes it: the newline at character level
 * (the model has seen text start after one), `<EOS>` otherwise (sentences follow an `<EOS>`).
 */
export function startToken(vocabulary: Vocabulary): number {
  return vocabulary.has('\n') ? vocabulary.id('\n') : vocabulary.eosId
}

/** Yields sampled token ids one at a time (stream them to the user as they come). */
export async function* sampleTokens(model: LanguageModel, vocabulary: Vocabulary, options: SampleOptions = {}): AsyncGenerator<number> {
  const length = options.length ?? 200
  const temperature = options.temperature ?? 1
  const topK = options.topK ?? 0
  const topP = options.topP ?? 1
  if (!(temperature > 0)) throw new RecurError('RANGE', `temperature must be > 0, got ${temperature}`, 'Use --greedy for the most probable token')
  if (!(topP > 0 && topP <= 1)) throw new RecurError('RANGE', `top-p must be in (0, 1], got ${topP}`)
  if (!Number.isInteger(topK) || topK < 0) throw new RecurError('RANGE', `top-k must be an integer >= 0, got ${topK}`)
  const k = model.kernels
  const V = model.vocabularySize
  const random = new Random(options.seed ?? 1)
  const unk = options.resampleUnknown === false ? -1 : vocabulary.unkId
  const eos = options.stopAtEos === false ? -1 : vocabulary.eosId
  const probsBuf = k.alloc(V)
  const states: State[] = model.zeroStates(1)
  let context = options.prime !== undefined && options.prime.length > 0 ? Array.from(options.prime) : [startToken(vocabulary)]
  for (let n = 0; n < length; n++) {
    const T = context.length
    const { logits, finals } = model.forward(T, 1, context, states)
    model.copyStates(finals, states)
    k.softmax(1, V, k.view(logits, (T - 1) * V, V), probsBuf, 1 / temperature)
    const probs = Float64Array.from(await k.read(probsBuf))
    const token = chooseToken(probs, { greedy: options.greedy ?? false, topK, topP, exclude: unk }, random)
    if (token === eos) return
    yield token
    context = [token]
  }
}

/** How `chooseToken` picks: see its documentation. */
export interface ChooseOptions {
  /** Take the most probable token (the lowest id among equals); no draw. */
  greedy: boolean
  /** Keep only the k most probable tokens (0: all). */
  topK: number
  /** Keep the first tokens of the order whose probability reaches p (1: all). */
  topP: number
  /** A token id whose probability is set to 0 first (-1: none). */
  exclude: number
}

/**
 * Picks a token from probabilities (modified in place: `exclude` is set to 0), honouring greedy /
 * top-k / top-p / exclude.
 *
 * The token is defined by a sort of the vocabulary (`chooseTokenBySorting`, the spec): tokens in
 * order of probability, descending, equal ones by id, ascending; keep the first k, then the first
 * ones whose share of the total reaches p; r = uniform * (mass kept); walk the kept tokens in order
 * subtracting each probability from r, and take the one that makes r negative.
 *
 * It finds that very token without sorting the vocabulary (V = 1,000,000 took 0.4 s per token):
 * - greedy: one pass, O(V);
 * - plain sampling: a selection (`TokenOrder.selectByMass`: partition around a pivot, go on into
 *   the side that holds r), O(V) expected. The sort's sums run in its order and round differently
 *   from the selection's, by at most about V·2⁻⁵³ of the mass; a token whose edges lie within a
 *   bound of that (`tieMargin`) of r is settled by the sort instead, which is rare (a fraction near
 *   16·V²·2⁻⁵³ of draws for V equal probabilities: 2·10⁻³ at V = 10⁶, 2·10⁻⁷ at V = 10⁴);
 * - top-k: a selection of the k best, then a sort of those, O(V + k log k);
 * - top-p: the order only up to the cut, O(V + c log c) for a cut after c tokens.
 * Probabilities that are negative, NaN or infinite, or whose sum is infinite, go to the sort as they are.
 */
export function chooseToken(probs: Float64Array, o: ChooseOptions, random: Random): number {
  if (o.exclude >= 0 && o.exclude < probs.length) probs[o.exclude] = 0
  const total = massInIdOrder(probs)
  if (probs.length === 0 || !Number.isFinite(total)) return chooseTokenBySorting(probs, o, random)
  if (o.greedy || total === 0) return firstMostProbable(probs) // all zero: the sort's first is token 0
  const V = probs.length
  const order = new TokenOrder(probs)
  let keep = o.topK > 0 ? Math.min(o.topK, V) : V
  if (o.topP < 1) keep = topPCut(order, keep, o.topP, total)
  if (keep < V || order.sorted === V) {
    order.sortFirst(keep)
    return drawInOrder(probs, order.indices, keep, () => random.uniform())
  }
  return drawFromAll(order, total, random.uniform())
}

/**
 * The spec of `chooseToken`, and its fallback: sorts the whole vocabulary. Kept as it was before
 * the selection replaced it, so the two return the same token from the same draws.
 */
function chooseTokenBySorting(probs: Float64Array, o: ChooseOptions, random: Random): number {
  if (o.exclude >= 0 && o.exclude < probs.length) probs[o.exclude] = 0
  const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a] || a - b)
  if (o.greedy) return order[0]
  let keep = o.topK > 0 ? Math.min(o.topK, order.length) : order.length
  if (o.topP < 1) {
    let total = 0
    for (const p of probs) total += p
    let mass = 0
    for (let i = 0; i < keep; i++) {
      mass += probs[order[i]] / total
      if (mass >= o.topP) {
        keep = i + 1
        break
      }
    }
  }
  return drawInOrder(probs, order, keep, () => random.uniform())
}

/**
 * The sort's draw over the first `keep` tokens of `order` (already in order): r = uniform() * (their
 * mass), then subtract each probability in turn until r < 0. `uniform` is called once, and not at
 * all when the mass is 0.
 */
function drawInOrder(probs: Float64Array, order: ArrayLike<number>, keep: number, uniform: () => number): number {
  let total = 0
  for (let i = 0; i < keep; i++) total += probs[order[i]]
  if (!(total > 0)) return order[0] // everything left was excluded or zero: the best remaining
  let r = uniform() * total
  for (let i = 0; i < keep; i++) {
    r -= probs[order[i]]
    if (r < 0) return order[i]
  }
  return order[keep - 1]
}

/** Σ probs in id order (as the sort's top-p sums them); NaN when one is negative or NaN. */
function massInIdOrder(probs: Float64Array): number {
  let total = 0
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]
    if (!(p >= 0)) return NaN
    total += p
  }
  return total
}

/** The most probable token, the lowest id among equals: the first of the sort's order. */
function firstMostProbable(probs: Float64Array): number {
  let best = 0
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i
  return best
}

/**
 * How many tokens top-p keeps: the sort's running share (Σ p / total, in order) is summed over
 * the order, which is sorted only as far as needed: first up to a selection's estimate of the cut
 * (and a little more, for the rounding of the running sum), then twice as far each time.
 */
function topPCut(order: TokenOrder, keep: number, topP: number, total: number): number {
  const { probs, indices } = order
  const estimate = order.selectByMass(0, probs.length, topP * total)
  const count = estimate === null ? keep : estimate.position + 1
  let want = count + Math.max(16, count >> 4)
  let share = 0
  for (let i = 0; ; ) {
    order.sortFirst(Math.min(keep, want))
    for (; i < order.sorted && i < keep; i++) {
      share += probs[indices[i]] / total
      if (share >= topP) return i + 1
    }
    if (i >= keep) return keep
    want = 2 * order.sorted
  }
}

/**
 * The sort's draw over all V tokens, found by a selection: the token at which the running mass in
 * order passes r = u * total. Taken when r is clear of its edges by `tieMargin`; otherwise the sort
 * decides (its own rounding could put r on either side).
 */
function drawFromAll(order: TokenOrder, total: number, u: number): number {
  const { probs, indices } = order
  const V = probs.length
  const r = u * total
  const margin = tieMargin(V, total)
  const found = order.selectByMass(0, V, r)
  if (found !== null) {
    const token = indices[found.position]
    const before = found.massBefore
    const clearBelow = before === 0 || before <= r - margin // 0: every token before it has probability 0
    if (clearBelow && before + probs[token] > r + margin) return token
  }
  order.sortFirst(V)
  return drawInOrder(probs, indices, V, () => u)
}

/**
 * How far the sort's sums and ours may differ, as a bound on the mass. With ε = 2⁻⁵³ (the unit
 * roundoff) and n tokens of total mass S: any order of summing n terms >= 0 is within γn·S of the
 * exact sum (γn = nε / (1 - nε)); the sort's total, its r = fl(u·total) and its n subtractions from r
 * are each within about nε·S, as are our total, r and the mass before the token. Their sum is below
 * (4n + 4)·ε·S, and the margin is twice that (plus a few of the smallest doubles, for underflow in u·total).
 */
function tieMargin(n: number, total: number): number {
  const unitRoundoff = Number.EPSILON / 2
  return 8 * (n + 1) * unitRoundoff * total + 8 * Number.MIN_VALUE
}

/**
 * The sort's order of tokens (probability descending, id ascending), built only as far as asked:
 * `indices` is a permutation of the ids whose first `sorted` entries are the order's first, in order.
 * Selections partition around pivots drawn from a fixed generator of their own (the sampler's
 * draws are untouched, and the result never depends on the pivots).
 */
class TokenOrder {
  readonly probs: Float64Array
  readonly indices: Int32Array
  sorted = 0
  private pivotState = 0x9e3779b9

  constructor(probs: Float64Array) {
    this.probs = probs
    this.indices = new Int32Array(probs.length)
    for (let i = 0; i < probs.length; i++) this.indices[i] = i
  }

  /** Puts the order's first n tokens, in order, at the front of `indices`: O(V + n log n). */
  sortFirst(n: number): void {
    if (n <= this.sorted) return
    const probs = this.probs
    if (n < this.indices.length) this.selectFirst(this.sorted, this.indices.length, n)
    this.indices.subarray(this.sorted, n).sort((a, b) => probs[b] - probs[a] || a - b)
    this.sorted = n
  }

  /** Partitions indices[lo, hi) so that [lo, n) holds its best n - lo tokens (in no order). */
  selectFirst(lo: number, hi: number, n: number): void {
    while (lo < n && n < hi) {
      const { position } = this.partition(lo, hi)
      if (position === n || position + 1 === n) return
      if (n < position) hi = position
      else lo = position + 1
    }
  }

  /**
   * The token of indices[lo, hi) at which the mass in order, from lo, first exceeds `target`: its
   * position (indices[lo, position) then hold exactly the tokens before it) and that mass before
   * it. Null when the whole range's mass does not exceed `target`. O(hi - lo) expected.
   */
  selectByMass(lo: number, hi: number, target: number): { position: number; massBefore: number } | null {
    let above = 0
    while (lo < hi) {
      const { position, mass } = this.partition(lo, hi)
      const before = above + mass
      if (before > target) {
        hi = position
        continue
      }
      const through = before + this.probs[this.indices[position]]
      if (through > target) return { position, massBefore: before }
      above = through
      lo = position + 1
    }
    return null
  }

  /**
   * Partitions indices[lo, hi) around a pivot: the tokens before it in order, then the pivot at
   * `position`, then those after it. `mass`: Σ p of the tokens before it.
   */
  private partition(lo: number, hi: number): { position: number; mass: number } {
    const { probs, indices } = this
    const last = hi - 1
    const pick = lo + (this.nextPivot() % (hi - lo))
    const pivot = indices[pick]
    indices[pick] = indices[last]
    indices[last] = pivot
    const pivotP = probs[pivot]
    let store = lo
    let mass = 0
    for (let i = lo; i < last; i++) {
      const token = indices[i]
      const p = probs[token]
      if (p > pivotP || (p === pivotP && token < pivot)) {
        indices[i] = indices[store]
        indices[store] = token
        store++
        mass += p
      }
    }
    indices[last] = indices[store]
    indices[store] = pivot
    return { position: store, mass }
  }

  /** xorshift32: pivot positions, the same for every call. */
  private nextPivot(): number {
    let x = this.pivotState
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.pivotState = x >>> 0
    return this.pivotState
  }
}

export interface SentenceScore {
  /** log P(y<t> | y<1..t-1>) for each token, natural log. */
  tokenLogProbs: number[]
  /** Σ of the above: log P(y<1>, ..., y<T>). */
  logProb: number
  /** logProb / T. */
  meanLogProb: number
}

/** Logits held at once while scoring (about 16 MB of f32 per buffer): sets the window at a large vocabulary. */
const SCORE_LOGITS = 1 << 22

/**
 * Scores token ids: the log-probability of each given everything before it. The text is read in
 * windows (the state carried from one to the next), so memory does not grow with its length:
 * `window` tokens (default: 256, fewer at a large vocabulary, so a window's logits stay near
 * 4M values).
 */
export async function scoreTokens(model: LanguageModel, vocabulary: Vocabulary, ids: ArrayLike<number>, options: { window?: number } = {}): Promise<SentenceScore> {
  const T = ids.length
  if (T === 0) throw new RecurError('DATA', 'nothing to score: the text has no tokens')
  const window = options.window ?? Math.max(1, Math.min(256, Math.floor(SCORE_LOGITS / model.vocabularySize)))
  if (!Number.isInteger(window) || window < 1) throw new RecurError('RANGE', `scoreTokens: window must be an integer >= 1, got ${window}`)
  // inputs<t> = y<t-1>, the first conditioned on the start token.
  const inputs = new Int32Array(T)
  inputs[0] = startToken(vocabulary)
  for (let t = 1; t < T; t++) inputs[t] = ids[t - 1]!
  const targets = Int32Array.from(ids)
  const states = model.zeroStates(1)
  const tokenLogProbs: number[] = []
  for (let start = 0; start < T; start += window) {
    const n = Math.min(window, T - start)
    const { finals } = model.forward(n, 1, inputs.subarray(start, start + n), start === 0 ? null : states)
    model.lossAndBackward(targets.subarray(start, start + n), false)
    model.copyStates(finals, states)
    for (const loss of await model.kernels.read(model.loss.losses)) tokenLogProbs.push(-loss)
  }
  const logProb = tokenLogProbs.reduce((a, b) => a + b, 0)
  return { tokenLogProbs, logProb, meanLogProb: logProb / T }
}
