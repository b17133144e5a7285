// The kernels compiled for one instruction set (avx512): see kernels.h. binding.gyp gives this file
// its own -m flags; nothing in it may run before the loader has checked that the CPU has them.
#include <immintrin.h>

#include <cstdint>

#include "common.h"
#define RECUR_HAVE_AVX512 1

namespace recur {
namespace avx512 {
namespace {
#include "simd.h"
using V = Avx512;
#include "kernels.h"
}  // namespace
}  // namespace avx512

const KernelTable* avx512_table() {
  static const KernelTable table = avx512::make_table("avx512");
  return &table;
}

}  // namespace recur
