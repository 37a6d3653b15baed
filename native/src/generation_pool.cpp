#include "generation_pool.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mlxts {

GenerationPool& GenerationPool::instance() {
  // Never destroyed: idle detached workers may still wait on it while the process exits.
  static GenerationPool* pool = [] {
    auto* p = std::make_unique<GenerationPool>().release();
    std::atexit([] { instance().stop_for_exit(); });
    return p;
  }();
  return *pool;
}

void GenerationPool::submit(std::function<void()> task) {
  std::unique_lock lk(mu_);
  tasks_.push_back(std::move(task));
  if (idle_ < tasks_.size()) {
    try {
      std::thread([this] { loop(); }).detach();
    } catch (...) {
      tasks_.pop_back();
      throw;
    }
  }
  lk.unlock();
  cv_.notify_one();
}

void GenerationPool::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lk(mu_);
      ++idle_;
      cv_.wait(lk, [this] { return !tasks_.empty(); });
      --idle_;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++running_;
    }
    task();
#if defined(__GLIBC__)
    // Hand the pages a generation freed back to the system (off the JS thread, after "done" was
    // posted): a long session otherwise keeps glibc's high-water mark as RSS.
    malloc_trim(0);
#endif
    {
      std::lock_guard lk(mu_);
      --running_;
    }
    done_.notify_all();
  }
}

void GenerationPool::stop_for_exit() {
  exiting_.store(true);
  std::unique_lock lk(mu_);
  // A step takes milliseconds to seconds; a worker stuck longer than this is left to the exit.
  done_.wait_for(lk, std::chrono::seconds(5), [this] { return running_ == 0; });
}

mx::Stream worker_stream() {
  thread_local std::vector<mx::Stream> streams;
  const mx::Device dev = mx::default_device();
  for (const auto& s : streams) {
    if (s.device == dev) {
      mx::set_default_stream(s);
      return s;
    }
  }
  streams.push_back(mx::new_stream(dev));
  mx::set_default_stream(streams.back());
  return streams.back();
}

}  // namespace mlxts
