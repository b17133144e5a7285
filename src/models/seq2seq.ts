/**
 * Many-to-many with Tx != Ty: an encoder-decoder (translation, date normalisation).
 *
 *   source ids (Tx,B) -> encoder (RNN / GRU / LSTM, optionally bidirectional and stacked)
 *                     -> final states -> bridge -> the decoder's initial states
 *   target ids        -> decoder (same cell, unidirectional) reading <BOS> y<1> ... y<Ty>
 *                     -> dense -> softmax predicting y<1> ... y<Ty> <EOS>   (teacher forcing)
 *
 * Bridge: when the encoder is unidirectional with the decoder's layers and width, its final states
 * are the decoder's initial states as they are. Otherwise decoder layer l starts from
 * a<0>_l = tanh(W_l [→a_l', ←a_l'] + b_l) (and, for an LSTM, c<0>_l = V_l [→c_l', ←c_l'] + d_l),
 * with l' = min(l, encoder layers - 1).
 *
 * Decoding: beam search with length normalisation (score = log P / length^α); width 1 is greedy.
 */
import type { State } from '../cells/recurrent.js'
import { RecurError, expectInt } from '../errors.js'
import type { BufferHandle, Kernels } from '../kernels/types.js'
import { Dense } from '../layers/dense.js'
import { TokenEncoder, type EncoderArchitecture } from '../layers/token-encoder.js'
import { ParamBuilder, type ParamStore } from '../params.js'
import { Random } from '../random.js'
import { BatchBuffers, OutputLoss, checkBatch, type PaddedBatch } from './heads.js'

export interface DecoderArchitecture {
  layers: number
  hidden: number
  /** Target vocabulary size (with <BOS> and <EOS>). */
  vocabularySize: number
  embedding: number
  dropout: number
}

export interface Seq2SeqArchitecture {
  encoder: EncoderArchitecture
  decoder: DecoderArchitecture
}

export interface DecodeOptions {
  /** Beam width; 1 is greedy search. Default 1. */
  beam?: number
  /** Length normalisation exponent α: hypotheses are ranked by log P / length^α. Default 0.6 (0 = none). */
  lengthPenalty?: number
  /** Most target tokens to produce (EOS not counted). Default 50. */
  maxLength?: number
  bos: number
  eos: number
  /** Token ids never produced, e.g. <PAD> (<BOS>, the start token, never is). Default none. */
  exclude?: readonly number[]
}

export interface Hypothesis {
  tokens: number[]
  /** log P(tokens, EOS | source). */
  logProb: number
  /** The normalised score used for ranking. */
  score: number
  finished: boolean
}

interface Bridge {
  fromLayer: number
  h: Dense
  c: Dense | null
}

export class Seq2Seq {
  readonly architecture: Seq2SeqArchitecture
  readonly kernels: Kernels
  readonly encoder: TokenEncoder
  readonly decoder: TokenEncoder
  readonly output: Dense
  readonly bridges: Bridge[] | null
  readonly params: ParamStore
  readonly loss: OutputLoss
  private readonly srcBuffers = new BatchBuffers()
  private readonly tgtBuffers = new BatchBuffers()
  private readonly bridgeBuffers = new Map<number, { inputs: BufferHandle[]; inputsC: BufferHandle[]; scratch: BufferHandle; init: State[]; dFinals: State[] }>()
  private last: { src: PaddedBatch; tgt: PaddedBatch; logits: BufferHandle; count: number } | null = null

  constructor(kernels: Kernels, architecture: Seq2SeqArchitecture, seed = 1) {
    const { encoder: e, decoder: d } = architecture
    expectInt('decoder: layers', d.layers, 1)
    expectInt('decoder: hidden', d.hidden, 1)
    expectInt('decoder: vocabularySize', d.vocabularySize, 2)
    this.architecture = { encoder: { ...e }, decoder: { ...d } }
    this.kernels = kernels
    const params = new ParamBuilder()
    this.encoder = new TokenEncoder(params, 'encoder', e)
    this.decoder = new TokenEncoder(params, 'decoder', {
      cell: e.cell, reset: e.reset, peephole: e.peephole, layers: d.layers, hidden: d.hidden, vocabularySize: d.vocabularySize,
      embedding: d.embedding, dropout: d.dropout, bidirectional: false, merge: 'concat',
    })
    const D = e.bidirectional ? 2 : 1
    const direct = D === 1 && e.layers === d.layers && e.hidden === d.hidden
    this.bridges = direct ? null : Array.from({ length: d.layers }, (_, l) => ({
      fromLayer: Math.min(l, e.layers - 1),
      h: new Dense(params, `bridge.l${l}.h`, D * e.hidden, d.hidden, 'tanh'),
      c: e.cell === 'lstm' ? new Dense(params, `bridge.l${l}.c`, D * e.hidden, d.hidden, 'identity') : null,
    }))
    this.output = new Dense(params, 'out', d.hidden, d.vocabularySize)
    this.params = params.build(kernels, new Random(seed))
    this.loss = new OutputLoss('softmax', d.vocabularySize)
  }

  private bridgeBuffer(B: number) {
    let b = this.bridgeBuffers.get(B)
    if (b === undefined) {
      const k = this.kernels, D = this.architecture.encoder.bidirectional ? 2 : 1, He = this.architecture.encoder.hidden
      // One input buffer per decoder layer: each bridge's Dense keeps its input for the backward.
      const L = this.architecture.decoder.layers
      b = {
        inputs: Array.from({ length: L }, () => k.alloc(B * D * He)), inputsC: Array.from({ length: L }, () => k.alloc(B * D * He)),
        scratch: k.alloc(B * He), init: this.decoder.stack.zeroStates(k, B), dFinals: this.encoder.stack.zeroStates(k, B),
      }
      this.bridgeBuffers.set(B, b)
    }
    return b
  }

  /** The decoder's initial states from the encoder's final states (batch B). */
  private bridge(finals: readonly State[], B: number): readonly State[] {
    if (this.bridges === null) return finals
    const k = this.kernels, e = this.architecture.encoder, D = e.bidirectional ? 2 : 1, He = e.hidden
    const buf = this.bridgeBuffer(B)
    this.bridges.forEach((bridge, l) => {
      // input (B, D*He) = [→a, ←a] of encoder layer l': each direction in its column block.
      const input = buf.inputs[l], inputC = buf.inputsC[l]
      for (let d = 0; d < D; d++) {
        const s = finals[bridge.fromLayer * D + d]
        k.copy(B, He, s.h, He, k.view(input, d * He, B * D * He - d * He), D * He)
        if (bridge.c !== null) k.copy(B, He, s.c!, He, k.view(inputC, d * He, B * D * He - d * He), D * He)
      }
      const h = bridge.h.forward(k, B, input)
      k.copy(1, B * this.architecture.decoder.hidden, h, 0, buf.init[l].h, 0)
      if (bridge.c !== null) {
        const c = bridge.c.forward(k, B, inputC)
        k.copy(1, B * this.architecture.decoder.hidden, c, 0, buf.init[l].c!, 0)
      }
    })
    return buf.init
  }

  /** Backward of the bridge: the decoder's initial-state gradients -> the encoder's final-state gradients. */
  private bridgeBackward(dInits: readonly State[], B: number): readonly State[] {
    if (this.bridges === null) return dInits
    const k = this.kernels, e = this.architecture.encoder, D = e.bidirectional ? 2 : 1, He = e.hidden
    const buf = this.bridgeBuffer(B)
    for (const s of buf.dFinals) {
      k.fill(s.h.length, s.h, 0)
      if (s.c !== null) k.fill(s.c.length, s.c, 0)
    }
    this.bridges.forEach((bridge, l) => {
      const dIn = bridge.h.backward(k, dInits[l].h)
      const dInC = bridge.c === null ? null : bridge.c.backward(k, dInits[l].c!)
      for (let d = 0; d < D; d++) {
        const s = buf.dFinals[bridge.fromLayer * D + d]
        // forward copied column blocks in -> backward adds them back out (several decoder layers may share one).
        k.copy(B, He, k.view(dIn, d * He, B * D * He - d * He), D * He, buf.scratch, He)
        k.axpy(B * He, 1, buf.scratch, s.h)
        if (dInC !== null) {
          k.copy(B, He, k.view(dInC, d * He, B * D * He - d * He), D * He, buf.scratch, He)
          k.axpy(B * He, 1, buf.scratch, s.c!)
        }
      }
    })
    return buf.dFinals
  }

  /**
   * Teacher-forced forward: src (Tx,B) and tgt (Ty+1,B) batches where tgt.ids are the decoder's
   * inputs <BOS> y<1> ... y<Ty> (padded) and tgt.mask marks the real steps. Returns logits ((Ty+1)*B, V).
   */
  forward(src: PaddedBatch, tgt: PaddedBatch, random: Random | null = null): BufferHandle {
    const a = this.architecture
    checkBatch('encoder input', src, a.encoder.vocabularySize)
    checkBatch('decoder input', tgt, a.decoder.vocabularySize)
    if (src.B !== tgt.B) throw new RecurError('SHAPE', `source and target batches differ in size: ${src.B} vs ${tgt.B}`)
    const k = this.kernels, B = src.B
    const sb = this.srcBuffers.get(k, src.T, B), tb = this.tgtBuffers.get(k, tgt.T, B)
    k.write(sb.ids, src.ids)
    k.write(sb.mask, src.mask)
    k.write(tb.ids, tgt.ids)
    k.write(tb.mask, tgt.mask)
    const { finals } = this.encoder.forward(k, src.T, B, sb.ids, sb.mask, null, random)
    const init = this.bridge(finals, B)
    const { ys } = this.decoder.forward(k, tgt.T, B, tb.ids, tb.mask, init, random)
    const logits = this.output.forward(k, tgt.T * B, ys)
    let count = 0
    for (const m of tgt.mask) count += m
    this.last = { src, tgt, logits, count }
    return logits
  }

  /** Mean cross-entropy against targets ((Ty+1)*B: y<1> ... y<Ty> <EOS>, padded) and, when asked, backward. */
  lossAndBackward(targets: ArrayLike<number>, gradient = true): void {
    if (this.last === null) throw new RecurError('STATE', 'seq2seq: loss requested before forward')
    const k = this.kernels, { tgt, src } = this.last, V = this.architecture.decoder.vocabularySize
    if (targets.length !== tgt.T * tgt.B) throw new RecurError('SHAPE', `seq2seq targets: expected ${tgt.T * tgt.B} ids, got ${targets.length}`)
    for (let i = 0; i < targets.length; i++) {
      if (!Number.isInteger(targets[i]) || targets[i] < 0 || targets[i] >= V) throw new RecurError('RANGE', `seq2seq target id ${targets[i]} at ${i} is outside [0, ${V})`)
    }
    const tb = this.tgtBuffers.get(k, tgt.T, tgt.B)
    k.write(tb.targets, targets)
    const dLogits = this.loss.compute(k, tgt.T * tgt.B, this.last.logits, tb.targets, tb.mask, this.last.count, gradient)
    if (!gradient) return
    const dys = this.output.backward(k, dLogits)
    const dInits = this.decoder.backward(k, dys, null)
    this.encoder.backward(k, null, this.bridgeBackward(dInits, src.B))
  }

  /** Decodes one source sequence by beam search (width 1: greedy). Returns hypotheses, best first. */
  async decode(source: ArrayLike<number>, options: DecodeOptions): Promise<Hypothesis[]> {
    const W = options.beam ?? 1
    const alpha = options.lengthPenalty ?? 0.6
    const maxLength = options.maxLength ?? 50
    const excluded = new Set(options.exclude ?? [])
    expectInt('beam', W, 1, 1000)
    expectInt('maxLength', maxLength, 1)
    const k = this.kernels, a = this.architecture, V = a.decoder.vocabularySize
    const src: PaddedBatch = { T: source.length, B: 1, ids: Int32Array.from(source), mask: new Float32Array(source.length).fill(1) }
    if (source.length === 0) throw new RecurError('DATA', 'cannot translate an empty input')
    checkBatch('encoder input', src, a.encoder.vocabularySize)
    const sb = this.srcBuffers.get(k, src.T, 1)
    k.write(sb.ids, src.ids)
    k.write(sb.mask, src.mask)
    const { finals } = this.encoder.forward(k, src.T, 1, sb.ids, null, null, null)
    const init = this.bridge(finals, 1)
    // Beam states: W rows per state; parents gathered row by row into the other set each step.
    const sets = [this.decoder.stack.zeroStates(k, W), this.decoder.stack.zeroStates(k, W)]
    const H = a.decoder.hidden
    init.forEach((s, i) => {
      k.copy(1, H, s.h, 0, sets[0][i].h, 0)
      if (s.c !== null) k.copy(1, H, s.c, 0, sets[0][i].c!, 0)
    })
    const ids = k.alloc(W, 'i32'), parents = k.alloc(W, 'i32'), probs = k.alloc(W * V)
    let alive: Hypothesis[] = [{ tokens: [], logProb: 0, score: 0, finished: false }]
    const finished: Hypothesis[] = []
    const normalise = (logProb: number, length: number) => (alpha === 0 ? logProb : logProb / Math.pow(length, alpha))
    for (let step = 0; step <= maxLength && alive.length > 0; step++) {
      const n = alive.length
      const inputs = alive.map((h) => (h.tokens.length === 0 ? options.bos : h.tokens[h.tokens.length - 1]))
      const idView = k.view(ids, 0, n)
      k.write(idView, inputs)
      const current = sets[0].map((s) => ({ h: k.view(s.h, 0, n * H), c: s.c === null ? null : k.view(s.c, 0, n * H) }))
      const { ys, finals: next } = this.decoder.forward(k, 1, n, idView, null, current, null)
      const logits = this.output.forward(k, n, ys)
      k.softmax(n, V, logits, k.view(probs, 0, n * V), 1)
      const p = await k.read(k.view(probs, 0, n * V))
      // Every extension of every hypothesis but by <BOS> and the excluded tokens; at the last step only <EOS> may follow.
      const candidates: { from: number; token: number; logProb: number }[] = []
      for (let i = 0; i < n; i++) {
        for (let v = 0; v < V; v++) {
          if ((step === maxLength && v !== options.eos) || v === options.bos || excluded.has(v)) continue
          if (p[i * V + v] > 0) candidates.push({ from: i, token: v, logProb: alive[i].logProb + Math.log(p[i * V + v]) })
        }
      }
      candidates.sort((x, y) => y.logProb - x.logProb)
      const nextAlive: Hypothesis[] = []
      const from: number[] = []
      for (const c of candidates) {
        if (nextAlive.length >= W || finished.length >= W) break
        const tokens = c.token === options.eos ? alive[c.from].tokens : [...alive[c.from].tokens, c.token]
        if (c.token === options.eos) {
          finished.push({ tokens, logProb: c.logProb, score: normalise(c.logProb, tokens.length + 1), finished: true })
        } else {
          nextAlive.push({ tokens, logProb: c.logProb, score: normalise(c.logProb, tokens.length), finished: false })
          from.push(c.from)
        }
      }
      if (finished.length >= W || nextAlive.length === 0) {
        alive = nextAlive
        break
      }
      // Reorder states: row j of the next set is row from[j] of this step's final states.
      k.write(k.view(parents, 0, from.length), from)
      next.forEach((s, i) => {
        k.gather(from.length, H, s.h, k.view(parents, 0, from.length), sets[1][i].h)
        if (s.c !== null) k.gather(from.length, H, s.c, k.view(parents, 0, from.length), sets[1][i].c!)
      })
      sets.reverse()
      alive = nextAlive
    }
    const all = finished.length > 0 ? finished : alive
    return all.sort((x, y) => y.score - x.score)
  }
}
