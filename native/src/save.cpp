// save(dir): model.safetensors (or model-0000i-of-0000n.safetensors), sharded as mlx-lm's save_model
// does; the addon's JS-thread half writes the index and config.json beside them (napi_save.cpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "errors.h"
#include "loaded_model.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {
constexpr size_t kMaxShardBytes = size_t{5} << 30;  // mlx-lm's MAX_FILE_SIZE_GB

}  // namespace

SaveReport LoadedModel::save(const std::string& dir) {
  std::lock_guard lock(op_mu_);
  check_usable();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("E_BAD_ARGUMENT", "save(): \"" + dir + "\" is not an existing directory. Create it first.");
  const fs::path root(dir);

  WeightMap weights = model_->params().export_weights();
  std::vector<std::string> names;
  for (const auto& [k, v] : weights) names.push_back(k);
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

  SaveReport rep;
  try {
    for (size_t i = 0; i < shards.size(); ++i) {
      char fname[64];
      if (shards.size() == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
      else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      std::unordered_map<std::string, mx::array> shard;
      for (const auto& n : shards[i]) {
        shard.insert_or_assign(n, weights.at(n));
        rep.weight_map.emplace_back(n, fname);
        rep.total_bytes += weights.at(n).nbytes();
      }
      mx::save_safetensors((root / fname).string(), shard, {{"format", "mlx"}});
    }
  } catch (const NativeError&) {
    throw;
  } catch (const std::exception& e) {
    throw classify_exception(e, "saving to " + dir);
  }
  rep.total_parameters = num_parameters();
  return rep;
}

}  // namespace mlxts
