// Every kernel of the interface, written once over the vector primitives of simd.h and compiled
// once per instruction set (isa_scalar.cc, isa_avx2.cc, isa_avx512.cc define V and include this
// file inside their own namespace). The semantics are those of the reference backend
// (src/kernels/reference/index.ts), which is the specification; the comments name the equations
// and the = / += convention of each output.
//
// Loops: every vectorised loop has a main part over whole vectors and a leftovers part, and both
// run the same body: a generic lambda called with V for the main part and with Scalar for the
// leftovers, so the leftovers are the scalar twin by construction.
//
// Threads: kernels over more than a few thousand elements split their range between the pool's
// threads (rows for row-wise kernels, columns where rows accumulate into one output).

// ---- arguments ----------------------------------------------------------------------------------------

static inline float* fptr(const double* a, int i) { return reinterpret_cast<float*>(static_cast<uintptr_t>(a[i])); }
static inline int32_t* iptr(const double* a, int i) { return reinterpret_cast<int32_t*>(static_cast<uintptr_t>(a[i])); }
static inline long ival(const double* a, int i) { return static_cast<long>(a[i]); }
static inline float fval(const double* a, int i) { return static_cast<float>(a[i]); }

static inline long lmin(long a, long b) { return a < b ? a : b; }

// ---- threads ------------------------------------------------------------------------------------------

template <class F>
static void trampoline(void* ctx, int t) {
  (*static_cast<const F*>(ctx))(t);
}

/** Runs f(t) for t in [0, n) (n <= 32 parts) on at most exec.threads threads (see Exec::parallel). */
template <class F>
static void parallel(const Exec& exec, int n, const F& f) {
  if (n <= 1) {
    f(0);
    return;
  }
  exec.parallel(n, &trampoline<F>, const_cast<void*>(static_cast<const void*>(&f)));
}

/**
 * Splits [0, n) into chunks of at least `grain` (multiples of `align`), one per thread, and runs
 * f(begin, end, t) on each; one chunk runs on the calling thread without any hand-off.
 */
template <class F>
static void parallel_range(const Exec& exec, long n, long grain, long align, const F& f) {
  long parts = n / (grain > 0 ? grain : 1);
  if (parts > exec.threads) parts = exec.threads;
  if (parts <= 1) {
    f(0L, n, 0);
    return;
  }
  long chunk = (n + parts - 1) / parts;
  chunk = (chunk + align - 1) / align * align;
  parts = (n + chunk - 1) / chunk;
  parallel(exec, static_cast<int>(parts), [&](int t) {
    const long begin = t * chunk, end = lmin(n, begin + chunk);
    if (begin < end) f(begin, end, t);
  });
}

/** Main part over whole vectors of V, leftovers with Scalar: body(tag, i) handles [i, i + tag::W). */
template <class Body>
static inline void each(long begin, long end, const Body& body) {
  long i = begin;
  for (; i + V::W <= end; i += V::W) body(V{}, i);
  for (; i < end; ++i) body(Scalar{}, i);
}

// Grains (elements per thread below which one thread is faster than handing work to another):
// about 2 us of work each.
constexpr long GRAIN_COPY = 32768;    // a load and a store per element
constexpr long GRAIN_MATH = 2048;     // a few exp / tanh per element
constexpr long GRAIN_STEP = 16384;    // optimizer steps, losses

#include "gemm.h"

// ---- dense linear algebra -----------------------------------------------------------------------------

/** x = value over n elements. */
static void k_fill(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* x = fptr(a, 1);
  const float value = fval(a, 2);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      T::store(x + i, T::set1(value));
    });
  });
}

/** dst = src for a (rows, cols) block with row strides ldSrc / ldDst. */
static void k_copy(const double* a, const Exec& e) {
  const long rows = ival(a, 0), cols = ival(a, 1);
  const float* src = fptr(a, 2);
  const long ldSrc = ival(a, 3);
  float* dst = fptr(a, 4);
  const long ldDst = ival(a, 5);
  if (rows == 1) {
    parallel_range(e, cols, GRAIN_COPY, 64, [&](long b, long en, int) {
      __builtin_memmove(dst + b, src + b, static_cast<size_t>(en - b) * 4);
    });
    return;
  }
  parallel_range(e, rows, GRAIN_COPY / (cols > 0 ? cols : 1) + 1, 1, [&](long b, long en, int) {
    for (long r = b; r < en; ++r) __builtin_memmove(dst + r * ldDst, src + r * ldSrc, static_cast<size_t>(cols) * 4);
  });
}

/** y += alpha * x over n elements. */
static void k_axpy(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  const float alpha = fval(a, 1);
  const float* x = fptr(a, 2);
  float* y = fptr(a, 3);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      T::store(y + i, T::fmadd(T::set1(alpha), T::load(x + i), T::load(y + i)));
    });
  });
}

/** x *= alpha over n elements. */
static void k_scale(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* x = fptr(a, 1);
  const float alpha = fval(a, 2);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      T::store(x + i, T::mul(T::load(x + i), T::set1(alpha)));
    });
  });
}

/** y *= x over n elements. */
static void k_mul(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  const float* x = fptr(a, 1);
  float* y = fptr(a, 2);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      T::store(y + i, T::mul(T::load(y + i), T::load(x + i)));
    });
  });
}

/** x (rows,cols) += bias (cols) on every row. */
static void k_add_bias(const double* a, const Exec& e) {
  const long rows = ival(a, 0), cols = ival(a, 1);
  float* x = fptr(a, 2);
  const float* bias = fptr(a, 3);
  parallel_range(e, rows, GRAIN_COPY / (cols > 0 ? cols : 1) + 1, 1, [&](long b, long en, int) {
    for (long r = b; r < en; ++r) {
      float* row = x + r * cols;
      each(0, cols, [&](auto v, long i) {
        using T = decltype(v);
        T::store(row + i, T::add(T::load(row + i), T::load(bias + i)));
      });
    }
  });
}

/** dBias (cols) += Σ over rows of dy (rows,cols); threads split the columns. */
static void k_bias_grad(const double* a, const Exec& e) {
  const long rows = ival(a, 0), cols = ival(a, 1);
  const float* dy = fptr(a, 2);
  float* db = fptr(a, 3);
  parallel_range(e, cols, GRAIN_COPY / (rows > 0 ? rows : 1) + 1, 64, [&](long b, long en, int) {
    // Blocks of 4 vectors of columns stay in registers over all rows (rows added in order, as the reference).
    long c = b;
    constexpr long BLOCK = 4 * V::W;
    for (; c + BLOCK <= en; c += BLOCK) {
      typename V::R acc[4];
      for (int q = 0; q < 4; ++q) acc[q] = V::load(db + c + q * V::W);
      for (long r = 0; r < rows; ++r) {
        const float* row = dy + r * cols + c;
        for (int q = 0; q < 4; ++q) acc[q] = V::add(acc[q], V::load(row + q * V::W));
      }
      for (int q = 0; q < 4; ++q) V::store(db + c + q * V::W, acc[q]);
    }
    each(c, en, [&](auto v, long i) {
      using T = decltype(v);
      typename T::R acc = T::load(db + i);
      for (long r = 0; r < rows; ++r) acc = T::add(acc, T::load(dy + r * cols + i));
      T::store(db + i, acc);
    });
  });
}

/** y = f(x) over n elements (in place allowed). kind: 0 identity, 1 tanh, 2 sigmoid, 3 relu. */
static void k_activation(const double* a, const Exec& e) {
  const int kind = static_cast<int>(a[0]);
  const long n = ival(a, 1);
  const float* x = fptr(a, 2);
  float* y = fptr(a, 3);
  parallel_range(e, n, kind == 1 || kind == 2 ? GRAIN_MATH : GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      typename T::R xv = T::load(x + i);
      typename T::R yv = kind == 1 ? vtanh<T>(xv) : kind == 2 ? vsigmoid<T>(xv) : kind == 3 ? T::max(xv, T::zero()) : xv;
      T::store(y + i, yv);
    });
  });
}

/** dx = dy * f'(x), from y = f(x): tanh 1 - y², sigmoid y(1 - y), relu [y > 0], identity 1. */
static void k_activation_backward(const double* a, const Exec& e) {
  const int kind = static_cast<int>(a[0]);
  const long n = ival(a, 1);
  const float* y = fptr(a, 2);
  const float* dy = fptr(a, 3);
  float* dx = fptr(a, 4);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      using R = typename T::R;
      const R one = T::set1(1.0f);
      R yv = T::load(y + i);
      R slope = kind == 1 ? T::fnmadd(yv, yv, one)
              : kind == 2 ? T::mul(yv, T::sub(one, yv))
              : kind == 3 ? T::select(T::lt(T::zero(), yv), one, T::zero())
              : one;
      T::store(dx + i, T::mul(T::load(dy + i), slope));
    });
  });
}

// ---- recurrent cells ------------------------------------------------------------------------------------
// One pass per time step over (B,H). Threads split the H columns (so dPeep, a sum over the batch,
// has one owner per column); every thread walks all B rows of its columns.

template <class F>
static void cell_columns(const Exec& e, long B, long H, const F& f) {
  // Split H when the step is big enough; each part a multiple of 16 columns (whole vectors).
  const long grain = GRAIN_MATH / (B > 0 ? B : 1) + 1;
  parallel_range(e, H, grain, 16, [&](long j0, long j1, int) { f(j0, j1); });
}

/** RNN forward: a (B,H) = tanh(z). */
static void k_rnn_forward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* z = fptr(a, 2);
  float* out = fptr(a, 3);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        T::store(out + b * H + j, vtanh<T>(T::load(z + b * H + j)));
      });
    }
  });
}

/** RNN backward: dz (B,H) = (daOut + daNext) * (1 - a²)   (forward: a = tanh(z)). */
static void k_rnn_backward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* act = fptr(a, 2);
  const float* daOut = fptr(a, 3);
  const float* daNext = fptr(a, 4);
  float* dz = fptr(a, 5);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        const long k = b * H + j;
        typename T::R av = T::load(act + k);
        typename T::R da = T::add(T::load(daOut + k), T::load(daNext + k));
        T::store(dz + k, T::mul(da, T::fnmadd(av, av, T::set1(1.0f))));
      });
    }
  });
}

/**
 * LSTM forward, z = [u f c~ o] (B,4H) pre-activations, optional peepholes p = [pu pf po] (3H):
 *   Γu = σ(zu + pu c<t-1>), Γf = σ(zf + pf c<t-1>), c~ = tanh(zc), c<t> = Γu c~ + Γf c<t-1>,
 *   Γo = σ(zo + po c<t>), a<t> = Γo tanh(c<t>).   Writes gates (B,4H), c (B,H), a (B,H).
 */
static void k_lstm_forward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* z = fptr(a, 2);
  const float* cPrev = fptr(a, 3);
  const float* peep = fptr(a, 4);
  float* gates = fptr(a, 5);
  float* cOut = fptr(a, 6);
  float* aOut = fptr(a, 7);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const float* zr = z + b * 4 * H;
      float* gr = gates + b * 4 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        using R = typename T::R;
        R cp = T::load(cPrev + b * H + j);
        R zu = T::load(zr + j), zf = T::load(zr + H + j), zc = T::load(zr + 2 * H + j), zo = T::load(zr + 3 * H + j);
        if (peep != nullptr) {
          zu = T::fmadd(T::load(peep + j), cp, zu);
          zf = T::fmadd(T::load(peep + H + j), cp, zf);
        }
        R u = vsigmoid<T>(zu), f = vsigmoid<T>(zf), cand = vtanh<T>(zc);
        R cn = T::fmadd(u, cand, T::mul(f, cp));
        if (peep != nullptr) zo = T::fmadd(T::load(peep + 2 * H + j), cn, zo);
        R o = vsigmoid<T>(zo);
        T::store(gr + j, u);
        T::store(gr + H + j, f);
        T::store(gr + 2 * H + j, cand);
        T::store(gr + 3 * H + j, o);
        T::store(cOut + b * H + j, cn);
        T::store(aOut + b * H + j, T::mul(o, vtanh<T>(cn)));
      });
    }
  });
}

/**
 * LSTM backward, da = daOut + daNext:
 *   dzo = da tanh(c) Γo(1-Γo)                               (forward: a = Γo tanh(c))
 *   dc  = dcNext + da Γo (1 - tanh²c) + dzo po              (and Γo's peephole on c<t>)
 *   dzu = dc c~ Γu(1-Γu), dzf = dc c<t-1> Γf(1-Γf), dzc = dc Γu (1 - c~²)   (forward: c = Γu c~ + Γf c<t-1>)
 *   dcPrev = dc Γf + dzu pu + dzf pf.   Writes dz (B,4H), dcPrev (B,H); dPeep (3H) += Σ_b.
 */
static void k_lstm_backward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* gates = fptr(a, 2);
  const float* cPrev = fptr(a, 3);
  const float* cCur = fptr(a, 4);
  const float* peep = fptr(a, 5);
  const float* daOut = fptr(a, 6);
  const float* daNext = fptr(a, 7);
  const float* dcNext = fptr(a, 8);
  float* dz = fptr(a, 9);
  float* dcPrev = fptr(a, 10);
  float* dPeep = fptr(a, 11);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const float* gr = gates + b * 4 * H;
      float* dzr = dz + b * 4 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        using R = typename T::R;
        const R one = T::set1(1.0f);
        const long k = b * H + j;
        R u = T::load(gr + j), f = T::load(gr + H + j), cand = T::load(gr + 2 * H + j), o = T::load(gr + 3 * H + j);
        R cp = T::load(cPrev + k), cn = T::load(cCur + k);
        R tc = vtanh<T>(cn);
        R da = T::add(T::load(daOut + k), T::load(daNext + k));
        R dzo = T::mul(T::mul(da, tc), T::mul(o, T::sub(one, o)));
        R dct = T::fmadd(T::mul(da, o), T::fnmadd(tc, tc, one), T::load(dcNext + k));
        if (peep != nullptr) dct = T::fmadd(dzo, T::load(peep + 2 * H + j), dct);
        R dzu = T::mul(T::mul(dct, cand), T::mul(u, T::sub(one, u)));
        R dzf = T::mul(T::mul(dct, cp), T::mul(f, T::sub(one, f)));
        R dzc = T::mul(T::mul(dct, u), T::fnmadd(cand, cand, one));
        T::store(dzr + j, dzu);
        T::store(dzr + H + j, dzf);
        T::store(dzr + 2 * H + j, dzc);
        T::store(dzr + 3 * H + j, dzo);
        R dcp = T::mul(dct, f);
        if (peep != nullptr) dcp = T::fmadd(dzf, T::load(peep + H + j), T::fmadd(dzu, T::load(peep + j), dcp));
        T::store(dcPrev + k, dcp);
        if (dPeep != nullptr) {
          T::store(dPeep + j, T::fmadd(dzu, cp, T::load(dPeep + j)));
          T::store(dPeep + H + j, T::fmadd(dzf, cp, T::load(dPeep + H + j)));
          T::store(dPeep + 2 * H + j, T::fmadd(dzo, cn, T::load(dPeep + 2 * H + j)));
        }
      });
    }
  });
}

/** GRU reset-before, first half: Γr = σ(xw_r + hw_r + bh_r), rc (B,H) = Γr c<t-1>. */
static void k_gru_reset_forward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* xw = fptr(a, 2);
  const float* hw = fptr(a, 3);
  const float* bh = fptr(a, 4);
  const float* cPrev = fptr(a, 5);
  float* rc = fptr(a, 6);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const long zr = b * 3 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        typename T::R r = vsigmoid<T>(T::add(T::add(T::load(xw + zr + j), T::load(hw + zr + j)), T::load(bh + j)));
        T::store(rc + b * H + j, T::mul(r, T::load(cPrev + b * H + j)));
      });
    }
  });
}

/**
 * GRU forward: Γr = σ(xw_r + hw_r + bh_r), Γu = σ(xw_u + hw_u + bh_u), hc = hw_c + bh_c,
 *   c~ = tanh(xw_c + Γr hc) ('after')  or  tanh(xw_c + hc) ('before': hw_c already holds (Γr c<t-1>) W_hc^T),
 *   c<t> = Γu c~ + (1 - Γu) c<t-1>.   Writes gates (B,3H) = [Γr Γu c~], c (B,H).
 */
static void k_gru_forward(const double* a, const Exec& e) {
  const bool after = a[0] != 0;
  const long B = ival(a, 1), H = ival(a, 2);
  const float* xw = fptr(a, 3);
  const float* hw = fptr(a, 4);
  const float* bh = fptr(a, 5);
  const float* cPrev = fptr(a, 6);
  float* gates = fptr(a, 7);
  float* cOut = fptr(a, 8);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const long zr = b * 3 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        using R = typename T::R;
        R r = vsigmoid<T>(T::add(T::add(T::load(xw + zr + j), T::load(hw + zr + j)), T::load(bh + j)));
        R u = vsigmoid<T>(T::add(T::add(T::load(xw + zr + H + j), T::load(hw + zr + H + j)), T::load(bh + H + j)));
        R hc = T::add(T::load(hw + zr + 2 * H + j), T::load(bh + 2 * H + j));
        R xc = T::load(xw + zr + 2 * H + j);
        R cand = vtanh<T>(after ? T::fmadd(r, hc, xc) : T::add(xc, hc));
        R cp = T::load(cPrev + b * H + j);
        T::store(gates + zr + j, r);
        T::store(gates + zr + H + j, u);
        T::store(gates + zr + 2 * H + j, cand);
        T::store(cOut + b * H + j, T::fmadd(u, T::sub(cand, cp), cp));  // Γu c~ + (1-Γu) c<t-1>
      });
    }
  });
}

/**
 * GRU backward, dc = dcOut + dcNext (forward: c = Γu c~ + (1-Γu) c<t-1>):
 *   dzc = dc Γu (1 - c~²), dzu = dc (c~ - c<t-1>) Γu(1-Γu), dcPrev = dc (1 - Γu);
 *   'after' (c~ = tanh(xc + Γr hc)): dhw_c = dzc Γr, dzr = dzc hc Γr(1-Γr) into dxw_r and dhw_r;
 *   'before': dhw_c = dzc, the Γr blocks are left to gruResetBackward.
 */
static void k_gru_backward(const double* a, const Exec& e) {
  const bool after = a[0] != 0;
  const long B = ival(a, 1), H = ival(a, 2);
  const float* gates = fptr(a, 3);
  const float* hw = fptr(a, 4);
  const float* bh = fptr(a, 5);
  const float* cPrev = fptr(a, 6);
  const float* dcOut = fptr(a, 7);
  const float* dcNext = fptr(a, 8);
  float* dxw = fptr(a, 9);
  float* dhw = fptr(a, 10);
  float* dcPrev = fptr(a, 11);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const long zr = b * 3 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        using R = typename T::R;
        const R one = T::set1(1.0f);
        const long k = b * H + j;
        R r = T::load(gates + zr + j), u = T::load(gates + zr + H + j), cand = T::load(gates + zr + 2 * H + j);
        R cp = T::load(cPrev + k);
        R dc = T::add(T::load(dcOut + k), T::load(dcNext + k));
        R dzc = T::mul(T::mul(dc, u), T::fnmadd(cand, cand, one));
        R dzu = T::mul(T::mul(dc, T::sub(cand, cp)), T::mul(u, T::sub(one, u)));
        T::store(dcPrev + k, T::mul(dc, T::sub(one, u)));
        T::store(dxw + zr + H + j, dzu);
        T::store(dhw + zr + H + j, dzu);
        T::store(dxw + zr + 2 * H + j, dzc);
        if (after) {
          R hc = T::add(T::load(hw + zr + 2 * H + j), T::load(bh + 2 * H + j));
          R dzr = T::mul(T::mul(dzc, hc), T::mul(r, T::sub(one, r)));
          T::store(dhw + zr + 2 * H + j, T::mul(dzc, r));
          T::store(dxw + zr + j, dzr);
          T::store(dhw + zr + j, dzr);
        } else {
          T::store(dhw + zr + 2 * H + j, dzc);
        }
      });
    }
  });
}

/** GRU reset-before, second half (forward: rc = Γr c<t-1>): dzr = drc c<t-1> Γr(1-Γr) into the Γr blocks; dcPrev += drc Γr. */
static void k_gru_reset_backward(const double* a, const Exec& e) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* gates = fptr(a, 2);
  const float* cPrev = fptr(a, 3);
  const float* drc = fptr(a, 4);
  float* dxw = fptr(a, 5);
  float* dhw = fptr(a, 6);
  float* dcPrev = fptr(a, 7);
  cell_columns(e, B, H, [&](long j0, long j1) {
    for (long b = 0; b < B; ++b) {
      const long zr = b * 3 * H;
      each(j0, j1, [&](auto v, long j) {
        using T = decltype(v);
        using R = typename T::R;
        const long k = b * H + j;
        R r = T::load(gates + zr + j);
        R d = T::load(drc + k);
        R dzr = T::mul(T::mul(d, T::load(cPrev + k)), T::mul(r, T::sub(T::set1(1.0f), r)));
        T::store(dxw + zr + j, dzr);
        T::store(dhw + zr + j, dzr);
        T::store(dcPrev + k, T::fmadd(d, r, T::load(dcPrev + k)));
      });
    }
  });
}

// ---- padding and pooling over time ---------------------------------------------------------------------

/** Padded steps keep the state: rows b with mask[b] = 0 get out (B,H) = prev; the others keep out. */
static void k_hold_forward(const double* a, const Exec&) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* mask = fptr(a, 2);
  const float* prev = fptr(a, 3);
  float* out = fptr(a, 4);
  for (long b = 0; b < B; ++b) {
    if (mask[b] != 0.0f) continue;
    __builtin_memmove(out + b * H, prev + b * H, static_cast<size_t>(H) * 4);
  }
}

/** Backward of holdForward (forward: out = m out + (1-m) prev): dHeld += (1-m) d, then d = m d. */
static void k_hold_backward(const double* a, const Exec&) {
  const long B = ival(a, 0), H = ival(a, 1);
  const float* mask = fptr(a, 2);
  float* d = fptr(a, 3);
  float* dHeld = fptr(a, 4);
  for (long b = 0; b < B; ++b) {
    const float m = mask[b];
    float* db = d + b * H;
    float* dh = dHeld + b * H;
    each(0, H, [&](auto v, long j) {
      using T = decltype(v);
      typename T::R dv = T::load(db + j);
      T::store(dh + j, T::fmadd(T::set1(1.0f - m), dv, T::load(dh + j)));
      T::store(db + j, T::mul(dv, T::set1(m)));
    });
  }
}

/**
 * out (B,H) = mean or max over the unmasked steps of xs (T,B,H) (mask (T,B) or null); an
 * all-padding row gives 0. For max, argmax (B,H) = the first step of each maximum. Once per
 * sequence, so plain loops (t outer, j inner: rows of xs read in order).
 */
static void k_pool_forward(const double* a, const Exec& e) {
  const bool max = a[0] != 0;
  const long T = ival(a, 1), B = ival(a, 2), H = ival(a, 3);
  const float* xs = fptr(a, 4);
  const float* mask = fptr(a, 5);
  float* out = fptr(a, 6);
  int32_t* argmax = iptr(a, 7);
  float* acc = e.scratch(0, 3, static_cast<size_t>(2 * H + 1));
  float* best = acc + H;
  for (long b = 0; b < B; ++b) {
    double count = 0;
    for (long t = 0; t < T; ++t) count += mask == nullptr ? 1.0 : mask[t * B + b];
    for (long j = 0; j < H; ++j) {
      acc[j] = max ? -__builtin_inff() : 0.0f;
      best[j] = 0.0f;
    }
    for (long t = 0; t < T; ++t) {
      if (mask != nullptr && mask[t * B + b] == 0.0f) continue;
      const float* x = xs + (t * B + b) * H;
      if (max) {
        for (long j = 0; j < H; ++j) {
          if (x[j] > acc[j]) {
            acc[j] = x[j];
            best[j] = static_cast<float>(t);
          }
        }
      } else {
        for (long j = 0; j < H; ++j) acc[j] += x[j];
      }
    }
    for (long j = 0; j < H; ++j) {
      out[b * H + j] = count == 0 ? 0.0f : max ? acc[j] : static_cast<float>(acc[j] / count);
      if (argmax != nullptr) argmax[b * H + j] = static_cast<int32_t>(best[j]);
    }
  }
}

/** dxs (T,B,H): mean -> m dOut / count; max -> dOut at the argmax step, 0 elsewhere (0 for an all-padding row). */
static void k_pool_backward(const double* a, const Exec&) {
  const bool max = a[0] != 0;
  const long T = ival(a, 1), B = ival(a, 2), H = ival(a, 3);
  const float* dOut = fptr(a, 4);
  const float* mask = fptr(a, 5);
  const int32_t* argmax = iptr(a, 6);
  float* dxs = fptr(a, 7);
  for (long b = 0; b < B; ++b) {
    double count = 0;
    for (long t = 0; t < T; ++t) count += mask == nullptr ? 1.0 : mask[t * B + b];
    const float* g = dOut + b * H;
    for (long t = 0; t < T; ++t) {
      const float m = mask == nullptr ? 1.0f : mask[t * B + b];
      float* dx = dxs + (t * B + b) * H;
      for (long j = 0; j < H; ++j) {
        if (max) dx[j] = count > 0 && argmax[b * H + j] == t ? g[j] : 0.0f;
        else dx[j] = count == 0 ? 0.0f : static_cast<float>((m * g[j]) / count);
      }
    }
  }
}

// ---- embedding ----------------------------------------------------------------------------------------------

/** out (N,D) = table (V,D) rows at ids (N). */
static void k_gather(const double* a, const Exec& e) {
  const long N = ival(a, 0), D = ival(a, 1);
  const float* table = fptr(a, 2);
  const int32_t* ids = iptr(a, 3);
  float* out = fptr(a, 4);
  parallel_range(e, N, GRAIN_COPY / (D > 0 ? D : 1) + 1, 1, [&](long b, long en, int) {
    for (long r = b; r < en; ++r) __builtin_memcpy(out + r * D, table + static_cast<long>(ids[r]) * D, static_cast<size_t>(D) * 4);
  });
}

/** dTable (V,D) rows at ids += dOut (N,D), rows in order; threads split the D columns. */
static void k_scatter_add(const double* a, const Exec& e) {
  const long N = ival(a, 0), D = ival(a, 1);
  const float* dOut = fptr(a, 2);
  const int32_t* ids = iptr(a, 3);
  float* dTable = fptr(a, 4);
  parallel_range(e, D, GRAIN_COPY / (N > 0 ? N : 1) + 1, 64, [&](long d0, long d1, int) {
    for (long r = 0; r < N; ++r) {
      float* row = dTable + static_cast<long>(ids[r]) * D;
      const float* src = dOut + r * D;
      each(d0, d1, [&](auto v, long i) {
        using T = decltype(v);
        T::store(row + i, T::add(T::load(row + i), T::load(src + i)));
      });
    }
  });
}

// ---- losses and probabilities -------------------------------------------------------------------------------

/** max of x[0..n). */
static float row_max(const float* x, long n) {
  typename V::R m = V::set1(-__builtin_inff());
  long i = 0;
  for (; i + V::W <= n; i += V::W) m = V::max(V::load(x + i), m);
  float best = V::hmax(m);
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

/** Σ e^(s x_i - shift) over a row, storing each term in out (when given). */
static float row_exp_sum(const float* x, long n, float s, float shift, float* out) {
  typename V::R acc = V::zero();
  float tail = 0.0f;
  each(0, n, [&](auto v, long i) {
    using T = decltype(v);
    typename T::R t = vexp<T>(T::fmadd(T::load(x + i), T::set1(s), T::set1(-shift)));
    if (out != nullptr) T::store(out + i, t);
    if constexpr (T::W == V::W) acc = V::add(acc, t);
    else tail += T::sum(t);
  });
  return V::sum(acc) + tail;
}

/**
 * Softmax cross-entropy, one pass per row: losses (N) = -mask log softmax(z)[target] (0 where mask
 * is 0); dLogits (N,V) = gradScale mask (softmax(z) - onehot(target)) when given.
 */
static void k_softmax_ce(const double* a, const Exec& e) {
  const long N = ival(a, 0), Vn = ival(a, 1);
  const float* logits = fptr(a, 2);
  const int32_t* targets = iptr(a, 3);
  const float* mask = fptr(a, 4);
  float* losses = fptr(a, 5);
  float* dLogits = fptr(a, 6);
  const double gradScale = a[7];
  parallel_range(e, N, GRAIN_STEP / (Vn > 0 ? Vn : 1) + 1, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; ++r) {
      const float* z = logits + r * Vn;
      const float m = mask == nullptr ? 1.0f : mask[r];
      const float max = row_max(z, Vn);
      float* d = dLogits == nullptr ? nullptr : dLogits + r * Vn;
      const float sum = row_exp_sum(z, Vn, 1.0f, max, d);  // d holds e^(z - max) for now
      const double logSum = static_cast<double>(max) + __builtin_log(static_cast<double>(sum));
      const long y = targets[r];
      losses[r] = m == 0.0f ? 0.0f : static_cast<float>(m * (logSum - z[y]));
      if (d != nullptr) {
        const float s = static_cast<float>(gradScale * m);
        const float scale = static_cast<float>(gradScale * m / sum);
        each(0, Vn, [&](auto v, long i) {
          using T = decltype(v);
          T::store(d + i, T::mul(T::load(d + i), T::set1(scale)));
        });
        d[y] -= s;
      }
    }
  });
}

static double softplus(double x) { return x > 0 ? x + __builtin_log1p(__builtin_exp(-x)) : __builtin_log1p(__builtin_exp(x)); }
static double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + __builtin_exp(-x)) : __builtin_exp(x) / (1 + __builtin_exp(x)); }

/**
 * Sigmoid binary cross-entropy on n logits: losses = mask (y softplus(-z) + (1-y) softplus(z)),
 * dLogits = gradScale mask (σ(z) - y). Scalar, in double: a per-step loss of a few values.
 */
static void k_sigmoid_ce(const double* a, const Exec&) {
  const long n = ival(a, 0);
  const float* logits = fptr(a, 1);
  const float* targets = fptr(a, 2);
  const float* mask = fptr(a, 3);
  float* losses = fptr(a, 4);
  float* dLogits = fptr(a, 5);
  const double gradScale = a[6];
  for (long i = 0; i < n; ++i) {
    const double z = logits[i], y = targets[i], m = mask == nullptr ? 1.0 : mask[i];
    losses[i] = m == 0 ? 0.0f : static_cast<float>(m * (y * softplus(-z) + (1 - y) * softplus(z)));
    if (dLogits != nullptr) dLogits[i] = static_cast<float>(gradScale * m * (sigmoid_d(z) - y));
  }
}

/** probs (N,V) = softmax(logits * invTemperature) per row. */
static void k_softmax(const double* a, const Exec& e) {
  const long N = ival(a, 0), Vn = ival(a, 1);
  const float* logits = fptr(a, 2);
  float* probs = fptr(a, 3);
  const float invT = fval(a, 4);
  parallel_range(e, N, GRAIN_STEP / (Vn > 0 ? Vn : 1) + 1, 1, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; ++r) {
      const float* z = logits + r * Vn;
      float* p = probs + r * Vn;
      // max of z*invT: the max of z scaled (invT > 0), or the min for a negative one.
      float max = -__builtin_inff();
      for (long i = 0; i < Vn; ++i) max = z[i] * invT > max ? z[i] * invT : max;
      const float inv = 1.0f / row_exp_sum(z, Vn, invT, max, p);
      each(0, Vn, [&](auto v, long i) {
        using T = decltype(v);
        T::store(p + i, T::mul(T::load(p + i), T::set1(inv)));
      });
    }
  });
}

// ---- reductions, clipping, optimizers -------------------------------------------------------------------------

/** Σ f(x_i) over [b, e): float vector lanes over blocks of 1024, blocks added in double. */
template <bool Squares>
static double block_sum(const float* x, long b, long e) {
  double total = 0;
  for (long s = b; s < e; s += 1024) {
    const long end = lmin(e, s + 1024);
    typename V::R acc = V::zero();
    float tail = 0.0f;
    each(s, end, [&](auto v, long i) {
      using T = decltype(v);
      typename T::R xv = T::load(x + i);
      typename T::R t = Squares ? T::mul(xv, xv) : xv;
      if constexpr (T::W == V::W) acc = V::add(acc, t);
      else tail += T::sum(t);
    });
    total += static_cast<double>(V::sum(acc)) + tail;
  }
  return total;
}

template <bool Squares>
static void k_reduce(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  const float* x = fptr(a, 1);
  float* out = fptr(a, 2);
  double partial[64] = {0};
  parallel_range(e, n, GRAIN_COPY, 1024, [&](long b, long en, int t) { partial[t] = block_sum<Squares>(x, b, en); });
  double total = 0;
  for (int t = 0; t < 64; ++t) total += partial[t];  // fixed order: deterministic for a thread count
  out[0] = static_cast<float>(total);
}

/** x *= min(1, maxNorm / sqrt(sumSq[0])); a NaN norm leaves x as it is. */
static void k_clip_by_norm(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* x = fptr(a, 1);
  const double norm = __builtin_sqrt(static_cast<double>(fptr(a, 2)[0]));
  const double maxNorm = a[3];
  if (!(norm > maxNorm)) return;
  const float f = static_cast<float>(maxNorm / norm);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      T::store(x + i, T::mul(T::load(x + i), T::set1(f)));
    });
  });
}

/** x = clamp(x, -limit, limit); NaN stays NaN. */
static void k_clip_by_value(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* x = fptr(a, 1);
  const float limit = fval(a, 2);
  parallel_range(e, n, GRAIN_COPY, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      // max(lo, x) and min(hi, x) give x when x is NaN (see simd.h)
      T::store(x + i, T::min(T::set1(limit), T::max(T::set1(-limit), T::load(x + i))));
    });
  });
}

/** SGD with momentum: g' = g + λ p; v = μ v + g'; p -= lr (nesterov ? g' + μ v : v). */
static void k_sgd_step(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* p = fptr(a, 1);
  const float* g = fptr(a, 2);
  float* vel = fptr(a, 3);
  const float lr = fval(a, 4), mu = fval(a, 5), wd = fval(a, 6);
  const bool nesterov = a[7] != 0;
  parallel_range(e, n, GRAIN_STEP, 64, [&](long b, long en, int) {
    each(b, en, [&](auto v, long i) {
      using T = decltype(v);
      using R = typename T::R;
      R pv = T::load(p + i);
      R grad = T::fmadd(T::set1(wd), pv, T::load(g + i));
      R vv = T::fmadd(T::set1(mu), T::load(vel + i), grad);
      T::store(vel + i, vv);
      R step = nesterov ? T::fmadd(T::set1(mu), vv, grad) : vv;
      T::store(p + i, T::fnmadd(T::set1(lr), step, pv));
    });
  });
}

/**
 * Adam / AdamW: g' = g (+ λ p for Adam's L2); m = β1 m + (1-β1) g'; v = β2 v + (1-β2) g'²;
 * p -= lr (m/c1 / (sqrt(v/c2) + ε) + (AdamW: λ p)), c = 1 - β^step.
 */
static void k_adam_step(const double* a, const Exec& e) {
  const long n = ival(a, 0);
  float* p = fptr(a, 1);
  const float* g = fptr(a, 2);
  float* m = fptr(a, 3);
  float* vv = fptr(a, 4);
  const double lr = a[5], beta1 = a[6], beta2 = a[7], eps = a[8], wd = a[9];
  const bool decoupled = a[10] != 0;
  const double step = a[11];
  const float b1 = static_cast<float>(beta1), ob1 = static_cast<float>(1 - beta1);
  const float b2 = static_cast<float>(beta2), ob2 = static_cast<float>(1 - beta2);
  const float ic1 = static_cast<float>(1 / (1 - __builtin_pow(beta1, step)));
  const float ic2 = static_cast<float>(1 / (1 - __builtin_pow(beta2, step)));
  const float l2 = decoupled ? 0.0f : static_cast<float>(wd), decay = decoupled ? static_cast<float>(wd) : 0.0f;
  const float flr = static_cast<float>(lr), feps = static_cast<float>(eps);
  parallel_range(e, n, GRAIN_STEP, 64, [&](long b, long en, int) {
    each(b, en, [&](auto tag, long i) {
      using T = decltype(tag);
      using R = typename T::R;
      R pv = T::load(p + i);
      R grad = T::fmadd(T::set1(l2), pv, T::load(g + i));
      R mv = T::fmadd(T::set1(b1), T::load(m + i), T::mul(T::set1(ob1), grad));
      R v2 = T::fmadd(T::set1(b2), T::load(vv + i), T::mul(T::set1(ob2), T::mul(grad, grad)));
      T::store(m + i, mv);
      T::store(vv + i, v2);
      R update = T::div(T::mul(mv, T::set1(ic1)), T::add(T::sqrt(T::mul(v2, T::set1(ic2))), T::set1(feps)));
      update = T::fmadd(T::set1(decay), pv, update);
      T::store(p + i, T::fnmadd(T::set1(flr), update, pv));
    });
  });
}

// ---- the table ------------------------------------------------------------------------------------------------

static KernelTable make_table(const char* isa) {
  KernelTable t{};
  t.isa = isa;
  t.kernels[OP_GEMM] = &gemm<V>;
  t.kernels[OP_FILL] = &k_fill;
  t.kernels[OP_COPY] = &k_copy;
  t.kernels[OP_AXPY] = &k_axpy;
  t.kernels[OP_SCALE] = &k_scale;
  t.kernels[OP_MUL] = &k_mul;
  t.kernels[OP_ADD_BIAS] = &k_add_bias;
  t.kernels[OP_BIAS_GRAD] = &k_bias_grad;
  t.kernels[OP_ACTIVATION] = &k_activation;
  t.kernels[OP_ACTIVATION_BACKWARD] = &k_activation_backward;
  t.kernels[OP_RNN_FORWARD] = &k_rnn_forward;
  t.kernels[OP_RNN_BACKWARD] = &k_rnn_backward;
  t.kernels[OP_LSTM_FORWARD] = &k_lstm_forward;
  t.kernels[OP_LSTM_BACKWARD] = &k_lstm_backward;
  t.kernels[OP_GRU_RESET_FORWARD] = &k_gru_reset_forward;
  t.kernels[OP_GRU_FORWARD] = &k_gru_forward;
  t.kernels[OP_GRU_BACKWARD] = &k_gru_backward;
  t.kernels[OP_GRU_RESET_BACKWARD] = &k_gru_reset_backward;
  t.kernels[OP_HOLD_FORWARD] = &k_hold_forward;
  t.kernels[OP_HOLD_BACKWARD] = &k_hold_backward;
  t.kernels[OP_POOL_FORWARD] = &k_pool_forward;
  t.kernels[OP_POOL_BACKWARD] = &k_pool_backward;
  t.kernels[OP_GATHER] = &k_gather;
  t.kernels[OP_SCATTER_ADD] = &k_scatter_add;
  t.kernels[OP_SOFTMAX_CE] = &k_softmax_ce;
  t.kernels[OP_SIGMOID_CE] = &k_sigmoid_ce;
  t.kernels[OP_SOFTMAX] = &k_softmax;
  t.kernels[OP_SUM] = &k_reduce<false>;
  t.kernels[OP_SUM_SQUARES] = &k_reduce<true>;
  t.kernels[OP_CLIP_BY_NORM] = &k_clip_by_norm;
  t.kernels[OP_CLIP_BY_VALUE] = &k_clip_by_value;
  t.kernels[OP_SGD_STEP] = &k_sgd_step;
  t.kernels[OP_ADAM_STEP] = &k_adam_step;
  return t;
}
