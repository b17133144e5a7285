// What the addon's translation units share: the operation codes, the argument convention and the
// execution context. Plain declarations only (no inline code), because the per-ISA units are
// compiled with different -m flags and must not share any compiled function.
#pragma once
#include <cstddef>
#include <cstdint>

namespace recur {

// One code per kernel of the `Kernels` interface that does arithmetic. The TypeScript side
// (src/kernels/native/index.ts) writes the arguments listed here into the shared argument block and
// calls run(op). Buffers are passed as byte addresses (exact in a double: x86-64 addresses are
// below 2^48), null buffers as 0, booleans as 0 / 1.
#define RECUR_OPS(X)                                                                                 \
  X(GEMM)                /* transA transB m n k alpha A lda B ldb beta C ldc */                         \
  X(FILL)                /* n x value */                                                              \
  X(COPY)                /* rows cols src ldSrc dst ldDst */                                          \
  X(AXPY)                /* n alpha x y */                                                            \
  X(SCALE)               /* n x alpha */                                                              \
  X(MUL)                 /* n x y */                                                                  \
  X(ADD_BIAS)            /* rows cols x bias */                                                       \
  X(BIAS_GRAD)           /* rows cols dy dBias */                                                     \
  X(ACTIVATION)          /* kind n x y            kind: 0 identity, 1 tanh, 2 sigmoid, 3 relu */      \
  X(ACTIVATION_BACKWARD) /* kind n y dy dx */                                                         \
  X(RNN_FORWARD)         /* B H z a */                                                                \
  X(RNN_BACKWARD)        /* B H a daOut daNext dz */                                                  \
  X(LSTM_FORWARD)        /* B H z cPrev peep gates c a */                                             \
  X(LSTM_BACKWARD)       /* B H gates cPrev c peep daOut daNext dcNext dz dcPrev dPeep */             \
  X(GRU_RESET_FORWARD)   /* B H xw hw bh cPrev rc */                                                  \
  X(GRU_FORWARD)         /* after B H xw hw bh cPrev gates c */                                       \
  X(GRU_BACKWARD)        /* after B H gates hw bh cPrev dcOut dcNext dxw dhw dcPrev */                \
  X(GRU_RESET_BACKWARD)  /* B H gates cPrev drc dxw dhw dcPrev */                                     \
  X(HOLD_FORWARD)        /* B H mask prev out */                                                      \
  X(HOLD_BACKWARD)       /* B H mask d dHeld */                                                       \
  X(POOL_FORWARD)        /* kind T B H xs mask out argmax        kind: 0 mean, 1 max */               \
  X(POOL_BACKWARD)       /* kind T B H dOut mask argmax dxs */                                        \
  X(GATHER)              /* N D table ids out */                                                      \
  X(SCATTER_ADD)         /* N D dOut ids dTable */                                                    \
  X(SOFTMAX_CE)          /* N V logits targets mask losses dLogits gradScale */                       \
  X(SIGMOID_CE)          /* n logits targets mask losses dLogits gradScale */                         \
  X(SOFTMAX)             /* N V logits probs invTemperature */                                        \
  X(SUM)                 /* n x out */                                                                \
  X(SUM_SQUARES)         /* n x out */                                                                \
  X(CLIP_BY_NORM)        /* n x sumSq maxNorm */                                                      \
  X(CLIP_BY_VALUE)       /* n x limit */                                                              \
  X(SGD_STEP)            /* n p g velocity lr momentum weightDecay nesterov */                        \
  X(ADAM_STEP)           /* n p g m v lr beta1 beta2 eps weightDecay decoupled step */

enum Op : int {
#define RECUR_OP_ENUM(name) OP_##name,
  RECUR_OPS(RECUR_OP_ENUM)
#undef RECUR_OP_ENUM
  OP_COUNT
};

/** How a kernel may run: its thread budget, the pool, and per-thread scratch memory. */
struct Exec {
  /** Threads this call may use, the calling thread included (>= 1). */
  int threads;
  /**
   * Runs fn(ctx, t) for t in [0, n) (n <= 32 parts) on at most `threads` threads and returns when all
   * are done. Part t normally runs on thread t % threads (t = 0 on the calling thread); a part whose
   * thread is late is run by another.
   */
  void (*parallel)(int n, void (*fn)(void* ctx, int t), void* ctx);
  /** Thread t's scratch buffer number `slot` (0..4), at least `floats` floats, 64-byte aligned; grows rarely. */
  float* (*scratch)(int t, int slot, size_t floats);
};

/** A kernel: reads its arguments (see RECUR_OPS) and runs. */
using Kernel = void (*)(const double* args, const Exec& exec);

/** The kernels of one instruction set, indexed by Op. */
struct KernelTable {
  const char* isa;
  Kernel kernels[OP_COUNT];
};

// One table per instruction set, each defined in its own translation unit.
const KernelTable* scalar_table();
const KernelTable* avx2_table();
const KernelTable* avx512_table();

}  // namespace recur
