// Keeps SIGTERM, SIGINT and SIGHUP with the handlers this process installed (Node's, or libuv's for JS
// listeners) while MLX's CUDA backend JIT-compiles kernels. Seen on an H200 (MLX 0.32.4, CUDA 13): during
// an NVRTC compile a handler from the CUDA compiler libraries takes SIGTERM over, and a process told to
// stop kept compiling for minutes (the thread that took the signal went on with SIGTERM blocked). A watcher
// thread, started when the addon is loaded, puts the process's own handler back within 20 ms of such a
// replacement; a handler installed from anywhere else (a JS listener added later) is left alone.
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};

void* handler_of(const struct sigaction& sa) {
  return (sa.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(sa.sa_sigaction) : reinterpret_cast<void*>(sa.sa_handler);
}

// A handler that lives in one of NVIDIA's compiler or driver libraries, not in the process's own code.
const char* foreign_library(const struct sigaction& sa) {
  void* h = handler_of(sa);
  if (h == reinterpret_cast<void*>(SIG_DFL) || h == reinterpret_cast<void*>(SIG_IGN)) return nullptr;
  Dl_info info{};
  if (dladdr(h, &info) == 0 || info.dli_fname == nullptr) return nullptr;
  for (const char* lib : {"nvrtc", "nvJitLink", "nvptx", "libcuda", "cudnn", "cublas"}) {
    if (strstr(info.dli_fname, lib) != nullptr) return info.dli_fname;
  }
  return nullptr;
}

void watch() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);  // never the thread a process-directed signal lands on
  struct sigaction good[3];
  for (int i = 0; i < 3; i++) sigaction(kSignals[i], nullptr, &good[i]);
  bool told = false;
  for (;;) {
    for (int i = 0; i < 3; i++) {
      struct sigaction cur {};
      sigaction(kSignals[i], nullptr, &cur);
      if (handler_of(cur) == handler_of(good[i])) continue;
      if (const char* lib = foreign_library(cur)) {
        sigaction(kSignals[i], &good[i], nullptr);
        if (!told && getenv("MLX_TS_TERM_GUARD_QUIET") == nullptr) {
          fprintf(stderr, "mlx-ts: %s had replaced the %s handler during a GPU kernel compile; restored it\n", lib, strsignal(kSignals[i]));
          told = true;
        }
      } else {
        good[i] = cur;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// One watcher per process, however many of our addons are loaded.
struct Start {
  Start() {
    static const char* kMark = "MLX_TS_TERM_GUARD_PID";
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", static_cast<long>(getpid()));
    const char* had = getenv(kMark);
    if (had != nullptr && strcmp(had, pid) == 0) return;
    setenv(kMark, pid, 1);
    std::thread(watch).detach();
  }
} start;

}  // namespace
