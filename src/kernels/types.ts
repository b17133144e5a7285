/**
 * The kernel interface: every numeric operation that model code needs, and nothing else.
 *
 * Dimension alphabet, used in every shape comment of the project:
 *   B batch, T time steps, X input width, H hidden width, G gates (1 RNN, 3 GRU, 4 LSTM),
 *   V vocabulary, D embedding width, N rows (usually T*B), Y output width of a dense layer.
 *
 * Conventions:
 * - Every matrix is dense and row-major; `ld` arguments are row strides in elements, so a kernel can
 *   read or write a column block of a wider matrix.
 * - Every kernel says whether it writes (`=`) or accumulates (`+=`) into each output. Parameter
 *   gradients accumulate; activation gradients are written.
 * - Buffers are opaque handles owned by the backend. Data goes in with `write` and comes back only
 *   through `read`, which is asynchronous, so a GPU backend can queue work and read back rarely.
 * - Kernels never validate shapes: the public layers do that at the boundary.
 *
 * Gate layouts (stated once here; docs/conventions.md maps them to PyTorch and ONNX):
 * - RNN:  z = [a]                       (G = 1)
 * - GRU:  z = [Γr, Γu, c~]              (G = 3; PyTorch's r, z, n with Γu = 1 - z)
 * - LSTM: z = [Γu, Γf, c~, Γo]          (G = 4; PyTorch's i, f, g, o)
 * - LSTM peepholes p = [p_u, p_f, p_o]  (3H; ONNX's P is [p_i, p_o, p_f])
 */

export type DType = 'f32' | 'i32'

/** An opaque handle to backend memory: `length` elements of `dtype`. Views share storage. */
export interface BufferHandle {
  readonly backend: string
  readonly dtype: DType
  readonly length: number
}

/** A float array as read back from a backend: Float32Array, or Float64Array for the f64 oracle. */
export type FloatArray = Float32Array | Float64Array

export type Activation = 'identity' | 'tanh' | 'sigmoid' | 'relu'

/** Pooling over the time steps of a sequence. */
export type Pooling = 'mean' | 'max'

/** GRU reset placement: 'before' is the course note's form, 'after' is PyTorch / cuDNN / Keras. */
export type GruReset = 'before' | 'after'

/** C = alpha * op(A) * op(B) + beta * C, with op(A) (M,K), op(B) (K,N), C (M,N). */
export interface GemmArgs {
  transA: boolean
  transB: boolean
  m: number
  n: number
  k: number
  alpha: number
  a: BufferHandle
  lda: number
  b: BufferHandle
  ldb: number
  beta: number
  c: BufferHandle
  ldc: number
}

export interface SgdArgs {
  lr: number
  momentum: number
  weightDecay: number
  nesterov: boolean
}

export interface AdamArgs {
  lr: number
  beta1: number
  beta2: number
  eps: number
  weightDecay: number
  /** true: AdamW (decay applied to the weights); false: L2 added to the gradient. */
  decoupled: boolean
  /** 1-based step number, for bias correction. */
  step: number
}

export interface Kernels {
  /** The backend's registered name. */
  readonly name: string
  /** Storage precision of float buffers. Only the reference oracle offers 'f64'. */
  readonly precision: 'f32' | 'f64'

  // ---- memory -----------------------------------------------------------------------------
  /** A new zero-filled buffer. */
  alloc(length: number, dtype?: DType): BufferHandle
  /** A window of `length` elements starting at `offset` that shares `buf`'s storage. */
  view(buf: BufferHandle, offset: number, length: number): BufferHandle
  /** buf = data (host to backend); data.length must equal buf.length. */
  write(buf: BufferHandle, data: ArrayLike<number>): void
  /** Reads a float buffer back to the host. The only way data leaves a backend. */
  read(buf: BufferHandle): Promise<FloatArray>
  /** Reads an integer buffer back to the host. */
  readInt(buf: BufferHandle): Promise<Int32Array>
  /** Releases a buffer (views need not be freed). */
  free(buf: BufferHandle): void

  // ---- dense linear algebra ----------------------------------------------------------------
  /** C = alpha * op(A) op(B) + beta * C. beta = 0 ignores C's old contents (even NaN). */
  gemm(args: GemmArgs): void
  /** x = value over n elements. */
  fill(n: number, x: BufferHandle, value: number): void
  /** dst = src for a (rows, cols) block; ldSrc / ldDst are the row strides. */
  copy(rows: number, cols: number, src: BufferHandle, ldSrc: number, dst: BufferHandle, ldDst: number): void
  /** y += alpha * x over n elements. */
  axpy(n: number, alpha: number, x: BufferHandle, y: BufferHandle): void
  /** x *= alpha over n elements. */
  scale(n: number, x: BufferHandle, alpha: number): void
  /** y *= x over n elements (dropout masks). */
  mul(n: number, x: BufferHandle, y: BufferHandle): void
  /** x (rows,cols) += bias (cols) on every row. */
  addBias(rows: number, cols: number, x: BufferHandle, bias: BufferHandle): void
  /** dBias (cols) += sum over rows of dy (rows,cols). */
  biasGrad(rows: number, cols: number, dy: BufferHandle, dBias: BufferHandle): void
  /** y = f(x) over n elements (x and y may be the same buffer). */
  activation(kind: Activation, n: number, x: BufferHandle, y: BufferHandle): void
  /** dx = dy * f'(x), written from y = f(x) (every supported f has f' expressible in y). */
  activationBackward(kind: Activation, n: number, y: BufferHandle, dy: BufferHandle, dx: BufferHandle): void

  // ---- recurrent cells: the fused pointwise step of one time step ------------------------------
  /** RNN forward. z (B,H) pre-activation -> a (B,H) = tanh(z). */
  rnnForward(B: number, H: number, z: BufferHandle, a: BufferHandle): void
  /** RNN backward. dz (B,H) = (daOut + daNext) * (1 - a²). */
  rnnBackward(B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dz: BufferHandle): void

  /**
   * LSTM forward. z (B,4H) pre-activations [u f c~ o]; cPrev (B,H); peep (3H) or null.
   * Writes gates (B,4H) = activated [Γu Γf c~ Γo], c (B,H), a (B,H).
   */
  lstmForward(
    B: number, H: number, z: BufferHandle, cPrev: BufferHandle, peep: BufferHandle | null,
    gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void
  /**
   * LSTM backward. From gates, cPrev, c and the incoming da = daOut + daNext and dcNext (B,H):
   * writes dz (B,4H) and dcPrev (B,H); dPeep (3H) += when peep is given.
   */
  lstmBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void

  /**
   * GRU, reset-before only, first half of the step: Γr = σ(xw_r + hw_r + bh_r) and
   * rc = Γr * cPrev (B,H), the input of the candidate's recurrent product. xw, hw are (B,3H); bh (3H).
   */
  gruResetForward(B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle, rc: BufferHandle): void
  /**
   * GRU forward. xw (B,3H) = x W_ih^T + b_ih; hw (B,3H) = c<t-1> W_hh^T (for 'before', its c~ block
   * is (Γr*c<t-1>) W_hc^T instead); bh (3H) = b_hh. Writes gates (B,3H) = [Γr Γu c~] and c (B,H).
   */
  gruForward(
    reset: GruReset, B: number, H: number, xw: BufferHandle, hw: BufferHandle, bh: BufferHandle,
    cPrev: BufferHandle, gates: BufferHandle, c: BufferHandle,
  ): void
  /**
   * GRU backward. dc = dcOut + dcNext. Writes dxw (B,3H), dhw (B,3H) (the gradients of xw and hw)
   * and dcPrev (B,H) = dc * (1 - Γu) (the direct path; the caller adds dhw W_hh).
   * For 'before', the Γr blocks of dxw / dhw are left for gruResetBackward.
   */
  gruBackward(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void
  /**
   * GRU reset-before, second half of the backward step: from drc (B,H), the gradient of Γr*c<t-1>,
   * writes the Γr blocks of dxw and dhw, and dcPrev += drc * Γr.
   */
  gruResetBackward(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, drc: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void

  // ---- recurrent cells, one time step: the recurrent GEMM and the pointwise step fused ------------------
  // The cells run every time step through these. Each is exactly the composition written in its comment
  // (the recurrent GEMM, then the pointwise kernel above), and that composition is how the reference and
  // native backends implement them (./composed-steps.ts); a GPU backend runs a step as one kernel (one
  // dispatch) instead. W_hh is (G*H, H) as stored; xw is read only.
  //
  // Backward: the gradient of a<t-1> is split. The part through W_hh, dz<t> W_hh, is left pending for
  // the next (earlier) step's call, which adds dzNext W_hh to its incoming gradient; daPrev carries the
  // rest. Where the caller needs da<t-1> whole (after the last step, before a padded step) it adds that
  // product itself (one GEMM, beta = 1). daPrev / dcPrev must not share memory with the other operands.

  /** Fused RNN forward step: a (B,H) = tanh(xw + aPrev W_hh^T); xw (B,H) = x W_ih^T + b is read only. */
  rnnStep(B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, a: BufferHandle): void
  /**
   * Fused RNN backward step: da = daOut + daNext + dzNext W_hh (dzNext (B,H), the dz of step t+1, or
   * null). Writes dz (B,H) = da * (1 - a²) and daPrev (B,H) = 0 (all of a<t-1>'s gradient is dz W_hh).
   */
  rnnBackwardStep(
    B: number, H: number, a: BufferHandle, daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null,
    wHh: BufferHandle, dz: BufferHandle, daPrev: BufferHandle,
  ): void

  /**
   * Fused LSTM forward step: z = xw + aPrev W_hh^T (B,4H), then lstmForward on z. xw (B,4H) is read
   * only and z is not stored (the backward reads gates, c<t-1> and c<t>). Writes gates (B,4H), c, a (B,H).
   */
  lstmStep(
    B: number, H: number, xw: BufferHandle, aPrev: BufferHandle, wHh: BufferHandle, cPrev: BufferHandle,
    peep: BufferHandle | null, gates: BufferHandle, c: BufferHandle, a: BufferHandle,
  ): void
  /**
   * Fused LSTM backward step: lstmBackward with da = daOut + daNext + dzNext W_hh (dzNext (B,4H), the
   * dz of step t+1, or null). Writes dz (B,4H), dcPrev (B,H) and daPrev (B,H) = 0; dPeep (3H) +=.
   */
  lstmBackwardStep(
    B: number, H: number, gates: BufferHandle, cPrev: BufferHandle, c: BufferHandle, peep: BufferHandle | null,
    daOut: BufferHandle, daNext: BufferHandle, dzNext: BufferHandle | null, wHh: BufferHandle, dcNext: BufferHandle,
    dz: BufferHandle, daPrev: BufferHandle, dcPrev: BufferHandle, dPeep: BufferHandle | null,
  ): void

  /**
   * Fused GRU forward step. 'after': hw (B,3H) = cPrev W_hh^T. 'before': hw's [r u] blocks =
   * cPrev W_ru^T, rc (B,H) = Γr * cPrev (gruResetForward), hw's c~ block = rc W_cc^T; rc is null for
   * 'after'. Then gruForward. Writes hw (the backward reads it), rc, gates (B,3H) and c (B,H).
   */
  gruStep(
    reset: GruReset, B: number, H: number, xw: BufferHandle, cPrev: BufferHandle, wHh: BufferHandle, bh: BufferHandle,
    hw: BufferHandle, rc: BufferHandle | null, gates: BufferHandle, c: BufferHandle,
  ): void
  /**
   * Fused GRU backward step: gruBackward with dc = dcOut + dcNext + dhwNext W_hh, where dhwNext (B,3H)
   * is the dhw of step t+1 (or null) and the product takes its three blocks ('after') or its [r u]
   * blocks only ('before': the c~ block reached c<t-1> through Γr * c<t-1> within step t+1).
   * 'before' then finishes as gruResetBackward with drc = dhw_c W_cc. Writes dxw, dhw (B,3H) and
   * dcPrev (B,H), the direct part dc * (1 - Γu) (+ drc * Γr for 'before').
   */
  gruBackwardStep(
    reset: GruReset, B: number, H: number, gates: BufferHandle, hw: BufferHandle, bh: BufferHandle, cPrev: BufferHandle,
    dcOut: BufferHandle, dcNext: BufferHandle, dhwNext: BufferHandle | null, wHh: BufferHandle,
    dxw: BufferHandle, dhw: BufferHandle, dcPrev: BufferHandle,
  ): void

  // ---- padding: hold the state through padded steps ---------------------------------------------
  /**
   * Forward of a padded step: rows b with mask[b] = 0 keep the previous state,
   * out (B,H) = mask * out + (1 - mask) * prev, for mask (B) of 0s and 1s.
   */
  holdForward(B: number, H: number, mask: BufferHandle, prev: BufferHandle, out: BufferHandle): void
  /**
   * Backward of holdForward for an incoming gradient d (B,H): the held rows' gradient goes to the
   * previous state, dHeld (B,H) += (1 - mask) * d, and d = mask * d (in place).
   */
  holdBackward(B: number, H: number, mask: BufferHandle, d: BufferHandle, dHeld: BufferHandle): void

  // ---- pooling over time -----------------------------------------------------------------------
  /**
   * out (B,H) = mean or max over the unmasked steps of xs (T,B,H); mask (T,B) of 0s and 1s or null.
   * For 'max', argmax (B,H) i32 = the step of each maximum (needed by the backward).
   */
  poolForward(kind: Pooling, T: number, B: number, H: number, xs: BufferHandle, mask: BufferHandle | null, out: BufferHandle, argmax: BufferHandle | null): void
  /** dxs (T,B,H) = the gradient of the pooling for dOut (B,H): spread evenly (mean) or to the argmax (max). */
  poolBackward(kind: Pooling, T: number, B: number, H: number, dOut: BufferHandle, mask: BufferHandle | null, argmax: BufferHandle | null, dxs: BufferHandle): void

  // ---- embedding ------------------------------------------------------------------------------
  /** out (N,D) = table (V,D) rows at ids (N, i32). */
  gather(N: number, D: number, table: BufferHandle, ids: BufferHandle, out: BufferHandle): void
  /** dTable (V,D) rows at ids += dOut (N,D). */
  scatterAdd(N: number, D: number, dOut: BufferHandle, ids: BufferHandle, dTable: BufferHandle): void

  // ---- losses and probabilities -------------------------------------------------------------------
  /**
   * Softmax cross-entropy over rows of logits (N,V) with targets (N, i32) and mask (N) or null.
   * Writes losses (N) = -mask * log softmax(logits)[target], and when dLogits is given,
   * dLogits (N,V) = gradScale * mask * (softmax(logits) - onehot(target)).
   */
  softmaxCrossEntropy(
    N: number, V: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void
  /**
   * Sigmoid binary cross-entropy on n logits with float targets y in [0,1] and mask or null.
   * Writes losses = -mask * (y log σ(z) + (1-y) log(1-σ(z))), and when dLogits is given,
   * dLogits = gradScale * mask * (σ(z) - y).
   */
  sigmoidCrossEntropy(
    n: number, logits: BufferHandle, targets: BufferHandle, mask: BufferHandle | null,
    losses: BufferHandle, dLogits: BufferHandle | null, gradScale: number,
  ): void
  /** probs (N,V) = softmax(logits * invTemperature) per row. */
  softmax(N: number, V: number, logits: BufferHandle, probs: BufferHandle, invTemperature: number): void

  // ---- reductions, clipping, optimizers ---------------------------------------------------------
  /** out[0] = sum of x over n elements. */
  sum(n: number, x: BufferHandle, out: BufferHandle): void
  /** out[0] = sum of x² over n elements. */
  sumSquares(n: number, x: BufferHandle, out: BufferHandle): void
  /** x *= min(1, maxNorm / sqrt(sumSq[0])): clipping by global norm without a read-back. */
  clipByNorm(n: number, x: BufferHandle, sumSq: BufferHandle, maxNorm: number): void
  /** x = clamp(x, -limit, limit). */
  clipByValue(n: number, x: BufferHandle, limit: number): void
  /** SGD with momentum over n parameters: velocity and p updated in place. */
  sgdStep(n: number, p: BufferHandle, g: BufferHandle, velocity: BufferHandle, args: SgdArgs): void
  /** Adam / AdamW over n parameters: m, v and p updated in place. */
  adamStep(n: number, p: BufferHandle, g: BufferHandle, m: BufferHandle, v: BufferHandle, args: AdamArgs): void
}
