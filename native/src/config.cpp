#include "config.h"

#include <fstream>
#include <sstream>

#include "errors.h"

namespace mlxts {

namespace {

int required_int(const Json& j, const std::string& key, const std::string& source) {
  auto v = j.number(key);
  if (!v) fail("E_BAD_CONFIG", source + ": required key \"" + key + "\" is missing or not a number. Check that this is an HF-style config.json for a decoder LLM.");
  return static_cast<int>(*v);
}

std::optional<QuantSpec> parse_quant(const Json& q) {
  if (!q.is_object()) return std::nullopt;
  auto bits = q.number("bits");
  auto gs = q.number("group_size");
  if (!bits && !gs) return std::nullopt;
  QuantSpec s;
  s.mode = q.string("mode").value_or("affine");
  if (s.mode == "mxfp4" || s.mode == "mxfp8") s.group_size = 32;
  if (s.mode == "mxfp8") s.bits = 8;
  if (bits) s.bits = static_cast<int>(*bits);
  if (gs) s.group_size = static_cast<int>(*gs);
  return s;
}

}  // namespace

Json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("E_MODEL_NOT_FOUND", path + " does not exist or cannot be read. Point to a model directory with config.json and *.safetensors.");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return Json::parse(ss.str());
  } catch (const std::exception& e) {
    fail("E_BAD_CONFIG", path + " is not valid JSON (" + e.what() + "). Restore the file from the model's source.");
  }
}

ModelConfig parse_config(const Json& raw, const std::string& source) {
  if (!raw.is_object()) fail("E_BAD_CONFIG", source + " must hold a JSON object.");
  ModelConfig c;
  c.raw = raw;
  c.model_type = raw.string("model_type").value_or("");
  if (c.model_type.empty()) fail("E_BAD_CONFIG", source + ": \"model_type\" is missing, so the architecture is unknown. Add it (e.g. \"llama\", \"qwen2\", \"qwen3\").");
  c.hidden_size = required_int(raw, "hidden_size", source);
  c.num_hidden_layers = required_int(raw, "num_hidden_layers", source);
  c.intermediate_size = required_int(raw, "intermediate_size", source);
  c.num_attention_heads = required_int(raw, "num_attention_heads", source);
  c.vocab_size = required_int(raw, "vocab_size", source);
  c.num_key_value_heads = static_cast<int>(raw.number("num_key_value_heads").value_or(c.num_attention_heads));
  auto hd = raw.find("head_dim");
  c.head_dim = (hd && hd->is_number()) ? static_cast<int>(hd->as_number()) : c.hidden_size / c.num_attention_heads;
  // mlx-lm's qwen2 always derives head_dim and ignores the key.
  if (c.model_type == "qwen2") c.head_dim = c.hidden_size / c.num_attention_heads;
  c.max_position_embeddings = static_cast<int>(raw.number("max_position_embeddings").value_or(0));
  c.rms_norm_eps = static_cast<float>(raw.number("rms_norm_eps").value_or(1e-6));
  c.tie_word_embeddings = raw.boolean("tie_word_embeddings").value_or(true);
  c.attention_bias = raw.boolean("attention_bias").value_or(false);
  c.mlp_bias = raw.boolean("mlp_bias").value_or(false);
  if (c.hidden_size <= 0 || c.num_hidden_layers <= 0 || c.num_attention_heads <= 0 || c.head_dim <= 0 ||
      c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0)
    fail("E_BAD_CONFIG", source + ": inconsistent sizes (hidden_size, heads, kv heads, head_dim). Fix config.json.");

  // transformers >= 5 nests rope settings under rope_parameters.
  const Json* rp = raw.find("rope_parameters");
  const Json* rs = raw.find("rope_scaling");
  if ((!rs || rs->is_null()) && rp && rp->is_object()) rs = rp;
  auto theta = raw.number("rope_theta");
  if (!theta && rp) theta = rp->number("rope_theta");
  c.rope.theta = static_cast<float>(theta.value_or(c.model_type == "qwen2" ? 1000000.0 : 10000.0));
  c.rope.traditional = raw.boolean("rope_traditional").value_or(false);
  if (rs && rs->is_object()) {
    std::string type = rs->string("type").value_or(rs->string("rope_type").value_or("default"));
    c.rope.type = type;
    c.rope.factor = static_cast<float>(rs->number("factor").value_or(1.0));
    c.rope.low_freq_factor = static_cast<float>(rs->number("low_freq_factor").value_or(1.0));
    c.rope.high_freq_factor = static_cast<float>(rs->number("high_freq_factor").value_or(4.0));
    c.rope.original_max_position_embeddings = static_cast<int>(rs->number("original_max_position_embeddings").value_or(8192));
    if (type != "default" && type != "linear" && type != "llama3")
      fail("E_UNSUPPORTED_ARCH", source + ": rope_scaling type \"" + type + "\" is not implemented (supported: default, linear, llama3).");
    if (type != "default" && !rs->number("factor"))
      fail("E_BAD_CONFIG", source + ": rope_scaling of type \"" + type + "\" needs a \"factor\".");
  }

  const Json* q = raw.find("quantization");
  if (!q || !q->is_object()) q = raw.find("quantization_config");
  if (q && q->is_object()) {
    auto method = q->string("quant_method");
    if (method && *method != "mlx" && !q->number("bits"))
      fail("E_UNSUPPORTED_ARCH", source + ": quantization method \"" + *method + "\" is not supported; only MLX quantized checkpoints (affine, mxfp4, mxfp8) load. Convert with mlx_lm.convert.");
    c.quantization = parse_quant(*q);
    for (const auto& [k, v] : q->as_object()) {
      if (v.is_object()) {
        if (auto s = parse_quant(v)) c.quant_overrides[k] = *s;
      } else if (v.is_bool() && !v.as_bool()) {
        c.quant_disabled[k] = true;
      }
    }
  }
  return c;
}

}  // namespace mlxts
