// Reading checkpoints into HF-named weight maps. Arrays may still be lazy (safetensors);
// LoadedModel::load() validates shapes and evaluates them. The file list and the config come from the
// TypeScript side (kernel/engine/checkpoint.ts), which reads the JSON files and the GGUF metadata.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "weights.h"

namespace mlxts {

struct LoadResult {
  WeightMap weights;
  // What was read, for error messages ("/models/x (2 safetensors files)").
  std::string source;
  // Bytes the data files hold, known before anything is materialised.
  size_t file_bytes = 0;
};

// The safetensors shards of one checkpoint, in order; `dir` names it in messages.
LoadResult load_safetensors_files(const std::string& dir, const std::vector<std::string>& files);
// A .gguf file's tensors under llama.cpp's names (the architecture renames them to HF names).
LoadResult load_gguf_file(const std::string& path);

// Checks a .safetensors file's declared header length against its size and returns the byte count of
// the tensor data that follows it; E_CORRUPT_WEIGHTS when the file is too short for its header.
size_t safetensors_data_bytes(const std::string& file);

}  // namespace mlxts
