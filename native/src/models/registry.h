// The architectures: model_type (config.json) or general.architecture (GGUF) -> the file that runs it.
// Nothing outside models/ names an architecture.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "model.h"
#include "weights.h"

namespace mlxts {

struct Architecture {
  // The file: native/src/models/<name>.cpp (info().architecture).
  std::string name;
  // transformers' class, written as config.json "architectures" when the source had none (GGUF).
  std::string hf_class;
  // config.json model_type values this file runs.
  std::vector<std::string> model_types;
  // GGUF general.architecture values; empty when GGUF files of this architecture do not load.
  std::vector<std::string> gguf_architectures;
  // mlx-lm's ModelArgs: fills in the keys the TypeScript side left unset (E_BAD_CONFIG for a required one).
  ModelConfig (*resolve)(ModelConfig cfg, const std::string& source, bool gguf);
  // mlx-lm's sanitize: the checkpoint's tensors -> the names the model loads.
  void (*sanitize)(WeightMap& weights, const ModelConfig& cfg);
  // llama.cpp's tensor names -> HF names, for GGUF files (nullptr when gguf_architectures is empty); may
  // also set what only the tensors tell (which layers are dense).
  void (*from_gguf)(WeightMap& weights, ModelConfig& cfg, const std::string& source);
  std::shared_ptr<Model> (*build)(const ModelConfig& cfg, const WeightStore& weights);
};

// The file for a model_type or GGUF architecture name; E_UNSUPPORTED_ARCH lists what is supported.
const Architecture& find_architecture(const std::string& model_type, bool gguf, const std::string& source);

}  // namespace mlxts
