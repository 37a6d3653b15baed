#include "models/gguf_names.h"

#include <regex>

#include "errors.h"

namespace mlxts {

const GgufRoles& gguf_decoder_roles() {
  static const GgufRoles roles{
      {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},      {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"}, {"attn_q_norm", "self_attn.q_norm"}, {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},       {"ffn_up", "mlp.up_proj"},           {"ffn_down", "mlp.down_proj"},
      {"attn_norm", "input_layernorm"},    {"ffn_norm", "post_attention_layernorm"}};
  return roles;
}

void rename_gguf_tensors(WeightMap& weights, const GgufRoles& roles, const std::string& source) {
  static const std::vector<std::pair<std::string, std::string>> top{
      {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}};
  static const std::regex block(R"(blk\.(\d+)\.(\w+))");
  WeightMap out;
  for (auto& [name, v] : weights) {
    const auto dot = name.rfind('.');
    const std::string base = dot == std::string::npos ? name : name.substr(0, dot);
    const std::string suffix = dot == std::string::npos ? "" : name.substr(dot);  // .weight / .scales / .biases / .bias
    std::optional<std::string> hf;
    for (const auto& [g, h] : top)
      if (base == g) hf = h + suffix;
    std::smatch m;
    if (!hf && std::regex_match(base, m, block)) {
      for (const auto& [g, h] : roles)
        if (m[2] == g) hf = "model.layers." + m[1].str() + "." + h + suffix;
      if (!hf)
        fail("E_UNSUPPORTED_ARCH", source + ": GGUF tensor \"" + name + "\" is not supported yet (no HF equivalent is known for \"" + m[2].str() +
                                       "\" in this architecture). Use the safetensors checkpoint of the model.");
    }
    if (hf) out.insert_or_assign(*hf, v);  // else rope_freqs and other top-level tensors mlx-lm does not use
  }
  weights = std::move(out);
}

}  // namespace mlxts
