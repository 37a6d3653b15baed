#include "weight_shards.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "errors.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {
constexpr size_t kMaxShardBytes = size_t{5} << 30;  // mlx-lm's MAX_FILE_SIZE_GB
}  // namespace

WrittenShards write_weight_shards(const WeightMap& weights, const std::string& dir, const std::string& what) {
  std::vector<std::string> names;
  for (const auto& [k, _] : weights) names.push_back(k);
  std::sort(names.begin(), names.end());
  std::vector<std::vector<std::string>> shards;
  size_t shard_bytes = 0;
  for (const auto& n : names) {
    const size_t b = weights.at(n).nbytes();
    if (shards.empty() || shard_bytes + b > kMaxShardBytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(n);
    shard_bytes += b;
  }
  WrittenShards out;
  try {
    for (size_t i = 0; i < shards.size(); ++i) {
      char fname[64];
      if (shards.size() == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
      else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      std::unordered_map<std::string, mx::array> shard;
      for (const auto& n : shards[i]) {
        auto a = weights.at(n);
        mx::eval(a);  // one shard's tensors at a time (a fuse's merged weights are lazy)
        shard.insert_or_assign(n, a);
        out.weight_map.emplace_back(n, fname);
        out.total_bytes += a.nbytes();
      }
      mx::save_safetensors((fs::path(dir) / fname).string(), shard, {{"format", "mlx"}});
    }
  } catch (const NativeError&) {
    throw;
  } catch (const std::exception& e) {
    throw classify_exception(e, what);
  }
  return out;
}

}  // namespace mlxts
