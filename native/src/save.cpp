// save(dir): config.json + model.safetensors (or model-0000i-of-0000n.safetensors) + index, the layout
// mlx-lm's save_model/save_config write, so mlx_lm.load(dir) reads it as is.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "errors.h"
#include "loaded_model.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {
constexpr size_t kMaxShardBytes = size_t{5} << 30;  // mlx-lm's MAX_FILE_SIZE_GB

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f || !(f << text)) fail("E_BAD_ARGUMENT", "cannot write " + p.string() + ". Check that the directory is writable and the disk is not full.");
}

Json sorted(const Json& j) {
  if (!j.is_object()) return j;
  auto o = j.as_object();
  std::sort(o.begin(), o.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return Json(std::move(o));
}
}  // namespace

void LoadedModel::save(const std::string& dir) {
  std::lock_guard lock(op_mu_);
  check_usable();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("E_BAD_ARGUMENT", "save(): \"" + dir + "\" is not an existing directory. Create it first.");
  const fs::path root(dir);

  WeightMap weights = model_->export_weights();
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

  Json weight_map = Json::object();
  size_t total = 0;
  try {
    for (size_t i = 0; i < shards.size(); ++i) {
      char fname[64];
      if (shards.size() == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
      else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      std::unordered_map<std::string, mx::array> shard;
      for (const auto& n : shards[i]) {
        shard.insert_or_assign(n, weights.at(n));
        weight_map.set(n, Json(std::string(fname)));
        total += weights.at(n).nbytes();
      }
      mx::save_safetensors((root / fname).string(), shard, {{"format", "mlx"}});
    }
  } catch (const NativeError&) {
    throw;
  } catch (const std::exception& e) {
    throw classify_exception(e, "saving to " + dir);
  }

  Json index = Json::object();
  index.set("metadata", Json(Json::Object{{"total_size", Json(static_cast<uint64_t>(total))},
                                          {"total_parameters", Json(static_cast<uint64_t>(num_parameters()))}}));
  index.set("weight_map", weight_map);
  write_text(root / "model.safetensors.index.json", index.dump(4));

  Json cfg = current_config();
  cfg.erase("_name_or_path");
  write_text(root / "config.json", sorted(cfg).dump(4));
}

}  // namespace mlxts
