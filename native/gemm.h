// GEMM: C = alpha * op(A) op(B) + beta * C, single precision, row-major with leading dimensions.
// Included by kernels.h inside one instruction set's namespace; V is that set's vector type.
//
// Shape of the algorithm (BLIS / Goto):
//
//   for jc in N step NC                     (threads split M or N before this loop)
//     for pc in K step KC                   pack B(pc:pc+KC, jc:jc+NC) into NR-wide panels (if packing B)
//       for ic in M step MC                 pack A(ic:ic+MC, pc:pc+KC) into MR-high panels (if packing A)
//         for jr in NC step NR
//           for ir in MC step MR            micro-kernel: an MR x NR block of C in registers,
//                                           one rank-1 update per p: NR/W vector loads of B,
//                                           MR broadcasts of A, MR*NR/W FMAs
//
// The problem is first oriented so that the micro-kernel's vector operand is contiguous: for
// op(A) (M,K) small and op(B) = B^T (the per-step recurrent product a<t-1> W_hh^T), it computes
// C^T = B op(A)^T instead, which streams the weight matrix once, unpacked, as the broadcast
// operand, and packs only the small op(A). Small problems skip packing (the micro-kernel reads A
// and B in place through their strides, fetching B's rows ahead: rows a power of two apart share a
// few L1 sets), so a per-step GEMM costs its arithmetic and one pass over the weights. The
// transposed result goes to a contiguous scratch block first and is added into C by a blocked
// transpose through registers (scattered tile stores into rows a power of two apart thrash L1).
//
// Packing: a source whose rows run along K (op(A) = A, op(B) = B^T) is transposed into its panels
// W x W values at a time through registers (the primitives' `transpose`); one whose rows run
// along the panel is copied straight, row by row, each source line read once. Edge panels are
// zero-padded; the micro-kernel for the rows a panel actually holds runs on it (a partial panel of
// A skips its zero rows), and a partial block of C is stored through a small tile. A thin result
// (N <= 4 after orientation: batch-1 sampling) uses dot products along K instead.
//
// Threads: the larger of M and N is split in whole micro-tiles. In a product of 128M multiply-adds
// or more whose operand read whole by every part (B when M is split, A when N is) is packed, that
// operand is packed once, all of it (up to 16 MB), by the threads together, and the split
// dimension is dealt in 4 parts per thread, halving in size, which the pool runs on their owners
// (part t on thread t % threads) unless an owner is late: then another thread takes its last ones.
// Otherwise (the per-step products among them) one share per thread, each packing its own blocks;
// thread t normally runs share t, so across time steps each core keeps its rows of W_hh in its own
// cache. Below 64k multiply-adds one thread. The split never changes an element's arithmetic:
// 1 and 2 threads give the same bits.

template <class Vec> struct GemmShape;
template <> struct GemmShape<Scalar> {
  static constexpr int MR = 4, NR = 4;
  static constexpr long KC = 256, MC = 128, NC = 1024;
  static constexpr bool PREFETCH = false;
};
#if defined(RECUR_HAVE_AVX2)
template <> struct GemmShape<Avx2> {
  static constexpr int MR = 6, NR = 16;
  static constexpr long KC = 256, MC = 144, NC = 2048;
  static constexpr bool PREFETCH = false;  // 15 of 16 registers in the loop: prefetching cost more than it saved
};
#endif
#if defined(RECUR_HAVE_AVX512)
template <> struct GemmShape<Avx512> {
  static constexpr int MR = 12, NR = 32;  // 24 accumulators: 2 loads + 12 broadcasts per 24 FMAs
  static constexpr long KC = 512, MC = 144, NC = 2048;
  static constexpr bool PREFETCH = true;  // C's tile, and B's rows when B is read in place
};
#endif

/** A GEMM after orientation: c(i,j) = alpha Σ_p a(i,p) b(p,j) + beta c(i,j), every operand through its strides. */
struct Problem {
  long M, N, K;
  float alpha, beta;
  const float* A;
  long rsA, csA;  // a(i,p) = A[i*rsA + p*csA]
  const float* B;
  long rsB, csB;  // b(p,j) = B[p*rsB + j*csB]
  float* C;
  long rsC, csC;  // c(i,j) = C[i*rsC + j*csC]
};

/** c = beta * c over an (M,N) block; beta = 0 writes zeros whatever c held (NaN included). */
static void scale_c(long M, long N, float beta, float* C, long rsC, long csC) {
  for (long i = 0; i < M; ++i) {
    float* row = C + i * rsC;
    if (beta == 0.0f) {
      for (long j = 0; j < N; ++j) row[j * csC] = 0.0f;
    } else if (beta != 1.0f) {
      for (long j = 0; j < N; ++j) row[j * csC] *= beta;
    }
  }
}

/**
 * The micro-kernel: an M x NR block of C (M <= MR rows; NR = NV vectors) from kc rank-1 updates.
 * A is read as a(i,p) = ARow ? a[i*as + p] : a[p*as + i] (a packed panel is the second form with
 * as = MR); B as b(p, j) = b[p*bs + j], NR contiguous floats per p. The result goes to the first
 * mr rows and nr columns of C (strides rsC, csC): c = alpha*acc + beta*c, with beta = 0 not reading c.
 */
template <class Vec, int M, bool ARow>
static void micro_kernel(long kc, const float* a, long as, const float* b, long bs, float alpha, float beta,
                         float* c, long rsC, long csC, int mr, int nr) {
  using R = typename Vec::R;
  constexpr int W = Vec::W, NR = GemmShape<Vec>::NR, NV = NR / W;
  R acc[M][NV];
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = Vec::zero();
  // C's tile is read (or written) only after the kc updates: fetch its lines meanwhile.
  if (GemmShape<Vec>::PREFETCH && csC == 1) {
    for (int i = 0; i < M; ++i) {
      __builtin_prefetch(c + i * rsC, 1, 3);
      __builtin_prefetch(c + i * rsC + NR - 1, 1, 3);
    }
  }
  auto rank1 = [&](long p) {
    R bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + p * bs + v * W);
    for (int i = 0; i < M; ++i) {
      R ai = Vec::set1(ARow ? a[i * as + p] : a[p * as + i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec::fmadd(ai, bv[v], acc[i][v]);
    }
  };
  if (!GemmShape<Vec>::PREFETCH || bs == NR) {  // a packed panel: one contiguous stream the hardware prefetches
#pragma GCC unroll 2
    for (long p = 0; p < kc; ++p) rank1(p);
  } else {
    // B in place: rows bs apart (often a power of two: they share a few L1 sets), fetched about
    // 200 FMAs ahead.
    constexpr long AHEAD = 192 / (M * NV) > 8 ? 192 / (M * NV) : 8;
#pragma GCC unroll 2
    for (long p = 0; p < kc; ++p) {
      for (int l = 0; l < NR; l += 16) __builtin_prefetch(b + (p + AHEAD) * bs + l, 0, 3);  // each 64-byte line
      rank1(p);
    }
  }
  const R va = Vec::set1(alpha);
  if (csC == 1 && nr == NR) {
    // Main part: whole vectors straight into C.
    const R vb = Vec::set1(beta);
    for (int i = 0; i < M; ++i) {
      if (i >= mr) break;
      float* ci = c + i * rsC;
      for (int v = 0; v < NV; ++v) {
        R r = Vec::mul(va, acc[i][v]);
        if (beta != 0.0f) r = Vec::fmadd(vb, Vec::load(ci + v * W), r);
        Vec::store(ci + v * W, r);
      }
    }
    return;
  }
  // Leftovers (a partial block, or a transposed C): whole vectors where C's row has them, then
  // the rest through a tile, one element at a time.
  const int whole = csC == 1 ? nr / W : 0;
  alignas(64) float tile[M * NR];
  for (int i = 0; i < M; ++i) {
    for (int v = 0; v < NV; ++v) {
      R r = Vec::mul(va, acc[i][v]);
      if (v < whole && i < mr) {
        float* ci = c + i * rsC + v * W;
        if (beta != 0.0f) r = Vec::fmadd(Vec::set1(beta), Vec::load(ci), r);
        Vec::store(ci, r);
      } else {
        Vec::store(tile + i * NR + v * W, r);
      }
    }
  }
  for (int i = 0; i < mr; ++i) {
    for (int j = whole * W; j < nr; ++j) {
      float& cij = c[i * rsC + j * csC];
      cij = beta == 0.0f ? tile[i * NR + j] : tile[i * NR + j] + beta * cij;
    }
  }
}

using MicroKernelFn = void (*)(long, const float*, long, const float*, long, float, float, float*, long, long, int, int);

/** The micro-kernel for a block of `rows` (1..MR) rows. */
template <class Vec, bool ARow>
static MicroKernelFn micro_kernel_for(int rows) {
  constexpr int MR = GemmShape<Vec>::MR;
  static_assert(MR <= 12, "extend the switch below");
  switch (rows) {
    case 1: return &micro_kernel<Vec, 1, ARow>;
    case 2: return &micro_kernel<Vec, (2 <= MR ? 2 : MR), ARow>;
    case 3: return &micro_kernel<Vec, (3 <= MR ? 3 : MR), ARow>;
    case 4: return &micro_kernel<Vec, (4 <= MR ? 4 : MR), ARow>;
    case 5: return &micro_kernel<Vec, (5 <= MR ? 5 : MR), ARow>;
    case 6: return &micro_kernel<Vec, (6 <= MR ? 6 : MR), ARow>;
    case 7: return &micro_kernel<Vec, (7 <= MR ? 7 : MR), ARow>;
    case 8: return &micro_kernel<Vec, (8 <= MR ? 8 : MR), ARow>;
    case 9: return &micro_kernel<Vec, (9 <= MR ? 9 : MR), ARow>;
    case 10: return &micro_kernel<Vec, (10 <= MR ? 10 : MR), ARow>;
    case 11: return &micro_kernel<Vec, (11 <= MR ? 11 : MR), ARow>;
    default: return &micro_kernel<Vec, MR, ARow>;
  }
}

/**
 * A transposing block copy: dst[p*R + r] = src[r*ld + p] for r < rows, 0 for rows <= r < R, p < kc.
 * The source rows are contiguous along p, the destination wants them interleaved: W x W blocks go
 * through registers (W rows loaded as vectors, transposed, stored as W vectors of R-wide rows), so
 * every load and store is a whole vector; the last p % W columns are copied one by one.
 */
template <class Vec, int R>
static void pack_transposed(long kc, const float* src, long ld, int rows, float* dst) {
  using V = typename Vec::R;
  constexpr int W = Vec::W;
  for (int r0 = 0; r0 < R; r0 += W) {
    const int width = R - r0 < W ? R - r0 : W;  // lanes of dst this block of rows fills
    long p = 0;
    for (; p + W <= kc; p += W) {  // main part
      V t[W];
      for (int q = 0; q < W; ++q) t[q] = r0 + q < rows ? Vec::load(src + (r0 + q) * ld + p) : Vec::zero();
      Vec::transpose(t);
      for (int q = 0; q < W; ++q) {
        if (width == W) Vec::store(dst + (p + q) * R + r0, t[q]);
        else Vec::store_n(dst + (p + q) * R + r0, t[q], width);
      }
    }
    for (; p < kc; ++p) {  // leftovers
      for (int q = 0; q < width; ++q) dst[p * R + r0 + q] = r0 + q < rows ? src[(r0 + q) * ld + p] : 0.0f;
    }
  }
}

/**
 * A straight block copy: dst[p*R + j] = src[p*ld + j] for j < cols, 0 for cols <= j < R, p < kc
 * (the source's rows already run along the panel's width).
 */
template <class Vec, int R>
static void pack_straight(long kc, const float* src, long ld, int cols, float* dst) {
  constexpr int W = Vec::W;
  if (cols == R && R % W == 0) {  // main part: whole vectors
    for (long p = 0; p < kc; ++p)
      for (int v = 0; v < R; v += W) Vec::store(dst + p * R + v, Vec::load(src + p * ld + v));
    return;
  }
  for (long p = 0; p < kc; ++p) {  // a partial panel, element by element
    for (int j = 0; j < R; ++j) dst[p * R + j] = j < cols ? src[p * ld + j] : 0.0f;
  }
}

/** dst[p*R + r] = s(r, p) = src[r*rs + p*cs] for r < rows, zero-padded to R: the general case, element by element. */
template <int R>
static void pack_strided(long kc, const float* src, long rs, long cs, int rows, float* dst) {
  for (long p = 0; p < kc; ++p) {
    for (int r = 0; r < R; ++r) dst[p * R + r] = r < rows ? src[r * rs + p * cs] : 0.0f;
  }
}

/**
 * op(A) = A^T packed: a(i,p) = A[p*csA + i], each source row runs along i. Row by row (p), its mc
 * values are dealt to the panels MR at a time, so every source line is read once, in order.
 */
template <class Vec>
static void pack_a_across(long mc, long kc, const float* A, long csA, float* dst) {
  constexpr int MR = GemmShape<Vec>::MR;
  const long panels = (mc + MR - 1) / MR;
  constexpr long AHEAD = 4;  // rows fetched ahead: the source rows are apart, each read only once
  for (long p = 0; p < kc; ++p) {
    const float* src = A + p * csA;
    if (p + AHEAD < kc) {
      for (long i = 0; i < mc; i += 16) __builtin_prefetch(src + AHEAD * csA + i, 0, 0);
    }
    for (long q = 0; q < panels; ++q) {
      float* d = dst + q * MR * kc + p * MR;
      const long i0 = q * MR;
      if (i0 + MR <= mc) {
        for (int i = 0; i < MR; ++i) d[i] = src[i0 + i];  // main part (a constant count: vector moves)
      } else {
        for (int i = 0; i < MR; ++i) d[i] = i0 + i < mc ? src[i0 + i] : 0.0f;  // the last, partial panel
      }
    }
  }
}

/** Packs a(i,p) for i < mc, p < kc into MR-high panels: panel q holds rows q*MR.., as dst[p*MR + i], zero-padded. */
template <class Vec>
static void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* dst) {
  constexpr int MR = GemmShape<Vec>::MR;
  if (rsA == 1) {  // op(A) = A^T
    pack_a_across<Vec>(mc, kc, A, csA, dst);
    return;
  }
  for (long i0 = 0; i0 < mc; i0 += MR) {
    const int mr = static_cast<int>(mc - i0 < MR ? mc - i0 : MR);
    const float* a = A + i0 * rsA;
    if (csA == 1) pack_transposed<Vec, MR>(kc, a, rsA, mr, dst);  // op(A) = A: its rows along p
    else pack_strided<MR>(kc, a, rsA, csA, mr, dst);
    dst += MR * kc;
  }
}

/** Packs b(p,j) for p < kc, j < nc into NR-wide panels: panel q holds columns q*NR.., as dst[p*NR + j], zero-padded. */
template <class Vec>
static void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* dst) {
  constexpr int NR = GemmShape<Vec>::NR;
  for (long j0 = 0; j0 < nc; j0 += NR) {
    const int nr = static_cast<int>(nc - j0 < NR ? nc - j0 : NR);
    const float* b = B + j0 * csB;
    if (csB == 1) pack_straight<Vec, NR>(kc, b, rsB, nr, dst);  // op(B) = B
    else if (rsB == 1) pack_transposed<Vec, NR>(kc, b, csB, nr, dst);  // op(B) = B^T: its rows along p
    else pack_strided<NR>(kc, b, csB, rsB, nr, dst);
    dst += NR * kc;
  }
}

/**
 * Whether B is packed: packing pays when a panel is reused by several MC blocks of M (B's rows
 * are then read once, in order, rather than once per block with a power-of-two stride).
 */
template <class Vec>
static bool packs_b(const Problem& g) {
  return g.csB != 1 || g.M > GemmShape<Vec>::MC;
}

/**
 * Whether A is packed: its panels are reused by the NR panels of N. A thin N (up to two panels or
 * 64 columns: a batch) reads A in place row by row instead (the weights of a per-step product,
 * computed transposed: re-read from cache for each panel rather than copied every step).
 */
template <class Vec>
static bool packs_a(const Problem& g) {
  constexpr int NR = GemmShape<Vec>::NR;
  return g.csA == 1 ? g.N > 2 * NR && g.N > 64 : g.N > NR;
}

/**
 * Operands packed once for all the parts of a threaded product (null: each part packs its own
 * blocks as it reaches them). All of op(B): K blocks of KC rows one after the other, each all of
 * N's NR-wide panels, so block (jc, pc) starts at b + pc*Npad + jc*kc (Npad: N in whole panels).
 * All of op(A) likewise in MR-high panels: block (ic, pc) starts at a + pc*Mpad + ic*kc.
 */
struct Shared {
  const float* b = nullptr;
  long Npad = 0;
  const float* a = nullptr;
  long Mpad = 0;
};

/** One thread's share of a GEMM: the blocked loops above over the whole of `g`. */
template <class Vec>
static void gemm_blocked(const Problem& g, const Exec& exec, int t, const Shared& shared = Shared{}) {
  using S = GemmShape<Vec>;
  constexpr int MR = S::MR, NR = S::NR;
  constexpr long KC = S::KC, MC = S::MC, NC = S::NC;
  const bool packB = shared.b != nullptr || packs_b<Vec>(g);
  const bool packA = shared.a != nullptr || packs_a<Vec>(g);
  const bool aRow = !packA && g.csA == 1;  // unpacked A read row-wise (a(i,p) = A[i*rsA + p])
  float* bOwn = packB && shared.b == nullptr ? exec.scratch(t, 1, static_cast<size_t>(KC) * (NC + NR)) : nullptr;
  float* aOwn = packA && shared.a == nullptr ? exec.scratch(t, 0, static_cast<size_t>(KC) * (MC + MR)) : nullptr;
  const float* bPacked = bOwn;
  const float* aPacked = aOwn;
  float* bEdge = packB ? nullptr : exec.scratch(t, 2, static_cast<size_t>(KC) * NR);

  for (long jc = 0; jc < g.N; jc += NC) {
    const long nc = g.N - jc < NC ? g.N - jc : NC;
    for (long pc = 0; pc < g.K; pc += KC) {
      const long kc = g.K - pc < KC ? g.K - pc : KC;
      const float beta = pc == 0 ? g.beta : 1.0f;
      if (shared.b != nullptr) bPacked = shared.b + pc * shared.Npad + jc * kc;
      else if (packB) pack_b<Vec>(kc, nc, g.B + pc * g.rsB + jc * g.csB, g.rsB, g.csB, bOwn);
      for (long ic = 0; ic < g.M; ic += MC) {
        const long mc = g.M - ic < MC ? g.M - ic : MC;
        if (shared.a != nullptr) aPacked = shared.a + pc * shared.Mpad + ic * kc;
        else if (packA) pack_a<Vec>(mc, kc, g.A + ic * g.rsA + pc * g.csA, g.rsA, g.csA, aOwn);
        for (long jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(nc - jr < NR ? nc - jr : NR);
          const float* b;
          long bs;
          if (packB) {
            b = bPacked + (jr / NR) * NR * kc;
            bs = NR;
          } else if (nr == NR) {
            b = g.B + pc * g.rsB + (jc + jr);
            bs = g.rsB;
          } else {
            pack_b<Vec>(kc, nr, g.B + pc * g.rsB + (jc + jr), g.rsB, 1, bEdge);
            b = bEdge;
            bs = NR;
          }
          for (long ir = 0; ir < mc; ir += MR) {
            const int mr = static_cast<int>(mc - ir < MR ? mc - ir : MR);
            float* c = g.C + (ic + ir) * g.rsC + (jc + jr) * g.csC;
            if (packA) {
              const float* a = aPacked + (ir / MR) * MR * kc;
              if (mr == MR) micro_kernel<Vec, MR, false>(kc, a, MR, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
              else micro_kernel_for<Vec, false>(mr)(kc, a, MR, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);  // the panel's zero rows skipped
            } else if (aRow) {
              const float* a = g.A + (ic + ir) * g.rsA + pc;
              if (mr == MR) micro_kernel<Vec, MR, true>(kc, a, g.rsA, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
              else micro_kernel_for<Vec, true>(mr)(kc, a, g.rsA, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
            } else {
              const float* a = g.A + (ic + ir) + pc * g.csA;  // rsA == 1
              if (mr == MR) micro_kernel<Vec, MR, false>(kc, a, g.csA, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
              else micro_kernel_for<Vec, false>(mr)(kc, a, g.csA, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
            }
          }
        }
      }
    }
  }
}

/** c = s + beta c, with beta = 0 not reading c. */
static inline float add_scaled(float s, float beta, float c) { return beta == 0.0f ? s : s + beta * c; }

/**
 * C[j*ldC + i] = S[i*ldS + j] + beta C[j*ldC + i] for i < rows, j < cols (beta = 0: C not read):
 * a transposed add, W x W blocks through registers, W rows of C at a time, each swept along its
 * length (rows of C a power of two apart, visited block by block across, would share L1 sets);
 * the leftover rows and columns one by one.
 */
template <class Vec>
static void add_transposed(long rows, long cols, const float* S, long ldS, float beta, float* C, long ldC) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  const R vb = Vec::set1(beta);
  long j0 = 0;
  for (; j0 + W <= cols; j0 += W) {
    long i0 = 0;
    for (; i0 + W <= rows; i0 += W) {  // main part
      R t[W];
      for (int q = 0; q < W; ++q) t[q] = Vec::load(S + (i0 + q) * ldS + j0);
      Vec::transpose(t);
      for (int q = 0; q < W; ++q) {
        float* c = C + (j0 + q) * ldC + i0;
        Vec::store(c, beta == 0.0f ? t[q] : Vec::fmadd(vb, Vec::load(c), t[q]));
      }
    }
    for (long j = j0; j < j0 + W; ++j) {  // leftover rows of S
      for (long i = i0; i < rows; ++i) C[j * ldC + i] = add_scaled(S[i * ldS + j], beta, C[j * ldC + i]);
    }
  }
  for (long j = j0; j < cols; ++j) {  // leftover columns of S
    for (long i = 0; i < rows; ++i) C[j * ldC + i] = add_scaled(S[i * ldS + j], beta, C[j * ldC + i]);
  }
}

/**
 * A share of a GEMM whose C is transposed (c(i,j) = C[i + j*csC], the oriented per-step product):
 * the blocked loops write a contiguous scratch block S (M x N) at full vector speed, and one blocked
 * transpose then adds it into C (rows of C are a power of two apart: scattering each tile into
 * them directly would thrash a few L1 sets).
 */
template <class Vec>
static void gemm_transposed_c(const Problem& g, const Exec& exec, int t, const Shared& shared = Shared{}) {
  // In chunks of M rows, so the scratch stays a few MB whatever M is (a word vocabulary, say).
  constexpr long CHUNK = 16 * 12 * 12;
  const long ldS = (g.N + 15) / 16 * 16 + 16;
  float* S = exec.scratch(t, 4, static_cast<size_t>(g.M < CHUNK ? g.M : CHUNK) * ldS);
  const float beta = g.beta;
  for (long m0 = 0; m0 < g.M; m0 += CHUNK) {
    const long rows = g.M - m0 < CHUNK ? g.M - m0 : CHUNK;
    Problem into = g;
    into.M = rows;
    into.A = g.A + m0 * g.rsA;
    into.C = S;
    into.rsC = ldS;
    into.csC = 1;
    into.beta = 0.0f;
    gemm_blocked<Vec>(into, exec, t, Shared{shared.b, shared.Npad, nullptr, 0});  // (a shared A would not follow the chunks)
    add_transposed<Vec>(rows, g.N, S, ldS, beta, g.C + m0, g.csC);  // rsC == 1
  }
}

/**
 * Dot-product form for a thin result (N <= 4 columns after orientation) with rows of A contiguous:
 * c(i,j) = alpha * dot(a(i,:), b(:,j)) + beta c(i,j). This is the matrix-vector product of a
 * generation step (batch 1): the weights stream once, vectorised along K.
 */
template <class Vec>
static void gemm_dot(const Problem& g, const Exec& exec, int t, long i0, long i1) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  const long K = g.K;
  // b's columns, contiguous (K x N, column j at bc + j*K).
  const float* bc;
  if (g.rsB == 1) {
    bc = nullptr;
  } else {
    float* tmp = exec.scratch(t, 2, static_cast<size_t>(K) * g.N);
    for (long j = 0; j < g.N; ++j)
      for (long p = 0; p < K; ++p) tmp[j * K + p] = g.B[p * g.rsB + j * g.csB];
    bc = tmp;
  }
  auto column = [&](long j) -> const float* { return bc != nullptr ? bc + j * K : g.B + j * g.csB; };
  for (long i = i0; i < i1; i += 4) {
    const int rows = static_cast<int>(i1 - i < 4 ? i1 - i : 4);
    for (long j = 0; j < g.N; ++j) {
      const float* x = column(j);
      float dots[4] = {0, 0, 0, 0};
      // Two accumulators per row, so that eight FMA chains are in flight.
      R acc[4][2] = {{Vec::zero(), Vec::zero()}, {Vec::zero(), Vec::zero()}, {Vec::zero(), Vec::zero()}, {Vec::zero(), Vec::zero()}};
      long p = 0;
      // (Each row's arithmetic is the same whatever rows share its group: threads split the rows.)
      for (; p + 2 * W <= K; p += 2 * W) {  // main part
        const R x0 = Vec::load(x + p), x1 = Vec::load(x + p + W);
        for (int r = 0; r < 4; ++r) {
          if (r >= rows) break;
          const float* ar = g.A + (i + r) * g.rsA + p;
          acc[r][0] = Vec::fmadd(Vec::load(ar), x0, acc[r][0]);
          acc[r][1] = Vec::fmadd(Vec::load(ar + W), x1, acc[r][1]);
        }
      }
      for (; p + W <= K; p += W) {  // main part, one vector at a time
        R xv = Vec::load(x + p);
        for (int r = 0; r < 4; ++r)
          if (r < rows) acc[r][0] = Vec::fmadd(Vec::load(g.A + (i + r) * g.rsA + p), xv, acc[r][0]);
      }
      for (int r = 0; r < rows; ++r) dots[r] = Vec::sum(Vec::add(acc[r][0], acc[r][1]));
      for (; p < K; ++p) {  // leftovers
        for (int r = 0; r < rows; ++r) dots[r] += g.A[(i + r) * g.rsA + p] * x[p];
      }
      for (int r = 0; r < rows; ++r) {
        float& cij = g.C[(i + r) * g.rsC + j * g.csC];
        cij = g.beta == 0.0f ? g.alpha * dots[r] : g.alpha * dots[r] + g.beta * cij;
      }
    }
  }
}

// A threaded product of at least SHARE_MACS multiply-adds (a millisecond or more; the per-step
// products, smaller, lose more to the extra hand-off than they gain) packs the operand that every
// part reads once, all of it (at most SHARED_FLOATS floats: 16 MB), the threads together, and
// deals the other dimension in DEAL_PER_THREAD parts per thread.
constexpr double SHARE_MACS = 1 << 27;
constexpr long SHARED_FLOATS = 4L << 20;
constexpr int DEAL_PER_THREAD = 4;

/**
 * All of op(B) packed in the layout Shared describes, into the caller's scratch: the panels split
 * between the threads.
 */
template <class Vec>
static const float* pack_b_shared(const Problem& g, long Npad, const Exec& exec) {
  using S = GemmShape<Vec>;
  float* all = exec.scratch(0, 3, static_cast<size_t>(g.K) * Npad);
  const long panels = Npad / S::NR;
  const int parts = panels < exec.threads ? static_cast<int>(panels) : exec.threads;
  const long per = (panels + parts - 1) / parts * S::NR;
  parallel(exec, parts, [&](int t) {
    const long j0 = t * per, j1 = j0 + per < g.N ? j0 + per : g.N;
    if (j0 >= j1) return;
    for (long pc = 0; pc < g.K; pc += S::KC) {
      const long kc = g.K - pc < S::KC ? g.K - pc : S::KC;
      pack_b<Vec>(kc, j1 - j0, g.B + pc * g.rsB + j0 * g.csB, g.rsB, g.csB, all + pc * Npad + j0 * kc);
    }
  });
  return all;
}

/** All of op(A) packed in the layout Shared describes, likewise. */
template <class Vec>
static const float* pack_a_shared(const Problem& g, long Mpad, const Exec& exec) {
  using S = GemmShape<Vec>;
  float* all = exec.scratch(0, 3, static_cast<size_t>(g.K) * Mpad);
  const long panels = Mpad / S::MR;
  const int parts = panels < exec.threads ? static_cast<int>(panels) : exec.threads;
  const long per = (panels + parts - 1) / parts * S::MR;
  parallel(exec, parts, [&](int t) {
    const long i0 = t * per, i1 = i0 + per < g.M ? i0 + per : g.M;
    if (i0 >= i1) return;
    for (long pc = 0; pc < g.K; pc += S::KC) {
      const long kc = g.K - pc < S::KC ? g.K - pc : S::KC;
      pack_a<Vec>(i1 - i0, kc, g.A + i0 * g.rsA + pc * g.csA, g.rsA, g.csA, all + pc * Mpad + i0 * kc);
    }
  });
  return all;
}

/**
 * The first tile of part t (of `parts`, over `tiles` tiles). Dealt parts come in rounds of one part
 * per thread (part t belongs to thread t % threads) and halve in size from one round to the next:
 * each thread's parts add up to the same share, and the last ones, which a thread that finished
 * early may take over, are small. Otherwise (one round, or not whole rounds) equal parts.
 */
static long part_start(long t, long parts, long threads, long tiles) {
  if (parts <= threads || parts % threads != 0) return tiles * t / parts;
  const long rounds = parts / threads, round = t / threads, within = t % threads;
  const long total = threads * ((1L << rounds) - 1);
  const long before = threads * ((1L << rounds) - (1L << (rounds - round))) + (t < parts ? within * (1L << (rounds - 1 - round)) : 0);
  return tiles * before / total;
}

template <class Vec>
static void gemm(const double* a, const Exec& exec) {
  using S = GemmShape<Vec>;
  const bool transA = a[0] != 0, transB = a[1] != 0;
  const long M = static_cast<long>(a[2]), N = static_cast<long>(a[3]), K = static_cast<long>(a[4]);
  const float alpha = static_cast<float>(a[5]);
  const float* A = fptr(a, 6);
  const long lda = static_cast<long>(a[7]);
  const float* B = fptr(a, 8);
  const long ldb = static_cast<long>(a[9]);
  const float beta = static_cast<float>(a[10]);
  float* C = fptr(a, 11);
  const long ldc = static_cast<long>(a[12]);
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {  // C = beta C: A and B are not read (the reference skips alpha*a = 0 too)
    scale_c(M, N, beta, C, ldc, 1);
    return;
  }
  // op(A)(i,p) and op(B)(p,j) through strides.
  const long rsA = transA ? 1 : lda, csA = transA ? lda : 1;
  const long rsB = transB ? 1 : ldb, csB = transB ? ldb : 1;
  Problem g;
  // Orientation: for a small op(A) against B^T, compute C^T = op(B)^T op(A)^T, so that the big
  // operand B is read in place as the broadcast side and only the small op(A) is packed.
  const bool swap = transB && !transA && M < N && M <= 256;
  if (swap) {
    g = Problem{N, M, K, alpha, beta, B, csB, rsB, A, csA, rsA, C, 1, ldc};
  } else {
    g = Problem{M, N, K, alpha, beta, A, rsA, csA, B, rsB, csB, C, ldc, 1};
  }
  const double macs = static_cast<double>(M) * N * K;
  const bool dot = g.N <= 4 && g.csA == 1;
  // Threads: a fork costs about a microsecond; below ~64k multiply-adds one thread is quicker.
  int parts = exec.threads;
  if (macs < 65536.0) parts = 1;
  if (dot) {
    const long rowsPer = (g.M + parts - 1) / parts;
    if (parts > 1 && g.M < 64) parts = 1;
    auto run = [&](int t) {
      const long i0 = t * rowsPer, i1 = i0 + rowsPer < g.M ? i0 + rowsPer : g.M;
      if (i0 < i1) gemm_dot<Vec>(g, exec, t, i0, i1);
    };
    parallel(exec, parts, run);
    return;
  }
  // Split the larger dimension (in whole micro-tiles), so each thread packs the smaller operand whole.
  const bool splitM = g.M >= g.N;
  const long unit = splitM ? S::MR : S::NR;
  const long extent = splitM ? g.M : g.N;
  const long tiles = (extent + unit - 1) / unit;
  if (tiles < parts) parts = static_cast<int>(tiles);
  // The operand every part reads whole (B when M is split, A when N is) is packed once, by the
  // threads together, rather than once per part; the split dimension is then dealt in several parts
  // per thread, so that a thread the OS delays holds up one small part, not half the product.
  Shared shared;
  if (parts > 1 && macs >= SHARE_MACS) {
    const long Npad = (g.N + S::NR - 1) / S::NR * S::NR, Mpad = (g.M + S::MR - 1) / S::MR * S::MR;
    if (splitM && packs_b<Vec>(g) && g.K * Npad <= SHARED_FLOATS) {
      shared.b = pack_b_shared<Vec>(g, Npad, exec);
      shared.Npad = Npad;
    } else if (!splitM && g.csC == 1 && packs_a<Vec>(g) && g.K * Mpad <= SHARED_FLOATS) {
      shared.a = pack_a_shared<Vec>(g, Mpad, exec);
      shared.Mpad = Mpad;
    }
    if (shared.a != nullptr || shared.b != nullptr) {
      parts = exec.threads * DEAL_PER_THREAD < 32 ? exec.threads * DEAL_PER_THREAD : 32;
      if (tiles < parts) parts = static_cast<int>(tiles);
    }
  }
  auto share = [&](const Problem& part, int t) {
    if (part.csC == 1) gemm_blocked<Vec>(part, exec, t, shared);
    else gemm_transposed_c<Vec>(part, exec, t, shared);
  };
  if (parts <= 1) {
    share(g, 0);
    return;
  }
  auto run = [&](int t) {
    const long lo = part_start(t, parts, exec.threads, tiles) * unit;
    const long end = part_start(t + 1, parts, exec.threads, tiles) * unit;
    const long hi = end < extent ? end : extent;
    if (lo >= hi) return;
    Problem part = g;
    if (splitM) {
      part.M = hi - lo;
      part.A = g.A + lo * g.rsA;
      part.C = g.C + lo * g.rsC;
    } else {
      part.N = hi - lo;
      part.B = g.B + lo * g.csB;
      part.C = g.C + lo * g.csC;
    }
    share(part, t);
  };
  parallel(exec, parts, run);
}
