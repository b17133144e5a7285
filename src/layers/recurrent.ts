/**
 * Recurrent layers over batches of sequences: one layer with one or two directions (the
 * bidirectional wrapper), and a stack of such layers with optional dropout between them.
 *
 *   bidirectional:  →a<t> from reading x<1..T>, ←a<t> from reading x<T..1>
 *                   y<t> = [→a<t>, ←a<t>]  (merge 'concat', (T,B,2H))  or  →a<t> + ←a<t>  ('sum')
 *   stacked:        xs -> layer 1 -> dropout -> layer 2 -> ... -> layer L -> ys
 *
 * States are per layer and direction, in PyTorch's order: index = layer * D + direction.
 */
import { RecurrentCell, type CellOptions, type State, type Workspace } from '../cells/recurrent.js'
import { createCell } from '../cells/index.js'
import { RecurError, expectInt, expectOneOf } from '../errors.js'
import type { BufferHandle, Kernels } from '../kernels/types.js'
import type { ParamBuilder } from '../params.js'
import type { Random } from '../random.js'

export type Merge = 'concat' | 'sum'

export interface RecurrentLayerOptions extends CellOptions {
  bidirectional?: boolean
  /** How the two directions combine. Default 'concat'. */
  merge?: Merge
}

interface LayerBuffers {
  ys: BufferHandle | null // merged outputs (T,B,outputSize), bidirectional only
  dysSplit: [BufferHandle, BufferHandle] | null // concat: each direction's output gradient (T,B,H)
  dxs: BufferHandle | null // sum of the directions' input gradients (T,B,X)
}

/** One recurrent layer: a cell, or two cells reading in opposite directions. */
export class RecurrentLayer {
  readonly cells: RecurrentCell[]
  readonly merge: Merge
  readonly inputSize: number
  readonly hiddenSize: number
  readonly outputSize: number
  private readonly buffers = new Map<string, LayerBuffers>()
  private last: { T: number; B: number; ws: Workspace[]; bufs: LayerBuffers } | null = null

  constructor(params: ParamBuilder, name: string, options: RecurrentLayerOptions) {
    const { bidirectional = false, merge = 'concat', ...cell } = options
    expectOneOf(`${name}: merge`, merge, ['concat', 'sum'])
    this.cells = [createCell(params, name, { ...cell, reverse: false })]
    if (bidirectional) this.cells.push(createCell(params, `${name}_reverse`, { ...cell, reverse: true }))
    this.merge = merge
    this.inputSize = cell.inputSize
    this.hiddenSize = cell.hiddenSize
    this.outputSize = bidirectional && merge === 'concat' ? 2 * cell.hiddenSize : cell.hiddenSize
  }

  get directions(): number {
    return this.cells.length
  }

  private layerBuffers(k: Kernels, T: number, B: number): LayerBuffers {
    const key = `${T}x${B}`
    let bufs = this.buffers.get(key)
    if (bufs === undefined) {
      const two = this.cells.length === 2
      const dense = this.cells[0].input === 'dense'
      const size = T * B * this.hiddenSize
      bufs = {
        ys: two ? k.alloc(T * B * this.outputSize) : null,
        dysSplit: two && this.merge === 'concat' ? [k.alloc(size), k.alloc(size)] : null,
        dxs: two && dense ? k.alloc(T * B * this.inputSize) : null,
      }
      this.buffers.set(key, bufs)
    }
    return bufs
  }

  /** xs (T,B,X) -> ys (T,B,outputSize); init: one state per direction, or null for zeros; mask (T,B) or null. */
  forward(k: Kernels, T: number, B: number, xs: BufferHandle, init: readonly State[] | null, mask: BufferHandle | null = null): { ys: BufferHandle; finals: State[] } {
    const H = this.hiddenSize
    if (init !== null && init.length !== this.cells.length) {
      throw new RecurError('SHAPE', `recurrent layer: expected ${this.cells.length} initial states (one per direction), got ${init.length}`)
    }
    const ws = this.cells.map((cell) => cell.workspace(k, T, B))
    const runs = this.cells.map((cell, d) => cell.forward(k, ws[d], xs, init === null ? null : init[d], mask))
    const bufs = this.layerBuffers(k, T, B)
    this.last = { T, B, ws, bufs }
    const finals = runs.map((r) => r.final)
    if (bufs.ys === null) return { ys: runs[0].ys, finals }
    if (this.merge === 'concat') {
      // y<t> = [→a<t>, ←a<t>]: each direction fills its column block of the (T*B, 2H) matrix.
      k.copy(T * B, H, runs[0].ys, H, bufs.ys, 2 * H)
      k.copy(T * B, H, runs[1].ys, H, k.view(bufs.ys, H, T * B * 2 * H - H), 2 * H)
    } else {
      k.copy(1, T * B * H, runs[0].ys, 0, bufs.ys, 0)
      k.axpy(T * B * H, 1, runs[1].ys, bufs.ys)
    }
    return { ys: bufs.ys, finals }
  }

  /** dys (T,B,outputSize) or null; dFinals per direction or null. Returns dxs and the init states' gradients. */
  backward(k: Kernels, dys: BufferHandle | null, dFinals: readonly State[] | null): { dxs: BufferHandle | null; dInits: State[] } {
    if (this.last === null) throw new RecurError('STATE', 'recurrent layer: backward called before forward')
    const { T, B, ws, bufs } = this.last
    const H = this.hiddenSize
    let perDirection: (BufferHandle | null)[] = this.cells.map(() => dys)
    if (dys !== null && bufs.dysSplit !== null) {
      // forward copied column blocks -> backward copies them back out.
      k.copy(T * B, H, dys, 2 * H, bufs.dysSplit[0], H)
      k.copy(T * B, H, k.view(dys, H, T * B * 2 * H - H), 2 * H, bufs.dysSplit[1], H)
      perDirection = bufs.dysSplit
    }
    const results = this.cells.map((cell, d) => cell.backward(k, ws[d], perDirection[d], dFinals === null ? null : dFinals[d]))
    const dInits = results.map((r) => r.dInit)
    if (bufs.dxs === null) return { dxs: results[0].dxs, dInits }
    // Both directions read the same xs: their input gradients add.
    const n = T * B * this.inputSize
    k.copy(1, n, results[0].dxs!, 0, bufs.dxs, 0)
    k.axpy(n, 1, results[1].dxs!, bufs.dxs)
    return { dxs: bufs.dxs, dInits }
  }
}

export interface StackedOptions extends RecurrentLayerOptions {
  /** Number of layers L. Default 1. */
  layers?: number
  /** Dropout probability between layers (not after the last). Default 0. */
  dropout?: number
}

/** L recurrent layers, each reading the one below, with dropout between them while training. */
export class StackedRecurrent {
  readonly layers: RecurrentLayer[]
  readonly dropout: number
  readonly outputSize: number
  /** Per (T,B): dropout masks and dropped outputs between layers. */
  private readonly dropBuffers = new Map<string, { mask: BufferHandle; out: BufferHandle; host: Float32Array }[]>()
  private lastDrops: { mask: BufferHandle; out: BufferHandle; host: Float32Array }[] | null = null

  constructor(params: ParamBuilder, name: string, options: StackedOptions) {
    const { layers = 1, dropout = 0, ...layer } = options
    expectInt(`${name}: layers`, layers, 1)
    if (!(dropout >= 0 && dropout < 1)) throw new RecurError('RANGE', `${name}: dropout must be in [0, 1), got ${dropout}`)
    this.dropout = dropout
    this.layers = []
    let inputSize = layer.inputSize
    for (let l = 0; l < layers; l++) {
      const input = l === 0 ? layer.input ?? 'dense' : 'dense'
      const built = new RecurrentLayer(params, `${name}.l${l}`, { ...layer, inputSize, input })
      this.layers.push(built)
      inputSize = built.outputSize
    }
    this.outputSize = inputSize
  }

  /** Number of states (layers * directions), in PyTorch's order. */
  get stateCount(): number {
    return this.layers.reduce((n, l) => n + l.directions, 0)
  }

  get hasCellState(): boolean {
    return this.layers[0].cells[0].hasCellState
  }

  /** Zero states for a batch of B, one per layer and direction. */
  zeroStates(k: Kernels, B: number): State[] {
    return this.layers.flatMap((l) => l.cells.map((c) => c.zeroState(k, B)))
  }

  private drops(k: Kernels, T: number, B: number) {
    const key = `${T}x${B}`
    let bufs = this.dropBuffers.get(key)
    if (bufs === undefined) {
      bufs = this.layers.slice(0, -1).map((l) => {
        const n = T * B * l.outputSize
        return { mask: k.alloc(n), out: k.alloc(n), host: new Float32Array(n) }
      })
      this.dropBuffers.set(key, bufs)
    }
    return bufs
  }

  /**
   * xs (T,B,X) (or ids (T,B) for a lookup input) -> ys (T,B,outputSize). `init` holds stateCount
   * states or is null. Dropout applies only when `random` is given (training). mask (T,B): 1 for
   * real tokens, 0 for padding (which holds the state), or null.
   */
  forward(
    k: Kernels, T: number, B: number, xs: BufferHandle, init: readonly State[] | null, random: Random | null = null, mask: BufferHandle | null = null,
  ): { ys: BufferHandle; finals: State[] } {
    if (init !== null && init.length !== this.stateCount) {
      throw new RecurError('SHAPE', `recurrent stack: expected ${this.stateCount} initial states (layers x directions), got ${init.length}`)
    }
    const drops = random !== null && this.dropout > 0 ? this.drops(k, T, B) : null
    const finals: State[] = []
    let x = xs
    let s = 0
    this.layers.forEach((layer, l) => {
      const mine = init === null ? null : init.slice(s, s + layer.directions)
      s += layer.directions
      const { ys, finals: f } = layer.forward(k, T, B, x, mine, mask)
      finals.push(...f)
      x = ys
      if (drops !== null && l < this.layers.length - 1) {
        // Inverted dropout: keep with probability 1-p, scaled by 1/(1-p), so inference needs no change.
        const d = drops[l], keep = 1 - this.dropout
        for (let i = 0; i < d.host.length; i++) d.host[i] = random!.uniform() < keep ? 1 / keep : 0
        k.write(d.mask, d.host)
        k.copy(1, d.host.length, ys, 0, d.out, 0)
        k.mul(d.host.length, d.mask, d.out)
        x = d.out
      }
    })
    this.lastDrops = drops
    return { ys: x, finals }
  }

  /** dys (T,B,outputSize) or null; dFinals (stateCount) or null. Returns dxs and the init states' gradients. */
  backward(k: Kernels, dys: BufferHandle | null, dFinals: readonly State[] | null): { dxs: BufferHandle | null; dInits: State[] } {
    const dInits: State[][] = []
    let dy = dys
    let s = this.stateCount
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l]
      s -= layer.directions
      const { dxs, dInits: di } = layer.backward(k, dy, dFinals === null ? null : dFinals.slice(s, s + layer.directions))
      dInits.unshift(di)
      dy = dxs
      if (l > 0 && this.lastDrops !== null && dy !== null) {
        // forward: out = ys * mask -> dys = dout * mask (in place: dy is this stack's own buffer)
        const d = this.lastDrops[l - 1]
        k.mul(d.host.length, d.mask, dy)
      }
    }
    return { dxs: dy, dInits: dInits.flat() }
  }
}
