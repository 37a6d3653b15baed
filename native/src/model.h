// The contract between the architectures (src/models/*.cpp, one file each) and the rest of the addon:
// the generation loop calls forward(); quantize/save/info work on params(). A Model owns its weights;
// the generation loop owns the caches.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mlx/mlx.h>

#include "config.h"
#include "nn/kv_cache.h"
#include "nn/params.h"

namespace mlxts {
namespace mx = mlx::core;

struct Architecture;

class Model {
 public:
  virtual ~Model() = default;
  // tokens: int32 [1, T]. Returns logits [1, T, vocab] in the model's compute dtype.
  // Positions start at cache[0].offset(); the cache is updated in place.
  virtual mx::array forward(const mx::array& tokens, Cache& cache) = 0;
  virtual int num_layers() const = 0;
  // mlx-lm's quant_predicate: the spec layer `path` gets when the model is quantized to `requested`
  // (nullopt: leave it as it is). Default: every layer gets `requested`.
  virtual std::optional<QuantSpec> quant_spec_for(const std::string& path, const QuantSpec& requested) const {
    (void)path;
    return requested;
  }

  // dist (src/dist/pipeline.cpp): pipeline mode's pieces. An architecture that supports it builds only
  // config().pipeline_stage's part and overrides all four; layers_stage runs the layers it holds.
  virtual bool has_stages() const { return false; }
  virtual mx::array embed_stage(const mx::array& tokens) { return tokens; }
  virtual mx::array layers_stage(mx::array h, Cache& cache) { (void)cache; return h; }
  virtual mx::array head_stage(const mx::array& h) { return h; }

  Cache make_cache() const { return Cache(num_layers()); }
  int vocab_size() const { return config_.vocab_size; }
  // The config as resolved by the architecture (its defaults filled in).
  const ModelConfig& config() const { return config_; }
  const Architecture& architecture() const { return arch_; }
  bool tied() const { return *config_.tie_word_embeddings; }
  Params& params() { return params_; }
  const Params& params() const { return params_; }
  // Dtype of the activations: the embedding's output dtype.
  mx::Dtype compute_dtype() const;
  // Drops every weight (dispose); the model must not be used afterwards.
  void release() { params_.release(); }

 protected:
  Model(const Architecture& arch, const ModelConfig& cfg) : arch_(arch), config_(cfg) {}
  const Architecture& arch_;
  ModelConfig config_;
  Params params_;
};

// One per loaded model: the model plus the KV cache the generation loop keeps between calls, so a
// follow-up prompt that shares a prefix with cached_tokens reuses it. `busy` guards against two
// generations (or a quantize during a generation) on one model.
struct ModelSlot {
  std::shared_ptr<Model> model;
  Cache cache;
  std::vector<int32_t> cached_tokens;
  // Set by loadPromptCache for the next generation: it continues that cache whatever kind it is; when the
  // file had no token ids (mlx-lm's own), the prompt is a suffix of it, as mlx-lm's --prompt-cache-file.
  bool cache_loaded = false;
  bool loaded_ids_unknown = false;
  std::mutex mu;
  std::atomic<bool> busy{false};
};

}  // namespace mlxts
