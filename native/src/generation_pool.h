// The long-lived worker threads generations run on, and each worker's own MLX stream.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include <mlx/mlx.h>

namespace mlxts {
namespace mx = mlx::core;

// MLX gives each thread that runs ops a stream of its own, and on the CPU a stream is an OS thread that
// lives until the process ends (clear_streams() does not stop it). A fresh std::thread per generation
// would leave one behind per generation, so generations run on long-lived workers that are reused; the
// pool grows only to the number of generations that ever ran at once (one per model).
//
// The process may exit (process.exit, a kernel shutdown) while a worker is in the middle of a step: exit()
// then destroys MLX's static scheduler and allocator under it, and the process died of SIGSEGV or abort
// in about one exit in five. An atexit handler, registered after MLX's statics exist so it runs before
// their destructors, stops every generation at its next check and waits for the workers to leave MLX.
class GenerationPool {
 public:
  static GenerationPool& instance();

  /** true once the process is exiting: generations end as if cancelled */
  static bool exiting() { return exiting_.load(std::memory_order_relaxed); }

  // Runs `task` on an idle worker, starting one when none is idle, so a generation never queues behind
  // another. Throws std::system_error when no thread can be started.
  void submit(std::function<void()> task);

 private:
  void loop();
  void stop_for_exit();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t idle_ = 0;
  size_t running_ = 0;
  std::condition_variable done_;
  static inline std::atomic<bool> exiting_{false};
};

// This worker's own stream on the current default device, made the thread's default so every op of the
// model and the sampler runs on it. Created once per worker and device.
mx::Stream worker_stream();

}  // namespace mlxts
