// The HF-style config.json, parsed into what the architectures need. The original Json is kept so
// save() writes it back with only the quantization keys changed.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "json.h"

namespace mlxts {

struct QuantSpec {
  int group_size = 64;
  int bits = 4;
  std::string mode = "affine";
  bool operator==(const QuantSpec&) const = default;
};

struct RopeConfig {
  float theta = 10000.0f;
  bool traditional = false;
  // "default" | "linear" | "llama3"
  std::string type = "default";
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Json raw;
  std::string model_type;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = true;
  bool attention_bias = false;
  bool mlp_bias = false;
  RopeConfig rope;
  // Top-level "quantization" (or legacy "quantization_config" with bits/group_size) and per-module overrides.
  std::optional<QuantSpec> quantization;
  std::map<std::string, QuantSpec> quant_overrides;
  // Modules the config names as left unquantized (a per-module `false`).
  std::map<std::string, bool> quant_disabled;
};

// Throws NativeError E_BAD_CONFIG naming the missing/invalid key. `source` names the file for messages.
ModelConfig parse_config(const Json& raw, const std::string& source);

// Reads and parses a JSON file; E_BAD_CONFIG on syntax errors, E_MODEL_NOT_FOUND if missing.
Json read_json_file(const std::string& path);

}  // namespace mlxts
