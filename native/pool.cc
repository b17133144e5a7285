#include "pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#else
static inline void cpu_relax() {}
#endif

namespace recur {

Pool::Pool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void Pool::help(uint64_t tag, int own) {
  uint64_t cur = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((cur >> 40) != tag) return;
    const uint32_t parts = static_cast<uint32_t>(cur >> 32) & 0xff;
    const uint32_t taken = static_cast<uint32_t>(cur);
    const uint32_t all = parts >= 32 ? 0xffffffffu : (1u << parts) - 1;
    const uint32_t free = all & ~taken;
    if (free == 0) return;
    // Its own parts first, in order (so a thread keeps working on the same rows of a weight matrix,
    // which stay in its core's cache from one time step to the next), then the last part still
    // unclaimed (the end of another thread's share, which that thread would reach last).
    const int stride = threads_.load(std::memory_order_relaxed);
    uint32_t mine = 0;
    for (int p = own; p < static_cast<int>(parts); p += stride) mine |= 1u << p;
    const uint32_t pick = (free & mine) != 0 ? static_cast<uint32_t>(__builtin_ctz(free & mine)) : static_cast<uint32_t>(31 - __builtin_clz(free));
    if (!claim_.compare_exchange_weak(cur, cur | (1u << pick), std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // fn_ and ctx_ belong to this job: the caller changes them only after every part is done.
    fn_(ctx_, static_cast<int>(pick));
    done_.fetch_add(1, std::memory_order_acq_rel);
    cur = claim_.load(std::memory_order_acquire);
  }
}

void Pool::run(int n, int threads, void (*fn)(void*, int), void* ctx) {
  // One job at a time: a second caller (another JS thread using the addon) runs its job alone.
  if (n <= 1 || threads <= 1 || workers_.empty() || busy_.exchange(true, std::memory_order_acquire)) {
    for (int t = 0; t < n; ++t) fn(ctx, t);
    return;
  }
  if (n > 32) n = 32;
  fn_ = fn;
  ctx_ = ctx;
  threads_.store(threads < size() ? threads : size(), std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  tag_ = (tag_ + 1) & 0xffffff;
  claim_.store(tag_ << 40 | static_cast<uint64_t>(n) << 32, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  help(tag_, 0);
  // Parts still running on workers: spin briefly, then yield (a worker may share this core).
  for (int i = 0; done_.load(std::memory_order_acquire) != n; ++i) {
    if (i < 1024) cpu_relax();
    else std::this_thread::yield();
  }
  busy_.store(false, std::memory_order_release);
}

void Pool::work(int index) {
  uint64_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    // Wait for the next job: a short pure spin (jobs often follow each other within a microsecond
    // or two), then a spin that yields the core at every turn (on a busy machine a thread that only
    // pauses would take the core from the threads doing work, the caller among them), then park.
    const auto start = std::chrono::steady_clock::now();
    const auto limit = std::chrono::microseconds(spin_us_.load(std::memory_order_relaxed));
    bool woken = false;
    for (int i = 1;; ++i) {
      if (epoch_.load(std::memory_order_acquire) != seen) {
        woken = true;
        break;
      }
      if (i < 2048) {
        cpu_relax();
      } else {
        std::this_thread::yield();
        if ((i & 15) == 0 && std::chrono::steady_clock::now() - start > limit) break;
      }
    }
    if (!woken) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] { return epoch_.load(std::memory_order_seq_cst) != seen; });
      sleeping_.fetch_sub(1, std::memory_order_relaxed);
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    // (threads_ belongs to the job published with the claim word: written before it, read after.)
    const uint64_t tag = claim_.load(std::memory_order_acquire) >> 40;
    if (index < threads_.load(std::memory_order_relaxed)) help(tag, index);
  }
}

}  // namespace recur
