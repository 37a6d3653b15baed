#include "signal_guard.h"

#include <dlfcn.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <mlx/backend/cuda/cuda.h>

namespace mlxts {
namespace {

void* handler_of(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(a.sa_sigaction) : reinterpret_cast<void*>(a.sa_handler);
}

// The base address of the program that hosts us (Node: libuv's signal handlers live in its executable).
const void* host_base() {
  static const void* base = [] () -> const void* {
    Dl_info info{};
    void* uv = dlsym(RTLD_DEFAULT, "uv_version");
    return uv && dladdr(uv, &info) ? info.dli_fbase : nullptr;
  }();
  return base;
}

// A handler put in place by a shared library rather than by Node: NVRTC's, the CUDA driver's. Without a
// known host base, only handlers from libraries whose names say CUDA count.
bool foreign(const struct sigaction& a) {
  void* h = handler_of(a);
  if (h == reinterpret_cast<void*>(SIG_DFL) || h == reinterpret_cast<void*>(SIG_IGN)) return false;
  Dl_info info{};
  if (!dladdr(h, &info)) return false;
  if (host_base()) return info.dli_fbase != host_base();
  const char* f = info.dli_fname ? info.dli_fname : "";
  return std::strstr(f, "nvrtc") || std::strstr(f, "cuda") || std::strstr(f, "nvJitLink");
}

void guard_loop() {
  const int sigs[] = {SIGTERM, SIGINT};
  struct sigaction last[2];
  for (int i = 0; i < 2; ++i) sigaction(sigs[i], nullptr, &last[i]);
  for (;;) {
    // 50 ms: a signal sent while a CUDA handler is in place is lost, so the window is kept short.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = 0; i < 2; ++i) {
      struct sigaction cur;
      if (sigaction(sigs[i], nullptr, &cur) != 0) continue;
      // JavaScript cannot set SIG_IGN, so a turn to it after start is a library's too (an inherited
      // SIG_IGN, from nohup or a background job, is in `last` from the start and kept).
      const bool ignored_now = handler_of(cur) == reinterpret_cast<void*>(SIG_IGN) && handler_of(last[i]) != reinterpret_cast<void*>(SIG_IGN);
      // Node's own handler put back by a library through signal(), which drops SA_RESETHAND: Node's
      // SignalExit then re-raises into itself forever instead of dying (seen after NVRTC's first compile).
      const bool flags_lost = handler_of(cur) == handler_of(last[i]) && cur.sa_flags != last[i].sa_flags;
      if (foreign(cur) || ignored_now || flags_lost)
        sigaction(sigs[i], &last[i], nullptr);
      else
        last[i] = cur;  // Node's own changes (process.on("SIGTERM"), its removal) are kept
    }
  }
}

}  // namespace

void start_signal_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    // MLX_TS_SIGNAL_GUARD=1 runs it without CUDA too (its test), =0 never.
    const char* e = std::getenv("MLX_TS_SIGNAL_GUARD");
    const bool on = e ? std::strcmp(e, "1") == 0 : mlx::core::cu::is_available();
    if (!on) return;
    std::thread(guard_loop).detach();
  });
}

}  // namespace mlxts
