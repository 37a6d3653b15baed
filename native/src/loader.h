// Reading checkpoints into HF-named weight maps plus an HF-style config. Arrays may still be lazy
// (safetensors); load_model() in loaded_model.cpp validates shapes and evaluates them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config.h"
#include "weights.h"

namespace mlxts {

using GgufValue = std::variant<std::string, double, std::vector<std::string>, std::vector<double>>;
using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

struct LoadResult {
  Json config;
  WeightMap weights;
  // What was read, for error messages ("/models/x (2 safetensors files)").
  std::string source;
  std::optional<GgufMetadata> gguf;
  // Bytes the data files hold, known before anything is materialised.
  size_t file_bytes = 0;
};

// A directory with config.json and model.safetensors / model-*.safetensors (+ model.safetensors.index.json).
LoadResult load_safetensors_dir(const std::string& dir);
// A .gguf file; tensors renamed to HF names, Q/K rows un-permuted for llama, config derived from metadata.
LoadResult load_gguf_file(const std::string& path);

// Checks a .safetensors file's header against its size; E_CORRUPT_WEIGHTS if truncated or malformed.
// Returns the byte size of the tensor data it declares.
size_t validate_safetensors(const std::string& file);

}  // namespace mlxts
