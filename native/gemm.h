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
// operand, and packs only the small op(A). Small problems skip packing altogether (the
// micro-kernel reads A and B in place through their strides), so a per-step GEMM costs its
// arithmetic and one pass over the weights, nothing else. The transposed result goes to a
// contiguous scratch block first and is added into C by one blocked transpose (scattered tile
// stores into rows a power of two apart thrash L1: they halved the per-step product's speed).
// Edge blocks (fewer than MR rows or NR columns) run the same micro-kernel on zero-padded panels
// and store through a small tile. A thin result (N <= 4 after orientation: batch-1 sampling) uses
// dot products along K instead.
//
// Threads: the larger of M and N is split in whole micro-tiles, one share per thread (thread t
// normally runs share t, so across time steps each core keeps its rows of W_hh in its own L2);
// each share runs the loops above with its own packing buffers. Below 64k multiply-adds one thread.

template <class Vec> struct GemmShape;
template <> struct GemmShape<Scalar> {
  static constexpr int MR = 4, NR = 4;
  static constexpr long KC = 256, MC = 128, NC = 1024;
};
#if defined(RECUR_HAVE_AVX2)
template <> struct GemmShape<Avx2> {
  static constexpr int MR = 6, NR = 16;
  static constexpr long KC = 256, MC = 144, NC = 2048;
};
#endif
#if defined(RECUR_HAVE_AVX512)
template <> struct GemmShape<Avx512> {
  static constexpr int MR = 12, NR = 32;  // 24 accumulators: 2 loads + 12 broadcasts per 24 FMAs
  static constexpr long KC = 256, MC = 192, NC = 2048;
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
#pragma GCC unroll 2
  for (long p = 0; p < kc; ++p) {
    R bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + p * bs + v * W);
    for (int i = 0; i < M; ++i) {
      R ai = Vec::set1(ARow ? a[i * as + p] : a[p * as + i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec::fmadd(ai, bv[v], acc[i][v]);
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

/** Packs a(i,p) for i < mc, p < kc into MR-high panels: panel q holds rows q*MR.., as dst[p*MR + i], zero-padded. */
template <class Vec>
static void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* dst) {
  constexpr int MR = GemmShape<Vec>::MR;
  for (long i0 = 0; i0 < mc; i0 += MR) {
    const int mr = static_cast<int>(mc - i0 < MR ? mc - i0 : MR);
    const float* a = A + i0 * rsA;
    if (rsA == 1 && mr == MR) {
      for (long p = 0; p < kc; ++p) {
        const float* src = a + p * csA;
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
      }
    } else {
      for (int i = 0; i < MR; ++i) {
        if (i < mr) {
          const float* src = a + i * rsA;
          for (long p = 0; p < kc; ++p) dst[p * MR + i] = src[p * csA];
        } else {
          for (long p = 0; p < kc; ++p) dst[p * MR + i] = 0.0f;
        }
      }
    }
    dst += MR * kc;
  }
}

/** Packs b(p,j) for p < kc, j < nc into NR-wide panels: panel q holds columns q*NR.., as dst[p*NR + j], zero-padded. */
template <class Vec>
static void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* dst) {
  using R = typename Vec::R;
  constexpr int W = Vec::W, NR = GemmShape<Vec>::NR;
  for (long j0 = 0; j0 < nc; j0 += NR) {
    const int nr = static_cast<int>(nc - j0 < NR ? nc - j0 : NR);
    const float* b = B + j0 * csB;
    if (csB == 1 && nr == NR) {
      for (long p = 0; p < kc; ++p) {
        for (int v = 0; v < NR / W; ++v) {
          R x = Vec::load(b + p * rsB + v * W);
          Vec::store(dst + p * NR + v * W, x);
        }
      }
    } else {
      for (int j = 0; j < NR; ++j) {
        if (j < nr) {
          const float* src = b + j * csB;
          for (long p = 0; p < kc; ++p) dst[p * NR + j] = src[p * rsB];
        } else {
          for (long p = 0; p < kc; ++p) dst[p * NR + j] = 0.0f;
        }
      }
    }
    dst += NR * kc;
  }
}

/** One thread's share of a GEMM: the blocked loops above over the whole of `g`. */
template <class Vec>
static void gemm_blocked(const Problem& g, const Exec& exec, int t) {
  using S = GemmShape<Vec>;
  constexpr int MR = S::MR, NR = S::NR;
  constexpr long KC = S::KC, MC = S::MC, NC = S::NC;
  // Packing pays when a panel is reused: B's panels by several MC blocks of M, A's by several NR
  // panels of N. A read in place row by row (the weights of a per-step product, computed
  // transposed) is re-read from cache for up to two panels rather than copied every step.
  const bool packB = g.csB != 1 || g.M > MC;
  const bool packA = g.csA == 1 ? g.N > 2 * NR : g.N > NR;
  const bool aRow = !packA && g.csA == 1;  // unpacked A read row-wise (a(i,p) = A[i*rsA + p])
  float* bPacked = packB ? exec.scratch(t, 1, static_cast<size_t>(KC) * (NC + NR)) : nullptr;
  float* aPacked = packA ? exec.scratch(t, 0, static_cast<size_t>(KC) * (MC + MR)) : nullptr;
  float* bEdge = packB ? nullptr : exec.scratch(t, 2, static_cast<size_t>(KC) * NR);

  for (long jc = 0; jc < g.N; jc += NC) {
    const long nc = g.N - jc < NC ? g.N - jc : NC;
    for (long pc = 0; pc < g.K; pc += KC) {
      const long kc = g.K - pc < KC ? g.K - pc : KC;
      const float beta = pc == 0 ? g.beta : 1.0f;
      if (packB) pack_b<Vec>(kc, nc, g.B + pc * g.rsB + jc * g.csB, g.rsB, g.csB, bPacked);
      for (long ic = 0; ic < g.M; ic += MC) {
        const long mc = g.M - ic < MC ? g.M - ic : MC;
        if (packA) pack_a<Vec>(mc, kc, g.A + ic * g.rsA + pc * g.csA, g.rsA, g.csA, aPacked);
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
              micro_kernel<Vec, MR, false>(kc, aPacked + (ir / MR) * MR * kc, MR, b, bs, g.alpha, beta, c, g.rsC, g.csC, mr, nr);
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

/**
 * A share of a GEMM whose C is transposed (c(i,j) = C[i + j*csC], the oriented per-step product):
 * the blocked loops write a contiguous scratch block S (M x N) at full vector speed, and one blocked
 * transpose then adds it into C (rows of C are a power of two apart: scattering each tile into
 * them directly would thrash a few L1 sets).
 */
template <class Vec>
static void gemm_transposed_c(const Problem& g, const Exec& exec, int t) {
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
    gemm_blocked<Vec>(into, exec, t);
    float* C = g.C + m0;  // rsC == 1
    for (long i0 = 0; i0 < rows; i0 += 16) {
      const long i1 = i0 + 16 < rows ? i0 + 16 : rows;
      for (long j = 0; j < g.N; ++j) {
        float* c = C + j * g.csC;
        if (beta == 0.0f) {
          for (long i = i0; i < i1; ++i) c[i] = S[i * ldS + j];
        } else {
          for (long i = i0; i < i1; ++i) c[i] = S[i * ldS + j] + beta * c[i];
        }
      }
    }
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
  auto share = [&](const Problem& part, int t) {
    if (part.csC == 1) gemm_blocked<Vec>(part, exec, t);
    else gemm_transposed_c<Vec>(part, exec, t);
  };
  if (parts <= 1) {
    share(g, 0);
    return;
  }
  const long per = (tiles + parts - 1) / parts * unit;
  auto run = [&](int t) {
    const long lo = t * per, hi = lo + per < extent ? lo + per : extent;
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
