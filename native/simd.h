// The handful of vector primitives every kernel is written on, for three instruction sets:
//
//   Scalar   one float per "vector": the scalar twin of every SIMD routine, and the leftovers
//            part of every loop (so the leftovers compute exactly what the scalar path computes)
//   Avx2     8 floats (__m256), with FMA
//   Avx512   16 floats (__m512), AVX-512F
//
// A kernel is a template over one of these types (`template <class V>`); the same source is
// compiled once per instruction set in its own translation unit (isa_*.cc). This header is
// included inside that unit's namespace, so nothing here is shared between units (no ODR merging
// of code compiled with different -m flags).
//
// Semantics shared by all three (so the twins agree):
//   max(a, b) = a > b ? a : b,  min(a, b) = a < b ? a : b   (x86: a NaN in a gives b, a NaN in b gives b)
//   fmadd(a, b, c) = a*b + c    (fused on AVX2 / AVX-512; two roundings on Scalar)
//   select(m, a, b) = m ? a : b
//   transpose(r): the W x W block whose row i is r[i] becomes its transpose (r[j] = column j)
//   store_n(p, x, n): the first n lanes of x to p[0..n), nothing else written

struct Scalar {
  using R = float;
  using M = bool;
  static constexpr int W = 1;
  static R zero() { return 0.0f; }
  static R set1(float x) { return x; }
  static R load(const float* p) { return *p; }
  static void store(float* p, R x) { *p = x; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) { return a * b; }
  static R div(R a, R b) { return a / b; }
  static R fmadd(R a, R b, R c) { return a * b + c; }
  static R fnmadd(R a, R b, R c) { return c - a * b; }
  static R max(R a, R b) { return a > b ? a : b; }
  static R min(R a, R b) { return a < b ? a : b; }
  static R sqrt(R a) { return __builtin_sqrtf(a); }
  static R abs(R a) { return bits(bitsof(a) & 0x7fffffffu); }
  /** a with its sign bit flipped where s has its sign bit set. */
  static R xorsign(R a, R s) { return bits(bitsof(a) ^ (bitsof(s) & 0x80000000u)); }
  static M lt(R a, R b) { return a < b; }
  static R select(M m, R a, R b) { return m ? a : b; }
  /** Round to the nearest integer (ties to even), for |x| < 2^22. */
  static R round(R x) {
    const float magic = 12582912.0f; // 1.5 * 2^23: the addition rounds x to an integer
    float t = x + magic;
    return t - magic;
  }
  /** 2^n for an integral n in [-126, 127] held in a float. */
  static R pow2n(R n) { return bits(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23); }
  static float sum(R a) { return a; }
  static float hmax(R a) { return a; }
  static void transpose(R (&)[W]) {}
  static void store_n(float* p, R x, int n) {
    if (n > 0) *p = x;
  }

 private:
  static uint32_t bitsof(float x) {
    uint32_t u;
    __builtin_memcpy(&u, &x, 4);
    return u;
  }
  static float bits(uint32_t u) {
    float x;
    __builtin_memcpy(&x, &u, 4);
    return x;
  }
};

#if defined(RECUR_HAVE_AVX2)
struct Avx2 {
  using R = __m256;
  using M = __m256;
  static constexpr int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R x) { _mm256_storeu_ps(p, x); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R fnmadd(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R sqrt(R a) { return _mm256_sqrt_ps(a); }
  static R abs(R a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static R xorsign(R a, R s) { return _mm256_xor_ps(a, _mm256_and_ps(s, _mm256_set1_ps(-0.0f))); }
  static M lt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static R select(M m, R a, R b) { return _mm256_blendv_ps(b, a, m); }
  static R round(R x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2n(R n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static float sum(R a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(R a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /** 8 x 8: interleave pairs of rows, then pairs of pairs (4 x 4 within each 128-bit half), then swap halves. */
  static void transpose(R (&r)[W]) {
    R t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
      t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
      t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
      u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
      u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
      u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
      u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    // u[k + m] holds columns m (low half) and 4 + m (high half) of rows k..k+3.
    for (int m = 0; m < 4; ++m) {
      r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
      r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
  }
  static void store_n(float* p, R x, int n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes), x);
  }
};
#endif

#if defined(RECUR_HAVE_AVX512)
struct Avx512 {
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnmadd(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R sqrt(R a) { return _mm512_sqrt_ps(a); }
  static R abs(R a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
  }
  static R xorsign(R a, R s) {
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), sign));
  }
  static M lt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static R select(M m, R a, R b) { return _mm512_mask_blend_ps(m, b, a); }
  static R round(R x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2n(R n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static float sum(R a) { return _mm512_reduce_add_ps(a); }
  static float hmax(R a) { return _mm512_reduce_max_ps(a); }
  /**
   * 16 x 16: interleave pairs of rows, then pairs of pairs (4 x 4 within each 128-bit lane), then
   * gather lane l of four row groups twice (0x88 takes lanes 0 and 2, 0xDD lanes 1 and 3).
   */
  static void transpose(R (&r)[W]) {
    R t[16], u[16];
    for (int k = 0; k < 16; k += 2) {
      t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
      t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 16; k += 4) {
      u[k] = _mm512_shuffle_ps(t[k], t[k + 2], 0x44);
      u[k + 1] = _mm512_shuffle_ps(t[k], t[k + 2], 0xEE);
      u[k + 2] = _mm512_shuffle_ps(t[k + 1], t[k + 3], 0x44);
      u[k + 3] = _mm512_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    // u[k + m], lane l: column 4l + m of rows k..k+3.
    for (int m = 0; m < 4; ++m) {
      const R v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88), v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
      const R w0 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
      r[m] = _mm512_shuffle_f32x4(v0, w0, 0x88);
      r[4 + m] = _mm512_shuffle_f32x4(v1, w1, 0x88);
      r[8 + m] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
      r[12 + m] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
  }
  static void store_n(float* p, R x, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x); }
};
#endif

// ---- transcendental functions on the primitives --------------------------------------------------
// Cephes' single-precision expf and tanhf, on vectors. Measured against the float64 reference on
// every float in [-20, 20] step 2^-12 plus the extremes (see test/conformance/native.test.ts):
// exp within 2 ulps relative; tanh and sigmoid within 2 ulps of 1 (absolute), which the
// conformance tolerances (4 ulps for activations, 16 / 64 for the cells) leave room for.

/** e^x: x clamped to [ln 2^-126, 88.376] (saturating above), 0 below; NaN stays NaN. */
template <class V>
static inline typename V::R vexp(typename V::R x) {
  using R = typename V::R;
  const R lo = V::set1(-87.33654475f);
  typename V::M under = V::lt(x, lo);
  x = V::min(V::set1(88.3762626647949f), V::max(lo, x));
  R n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  R r = V::fnmadd(n, V::set1(0.693359375f), x); // x - n ln2, in two parts (Cody-Waite)
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  R p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f))); // e^r = 1 + r + r² P(r)
  return V::select(under, V::zero(), V::mul(p, V::pow2n(n)));
}

/** σ(x) = 1 / (1 + e^-x). */
template <class V>
static inline typename V::R vsigmoid(typename V::R x) {
  const typename V::R one = V::set1(1.0f);
  return V::div(one, V::add(one, vexp<V>(V::sub(V::zero(), x))));
}

/** tanh(x): an odd polynomial below |x| = 0.625, 1 - 2/(e^2|x| + 1) above, with x's sign. */
template <class V>
static inline typename V::R vtanh(typename V::R x) {
  using R = typename V::R;
  R ax = V::abs(x);
  R z = V::mul(x, x);
  R p = V::set1(-5.70498872745e-3f);
  p = V::fmadd(p, z, V::set1(2.06390887954e-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531e-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036e-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422e-1f));
  R small = V::fmadd(V::mul(p, z), x, x);
  const R one = V::set1(1.0f);
  R e = vexp<V>(V::add(ax, ax));
  R large = V::xorsign(V::sub(one, V::div(V::set1(2.0f), V::add(e, one))), x);
  return V::select(V::lt(ax, V::set1(0.625f)), small, large);
}
