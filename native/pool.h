// The thread pool: created once, sized to the machine (or RECUR_THREADS / the `threads` option),
// never a thread per call. A job is n parts, fn(ctx, t) for t in [0, n), run by at most `threads`
// threads (the caller and workers 1 .. threads-1): they claim parts from a shared word, so a worker
// that the OS has not scheduled yet (the machine may be busy with other processes) delays nothing:
// the others run its parts instead. Thread i owns parts i, i + threads, i + 2*threads, ... and
// claims those first, in order, then any part still unclaimed (the last first), so normally each
// thread runs the same parts every call and keeps its share of a weight matrix in its own cache.
// Between jobs a worker spins for a while (a per-step kernel follows the previous one within
// microseconds, and waking a parked thread costs tens of them), then parks on a condition variable.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace recur {

class Pool {
 public:
  /** A pool of `threads` threads in all, the caller included (so threads - 1 workers). */
  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  /** Runs fn(ctx, t) for t in [0, n) (n <= 32) on at most `threads` threads; returns when every part is done. */
  void run(int n, int threads, void (*fn)(void* ctx, int t), void* ctx);
  /** How long an idle worker spins before it parks, in microseconds. */
  void set_spin_us(int us) { spin_us_.store(us, std::memory_order_relaxed); }

 private:
  void work(int index);
  /** Claims and runs parts of the job tagged `tag` until none is left, thread `own`'s parts first. */
  void help(uint64_t tag, int own);

  std::vector<std::thread> workers_;
  // The job's claim word: tag (24 bits) | parts (8 bits) | claimed parts (32 bits, one per part).
  // A thread claims a part with a compare-and-swap that also checks the tag, so a late thread never
  // takes a part of a newer job it has not seen published.
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int> done_{0};
  alignas(64) std::atomic<uint64_t> epoch_{0};  // bumped per job: what idle workers watch
  alignas(64) std::atomic<bool> busy_{false};
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  uint64_t tag_ = 0;
  std::atomic<int> threads_{1};  // the current job's thread limit
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> spin_us_{200};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace recur
