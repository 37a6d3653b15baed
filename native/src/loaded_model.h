// One loaded model as the addon sees it: the ModelSlot shared with the generation loop, plus what
// info(), quantize() and save() need (config, source format, GGUF metadata).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "loader.h"
#include "model.h"
#include "models/decoder.h"

namespace mlxts {

struct LoadOptions {
  std::string path;
  std::optional<mx::Dtype> dtype;
};

struct QuantizeReport {
  size_t bytes_before = 0;
  size_t bytes_after = 0;
  int quantized_layers = 0;
  std::vector<std::string> skipped_layers;
};

class LoadedModel {
 public:
  // Reads, validates and evaluates every weight; throws NativeError.
  static std::shared_ptr<LoadedModel> load(const LoadOptions& opts);

  const std::shared_ptr<ModelSlot>& slot() const { return slot_; }
  std::shared_ptr<DecoderModel> model() const { return model_; }
  const ModelConfig& config() const { return config_; }
  const std::optional<GgufMetadata>& gguf() const { return gguf_; }
  size_t weight_bytes() const;
  size_t num_parameters() const;
  // The quantization the layers actually carry: the most common spec, or nullopt when none is quantized.
  std::optional<QuantSpec> quantization() const;
  // config.json as it should be written now: the original plus "quantization"/"quantization_config".
  Json current_config() const;
  std::string dtype() const;

  // Float32 logits of the last position, fresh cache.
  std::vector<float> logits(const std::vector<int32_t>& tokens);
  QuantizeReport quantize(const QuantSpec& spec);
  void save(const std::string& dir);
  void dispose();
  bool disposed() const { return disposed_; }
  // Held by logits/quantize/save/dispose; hold it to read the layers consistently from another thread.
  std::mutex& op_mutex() { return op_mu_; }

 private:
  std::shared_ptr<ModelSlot> slot_;
  std::shared_ptr<DecoderModel> model_;
  ModelConfig config_;
  std::optional<GgufMetadata> gguf_;
  bool disposed_ = false;
  // logits/quantize/save/dispose on one model run one at a time (they come from libuv's pool).
  std::mutex op_mu_;

  void check_usable() const;
};

// Serialises loads and other whole-process MLX work from the addon's worker jobs.
std::mutex& mlx_job_mutex();

}  // namespace mlxts
