#include "memory.h"

#include <mutex>
#include <variant>

#include <mlx/backend/cuda/cuda.h>
#include <mlx/backend/metal/metal.h>
#include <mlx/mlx.h>
#include <mlx/version.h>

#include "errors.h"

namespace mlxts {
namespace mx = mlx::core;

namespace {
// MLX has no getter for the cache limit; we read it once (set returns the previous value) and track it.
std::mutex g_mu;
bool g_cache_known = false;
size_t g_cache_limit = 0;

size_t cache_limit_locked() {
  if (!g_cache_known) {
    g_cache_limit = mx::set_cache_limit(0);
    mx::set_cache_limit(g_cache_limit);
    g_cache_known = true;
  }
  return g_cache_limit;
}
}  // namespace

MemoryStats memory_stats() {
  std::lock_guard lock(g_mu);
  return {mx::get_active_memory(), mx::get_peak_memory(), mx::get_cache_memory(), mx::get_memory_limit(), cache_limit_locked()};
}

size_t set_memory_limit(size_t bytes) { return mx::set_memory_limit(bytes); }

size_t set_cache_limit(size_t bytes) {
  std::lock_guard lock(g_mu);
  size_t prev = mx::set_cache_limit(bytes);
  g_cache_limit = bytes;
  g_cache_known = true;
  return prev;
}

RuntimeInfo runtime_info() {
  RuntimeInfo r;
  r.mlx_version = mx::version();
  r.backend = mx::metal::is_available() ? "metal" : mx::cu::is_available() ? "cuda" : "cpu";
  const auto dev = mx::default_device();
  r.device = dev.type == mx::Device::gpu ? "gpu" : "cpu";
  try {
    const auto& info = mx::device_info(dev);
    for (const char* key : {"device_name", "architecture"}) {
      auto it = info.find(key);
      if (it != info.end())
        if (auto s = std::get_if<std::string>(&it->second); s && !s->empty()) {
          r.device_name = *s;
          break;
        }
    }
  } catch (const std::exception&) {
    // Some backends have no device_info for the CPU; the contract says "" then.
  }
  return r;
}

void set_default_device(const std::string& device) {
  if (device != "cpu" && device != "gpu") fail("E_BAD_ARGUMENT", "device must be \"cpu\" or \"gpu\", not \"" + device + "\".");
  mx::Device d(device == "gpu" ? mx::Device::gpu : mx::Device::cpu);
  if (!mx::is_available(d))
    fail("E_BAD_ARGUMENT", "this MLX build (" + runtime_info().backend + " backend) has no " + device + " device. Use \"cpu\", or install an MLX build with GPU support.");
  mx::set_default_device(d);
}

}  // namespace mlxts
