// The kernels compiled for one instruction set (avx2): see kernels.h. binding.gyp gives this file
// its own -m flags; nothing in it may run before the loader has checked that the CPU has them.
#include <immintrin.h>

#include <cstdint>

#include "common.h"
#define RECUR_HAVE_AVX2 1

namespace recur {
namespace avx2 {
namespace {
#include "simd.h"
using V = Avx2;
#include "kernels.h"
}  // namespace
}  // namespace avx2

const KernelTable* avx2_table() {
  static const KernelTable table = avx2::make_table("avx2");
  return &table;
}

}  // namespace recur
