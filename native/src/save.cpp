// save(dir): model.safetensors (or model-0000i-of-0000n.safetensors), sharded as mlx-lm's save_model
// does; the addon's JS-thread half writes the index and config.json beside them (napi_save.cpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "errors.h"
#include "loaded_model.h"
#include "weight_shards.h"

namespace fs = std::filesystem;

namespace mlxts {


SaveReport LoadedModel::save(const std::string& dir) {
  std::lock_guard lock(op_mu_);
  check_usable();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("E_BAD_ARGUMENT", "save(): \"" + dir + "\" is not an existing directory. Create it first.");
  const fs::path root(dir);

  const auto written = write_weight_shards(model_->params().export_weights(), root.string(), "saving to " + dir);
  SaveReport rep;
  rep.weight_map = written.weight_map;
  rep.total_bytes = written.total_bytes;
  rep.total_parameters = num_parameters();
  return rep;
}

}  // namespace mlxts
