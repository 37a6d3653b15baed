// Keeps SIGTERM and SIGINT with this process's own handlers while MLX's CUDA JIT runs: NVRTC installs
// handlers of its own during a compile, and a signal it takes is lost (a process told SIGTERM in a 40 s
// compile ran on; an interrupt did nothing).
#pragma once

namespace mlxts {

// Starts, once, a thread that puts back the last handler Node installed whenever a shared library has put
// its own in place; only where MLX has CUDA.
void start_signal_guard();

}  // namespace mlxts
