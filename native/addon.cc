// The Node-API face of the native backend (src/kernels/native/index.ts is the other side).
//
//   alloc(bytes) -> [owner, address]   64-byte aligned, zero-filled memory owned by the addon; the
//                                      owner (an External) frees it when garbage collected, unless
//                                      free(owner) did already. The address travels as a double.
//   free(owner)                        releases the memory now.
//   write(address, typedArray)         copies host data in;  read(address, typedArray) copies it out.
//   setArgs(Float64Array)              the argument block every kernel call reads (kept referenced).
//   run(op)                            runs kernel `op` (common.h) with the arguments in the block:
//                                      block[0] = instruction set index, block[1] = threads,
//                                      block[2..] = the kernel's arguments.
//   configure(threads, spinMicros)     sizes the pool (grows only) and sets the workers' spin time.
//   info()                             the instruction sets this CPU runs, the default, pool size.
//
// This file is compiled for any x86-64 (no -m flags): it checks the CPU before it touches a table
// compiled for AVX2 or AVX-512.
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common.h"
#include "pool.h"

namespace recur {
namespace {

// ---- instruction sets ----------------------------------------------------------------------------------

enum Isa { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_COUNT = 3 };
const char* const kIsaNames[ISA_COUNT] = {"scalar", "avx2", "avx512"};

bool isa_supported(int isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (isa) {
    case ISA_SCALAR: return true;
    case ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case ISA_AVX512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return false;
  }
#else
  return isa == ISA_SCALAR;
#endif
}

const KernelTable* tables[ISA_COUNT] = {nullptr, nullptr, nullptr};

const KernelTable* table_for(int isa) {
  if (isa < 0 || isa >= ISA_COUNT || !isa_supported(isa)) return nullptr;
  if (tables[isa] == nullptr) {
    tables[isa] = isa == ISA_AVX512 ? avx512_table() : isa == ISA_AVX2 ? avx2_table() : scalar_table();
  }
  return tables[isa];
}

// ---- threads and scratch ----------------------------------------------------------------------------------

std::unique_ptr<Pool> pool;
int spinMicros = 200;

/** The pool, made (or grown) to at least `threads` threads. Grown only from configure() or the first run. */
Pool& the_pool(int threads) {
  if (threads > 32) threads = 32;
  if (!pool || pool->size() < threads) {
    pool.reset();  // joins the old workers
    pool.reset(new Pool(threads));
    pool->set_spin_us(spinMicros);
  }
  return *pool;
}

/** The running kernel call's thread budget: its parts (there may be more) run on at most this many threads. */
int callThreads = 1;

void pool_parallel(int n, void (*fn)(void*, int), void* ctx) { pool->run(n, callThreads, fn, ctx); }

/** Per-thread, per-slot aligned scratch; grows (rarely) to the largest size asked for. */
struct Scratch {
  float* data[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  size_t capacity[5] = {0, 0, 0, 0, 0};
  ~Scratch() {
    for (float* p : data) std::free(p);
  }
};
thread_local Scratch scratch;

float* scratch_for(int /*t: each OS thread has its own*/, int slot, size_t floats) {
  if (scratch.capacity[slot] < floats) {
    std::free(scratch.data[slot]);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes) != 0) std::abort();
    scratch.data[slot] = static_cast<float*>(p);
    scratch.capacity[slot] = floats;
  }
  return scratch.data[slot];
}

// ---- memory -------------------------------------------------------------------------------------------------

struct Block {
  void* ptr;
  size_t bytes;
};

void release(Napi::Env env, Block* block) {
  if (block->ptr != nullptr) {
    std::free(block->ptr);
    Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(block->bytes));
  }
  delete block;
}

double address_of(const void* p) { return static_cast<double>(reinterpret_cast<uintptr_t>(p)); }
void* pointer_of(const Napi::Value& v) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().DoubleValue()));
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double requested = info[0].As<Napi::Number>().DoubleValue();
  const size_t bytes = (static_cast<size_t>(requested > 0 ? requested : 0) + 63) / 64 * 64 + 64;
  void* p = nullptr;
  if (posix_memalign(&p, 64, bytes) != 0 || p == nullptr) {
    Napi::Error::New(env, "native: out of memory allocating " + std::to_string(bytes) + " bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::memset(p, 0, bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  Block* block = new Block{p, bytes};
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::External<Block>::New(env, block, release));
  out.Set(1u, Napi::Number::New(env, address_of(p)));
  return out;
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Block* block = info[0].As<Napi::External<Block>>().Data();
  if (block->ptr != nullptr) {
    std::free(block->ptr);
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -static_cast<int64_t>(block->bytes));
    block->ptr = nullptr;
  }
  return info.Env().Undefined();
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  void* dst = pointer_of(info[0]);
  Napi::TypedArray src = info[1].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(src.ArrayBuffer().Data()) + src.ByteOffset();
  std::memcpy(dst, data, src.ByteLength());
  return info.Env().Undefined();
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  const void* src = pointer_of(info[0]);
  Napi::TypedArray dst = info[1].As<Napi::TypedArray>();
  uint8_t* data = static_cast<uint8_t*>(dst.ArrayBuffer().Data()) + dst.ByteOffset();
  std::memcpy(data, src, dst.ByteLength());
  return info.Env().Undefined();
}

// ---- kernel calls --------------------------------------------------------------------------------------------

/** Per JS thread (Node-API environment): the argument block. */
struct Instance {
  Napi::Reference<Napi::Float64Array> argsRef;
  const double* args = nullptr;
};

Napi::Value SetArgs(const Napi::CallbackInfo& info) {
  Napi::Float64Array block = info[0].As<Napi::Float64Array>();
  Instance* instance = info.Env().GetInstanceData<Instance>();
  instance->argsRef = Napi::Persistent(block);
  instance->args = block.Data();
  return info.Env().Undefined();
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  const int op = info[0].As<Napi::Number>().Int32Value();
  const double* args = info.Env().GetInstanceData<Instance>()->args;
  const KernelTable* table = table_for(static_cast<int>(args[0]));
  if (table == nullptr || op < 0 || op >= OP_COUNT) {
    Napi::Error::New(info.Env(), "native: bad kernel call (op " + std::to_string(op) + ", isa " + std::to_string(args[0]) + ")")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int threads = static_cast<int>(args[1]);
  if (threads < 1) threads = 1;
  if (!pool) the_pool(threads);
  if (threads > pool->size()) threads = pool->size();
  callThreads = threads;
  const Exec exec{threads, &pool_parallel, &scratch_for};
  table->kernels[op](args + 2, exec);
  return info.Env().Undefined();
}

Napi::Value Configure(const Napi::CallbackInfo& info) {
  const int threads = info[0].As<Napi::Number>().Int32Value();
  spinMicros = info[1].As<Napi::Number>().Int32Value();
  Pool& p = the_pool(threads < 1 ? 1 : threads);
  p.set_spin_us(spinMicros);
  return Napi::Number::New(info.Env(), p.size());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array isas = Napi::Array::New(env);
  uint32_t count = 0;
  int best = ISA_SCALAR;
  for (int i = 0; i < ISA_COUNT; ++i) {
    if (isa_supported(i)) {
      isas.Set(count++, Napi::String::New(env, kIsaNames[i]));
      best = i;
    }
  }
  out.Set("isas", isas);
  out.Set("best", Napi::String::New(env, kIsaNames[best]));
  out.Set("poolThreads", Napi::Number::New(env, pool ? pool->size() : 0));
  Napi::Array ops = Napi::Array::New(env);
  uint32_t i = 0;
#define RECUR_OP_NAME(name) ops.Set(i++, Napi::String::New(env, #name));
  RECUR_OPS(RECUR_OP_NAME)
#undef RECUR_OP_NAME
  out.Set("ops", ops);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Instance());
  exports.Set("alloc", Napi::Function::New(env, Alloc, "alloc"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
  exports.Set("setArgs", Napi::Function::New(env, SetArgs, "setArgs"));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("configure", Napi::Function::New(env, Configure, "configure"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace
}  // namespace recur

static Napi::Object InitRecurNative(Napi::Env env, Napi::Object exports) { return recur::Init(env, exports); }

NODE_API_MODULE(recur_native, InitRecurNative)
