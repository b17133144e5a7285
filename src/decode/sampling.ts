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

/** Picks a token from probabilities (modified in place), honouring greedy / top-k / top-p / exclude. */
export function chooseToken(probs: Float64Array, o: { greedy: boolean; topK: number; topP: number; exclude: number }, random: Random): number {
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
  let total = 0
  for (let i = 0; i < keep; i++) total += probs[order[i]]
  if (!(total > 0)) return order[0] // everything left was excluded or zero: the best remaining
  let r = random.uniform() * total
  for (let i = 0; i < keep; i++) {
    r -= probs[order[i]]
    if (r < 0) return order[i]
  }
  return order[keep - 1]
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
