// Prompt caches on disk in mlx-lm's layout (models/cache.py save_prompt_cache / load_prompt_cache): one
// safetensors file, the arrays of every layer's `state` flattened as "layer.index" ("0.0", "0.1", "0.2.1"),
// and string metadata flattened from [user metadata, class names, scalar markers] ("0.model", "1.0" =
// "KVCache", "2.1.0" = "0.2", "2.1.1" = "scalar"). mlx-lm reads ours and we read its. The token ids the
// cache holds go into the user metadata as "mlx_ts_tokens" (mlx-lm ignores unknown keys); a file without
// them (mlx-lm's) holds an unknown prefix.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "nn/kv_cache.h"

namespace mlxts {

struct PromptCacheFile {
  Cache cache;
  std::optional<std::vector<int32_t>> tokens;
  std::map<std::string, std::string> metadata;  // the user metadata, keys without the "0." prefix
};

// Writes `cache` (every layer non-empty); `tokens` when the ids of its positions are known.
void save_prompt_cache(const std::string& file, const Cache& cache, const std::optional<std::vector<int32_t>>& tokens,
                       const std::map<std::string, std::string>& metadata);
// Reads and checks a file against the model it is for (layers, KV heads, head dim); throws NativeError
// naming the file and what is wrong.
PromptCacheFile load_prompt_cache(const std::string& file, const ModelConfig& config);

}  // namespace mlxts
