// The kernels compiled for one instruction set (scalar): see kernels.h. binding.gyp gives this file
// its own -m flags; nothing in it may run before the loader has checked that the CPU has them.
#include <immintrin.h>

#include <cstdint>

#include "common.h"


namespace recur {
namespace scalar {
namespace {
#include "simd.h"
using V = Scalar;
#include "kernels.h"
}  // namespace
}  // namespace scalar

const KernelTable* scalar_table() {
  static const KernelTable table = scalar::make_table("scalar");
  return &table;
}

}  // namespace recur
