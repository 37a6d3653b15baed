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

GgufValue to_value(const mx::GGUFMetaData& v) {
  if (auto s = std::get_if<std::string>(&v)) return *s;
  if (auto sv = std::get_if<std::vector<std::string>>(&v)) return *sv;
  if (auto a = std::get_if<mx::array>(&v)) {
    mx::array x = mx::issubdtype(a->dtype(), mx::floating) ? mx::astype(*a, mx::float32) : mx::astype(*a, mx::int64);
    mx::eval(x);
    std::vector<double> out(x.size());
    if (x.dtype() == mx::float32) {
      const float* p = x.data<float>();
      for (size_t i = 0; i < x.size(); ++i) out[i] = p[i];
    } else {
      const int64_t* p = x.data<int64_t>();
      for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<double>(p[i]);
    }
    if (a->ndim() == 0) return out.empty() ? 0.0 : out[0];
    return out;
  }
  return std::string();
}

const GgufValue* meta(const GgufMetadata& m, const std::string& key) {
  for (const auto& [k, v] : m)
    if (k == key) return &v;
  return nullptr;
}
std::optional<double> meta_number(const GgufMetadata& m, const std::string& key) {
  if (auto v = meta(m, key))
    if (auto d = std::get_if<double>(v)) return *d;
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

  LoadResult r;
  r.source = path;
  GgufMetadata md;
  for (const auto& [k, v] : loaded.second) md.emplace_back(k, to_value(v));
  std::sort(md.begin(), md.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string arch;
  if (auto v = meta(md, "general.architecture"))
    if (auto s = std::get_if<std::string>(v)) arch = *s;
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
    fail("E_UNSUPPORTED_ARCH", path + ": GGUF architecture \"" + arch + "\" is not implemented. Supported GGUF architectures: llama, qwen2, qwen3.");
  const auto num = [&](const std::string& key) { return meta_number(md, arch + "." + key); };
  const auto need = [&](const std::string& key) {
    auto v = num(key);
    if (!v) fail("E_BAD_CONFIG", path + ": GGUF metadata \"" + arch + "." + key + "\" is missing, so the model shape is unknown. Re-export the GGUF with llama.cpp's converter.");
    return *v;
  };

  for (auto& [k, v] : loaded.first) {
    auto name = hf_name(k);
    if (!name) continue;  // rope_freqs and other tensors mlx-lm does not use
    r.weights.insert_or_assign(*name, v);
    r.file_bytes += v.nbytes();
  }

  const int hidden = static_cast<int>(need("embedding_length"));
  const int heads = static_cast<int>(need("attention.head_count"));
  const int kv_heads = static_cast<int>(num("attention.head_count_kv").value_or(heads));
  int vocab = static_cast<int>(num("vocab_size").value_or(0));
  if (auto v = meta(md, "tokenizer.ggml.tokens"))
    if (auto t = std::get_if<std::vector<std::string>>(v)) vocab = static_cast<int>(t->size());
  if (vocab == 0)
    if (auto e = r.weights.find("model.embed_tokens.weight"); e != r.weights.end()) vocab = e->second.shape(0);

  Json c = Json::object();
  c.set("model_type", arch);
  c.set("architectures", Json(Json::Array{Json(arch == "llama" ? "LlamaForCausalLM" : arch == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM")}));
  c.set("hidden_size", hidden);
  c.set("num_hidden_layers", static_cast<int>(need("block_count")));
  c.set("intermediate_size", static_cast<int>(need("feed_forward_length")));
  c.set("num_attention_heads", heads);
  c.set("num_key_value_heads", kv_heads);
  c.set("head_dim", static_cast<int>(num("attention.key_length").value_or(hidden / heads)));
  c.set("rms_norm_eps", num("attention.layer_norm_rms_epsilon").value_or(1e-6));
  c.set("rope_theta", num("rope.freq_base").value_or(arch == "llama" ? 10000.0 : 1000000.0));
  c.set("max_position_embeddings", static_cast<int>(num("context_length").value_or(4096)));
  c.set("vocab_size", vocab);
  c.set("tie_word_embeddings", !r.weights.count("lm_head.weight"));
  c.set("attention_bias", r.weights.count("model.layers.0.self_attn.q_proj.bias") > 0 && arch == "llama");
  c.set("mlp_bias", false);
  if (auto f = num("rope.scaling.factor")) {
    std::string type = "linear";
    if (auto v = meta(md, arch + ".rope.scaling.type"))
      if (auto s = std::get_if<std::string>(v)) type = *s;
    if (type == "linear") c.set("rope_scaling", Json(Json::Object{{"type", Json("linear")}, {"factor", Json(*f)}}));
  }
  if (auto b = meta_number(md, "tokenizer.ggml.bos_token_id")) c.set("bos_token_id", static_cast<int>(*b));
  if (auto e = meta_number(md, "tokenizer.ggml.eos_token_id")) c.set("eos_token_id", static_cast<int>(*e));

  if (arch == "llama") {
    const int layers = static_cast<int>(need("block_count"));
    for (int i = 0; i < layers; ++i) {
      for (const auto& [proj, nh] : {std::pair<std::string, int>{"q_proj", heads}, {"k_proj", kv_heads}}) {
        for (const char* sfx : {".weight", ".scales", ".biases", ".bias"}) {
          auto it = r.weights.find("model.layers." + std::to_string(i) + ".self_attn." + proj + sfx);
          if (it != r.weights.end()) it->second = unpermute_rows(it->second, nh);
        }
      }
    }
  }
  r.config = c;
  r.gguf = std::move(md);
  return r;
}

}  // namespace mlxts
