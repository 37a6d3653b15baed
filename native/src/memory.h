// MLX memory counters and runtime facts, surfaced as MLX reports them.
#pragma once

#include <cstddef>
#include <string>

namespace mlxts {

struct MemoryStats {
  size_t active, peak, cache, limit, cache_limit;
};
MemoryStats memory_stats();
size_t set_memory_limit(size_t bytes);
size_t set_cache_limit(size_t bytes);

struct RuntimeInfo {
  std::string mlx_version, backend, device, device_name;
};
RuntimeInfo runtime_info();
// "cpu" | "gpu"; throws NativeError E_BAD_ARGUMENT when the backend has no such device.
void set_default_device(const std::string& device);

}  // namespace mlxts
