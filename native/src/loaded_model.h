// One loaded model as the addon sees it: the ModelSlot shared with the generation loop, plus what
// info(), quantize() and save() need.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "dist/shard_plan.h"
#include "loader.h"
#include "model.h"
#include "models/registry.h"

namespace mlxts {

struct LoadOptions {
  std::string path;
  bool gguf = false;
  std::vector<std::string> files;
  ModelConfig config;
  std::optional<mx::Dtype> dtype;
  // dist: this process is one rank of a tensor-parallel model (src/dist/); only its shard is kept.
  std::optional<dist::ShardSpec> shard;
};

struct QuantizeReport {
  size_t bytes_before = 0;
  size_t bytes_after = 0;
  int quantized_layers = 0;
  std::vector<std::string> skipped_layers;
};

// The quantization the layers carry, as config.json's "quantization" says it: the most common spec, plus
// an entry for each layer that differs from it (nullopt = left unquantized), as mlx-lm writes it.
struct QuantLayout {
  std::optional<QuantSpec> common;
  std::vector<std::pair<std::string, std::optional<QuantSpec>>> modules;
};

// What save() wrote, for the index file the JS side writes next to it.
struct SaveReport {
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> file name
  size_t total_bytes = 0;
  size_t total_parameters = 0;
};

class LoadedModel {
 public:
  // Reads, validates and evaluates every weight; throws NativeError.
  static std::shared_ptr<LoadedModel> load(const LoadOptions& opts);

  const std::shared_ptr<ModelSlot>& slot() const { return slot_; }
  std::shared_ptr<Model> model() const { return model_; }
  // The config as the architecture resolved it.
  const ModelConfig& config() const { return model_->config(); }
  size_t weight_bytes() const;
  size_t num_parameters() const;
  QuantLayout quant_layout() const;
  std::string dtype() const;

  // Float32 logits of the last `last` positions ([last, vocab], row-major), fresh cache.
  std::vector<float> logits(const std::vector<int32_t>& tokens, int last = 1);
  QuantizeReport quantize(const QuantSpec& spec);
  // Writes the safetensors shards into dir (which must exist); config.json and the index are the caller's.
  SaveReport save(const std::string& dir);
  void dispose();
  bool disposed() const { return disposed_; }
  // Held by logits/quantize/save/dispose; hold it to read the layers consistently from another thread.
  std::mutex& op_mutex() { return op_mu_; }

 private:
  std::shared_ptr<ModelSlot> slot_;
  std::shared_ptr<Model> model_;
  bool disposed_ = false;
  // logits/quantize/save/dispose on one model run one at a time (they come from libuv's pool).
  std::mutex op_mu_;

  void check_usable() const;
};

// Serialises loads and other whole-process MLX work from the addon's worker jobs.
std::mutex& mlx_job_mutex();

}  // namespace mlxts
