#include <algorithm>
#include <filesystem>
#include <regex>

#include "errors.h"
#include "loader.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {

// GGUF tensor base names -> HF module paths (llama.cpp's tensor naming, llama/qwen2/qwen3 subset).
std::optional<std::string> hf_name(const std::string& gguf) {
  static const std::vector<std::pair<std::string, std::string>> top{
      {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}};
  static const std::vector<std::pair<std::string, std::string>> blk{
      {"attn_q", "self_attn.q_proj"},       {"attn_k", "self_attn.k_proj"},       {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"},  {"attn_q_norm", "self_attn.q_norm"},  {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},        {"ffn_up", "mlp.up_proj"},            {"ffn_down", "mlp.down_proj"},
      {"attn_norm", "input_layernorm"},     {"ffn_norm", "post_attention_layernorm"}};
  const auto dot = gguf.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string base = gguf.substr(0, dot);
  const std::string suffix = gguf.substr(dot);  // .weight / .scales / .biases / .bias
  for (const auto& [g, h] : top)
    if (base == g) return h + suffix;
  static const std::regex re(R"(blk\.(\d+)\.(\w+))");
  std::smatch m;
  if (std::regex_match(base, m, re))
    for (const auto& [g, h] : blk)
      if (m[2] == g) return "model.layers." + m[1].str() + "." + h + suffix;
  return std::nullopt;
}

// llama.cpp's convert_hf_to_gguf permutes q/k rows of llama models so rope can run on interleaved
// pairs; HF order (rotate halves, traditional=false) is rows (h, j, i) <- gguf rows (h, i, j).
// Quantization groups run along the input dimension, so gathering rows undoes it for packed
// weights, scales and biases alike.
mx::array unpermute_rows(const mx::array& a, int n_heads) {
  const int rows = a.shape(0);
  const int head_dim = rows / n_heads;
  auto idx = mx::reshape(mx::transpose(mx::reshape(mx::arange(rows, mx::int32), {n_heads, head_dim / 2, 2}), {0, 2, 1}), {rows});
  return mx::take(a, idx, 0);
}

}  // namespace

LoadResult load_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail("E_MODEL_NOT_FOUND", path + " does not exist or is not a file. Pass the path of a .gguf file.");
  mx::GGUFLoad loaded = [&] {
    try {
      return mx::load_gguf(path);
    } catch (const std::exception& e) {
      throw classify_exception(e, "reading " + path);
    }
  }();
  // The metadata (loaded.second) was read by the TypeScript side already; only the tensors are used.
  LoadResult r;
  r.source = path;
  for (auto& [k, v] : loaded.first) {
    r.file_bytes += v.nbytes();
    r.weights.insert_or_assign(k, v);
  }
  return r;
}

void gguf_to_hf_names(WeightMap& weights, const ModelConfig& cfg) {
  WeightMap out;
  for (auto& [k, v] : weights) {
    auto name = hf_name(k);
    if (name) out.insert_or_assign(*name, v);  // rope_freqs and other tensors mlx-lm does not use are dropped
  }
  if (cfg.model_type == "llama") {
    for (int i = 0; i < cfg.num_hidden_layers; ++i) {
      for (const auto& [proj, nh] : {std::pair<std::string, int>{"q_proj", cfg.num_attention_heads}, {"k_proj", cfg.num_key_value_heads}}) {
        for (const char* sfx : {".weight", ".scales", ".biases", ".bias"}) {
          auto it = out.find("model.layers." + std::to_string(i) + ".self_attn." + proj + sfx);
          if (it != out.end()) it->second = unpermute_rows(it->second, nh);
        }
      }
    }
  }
  weights = std::move(out);
}

}  // namespace mlxts
