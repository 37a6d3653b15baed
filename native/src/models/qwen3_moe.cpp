// Qwen3 MoE (Qwen3-30B-A3B, 235B-A22B), as mlx_lm/models/qwen3_moe.py: Qwen3's attention, and in each
// sparse layer a router that sends every token to its top-k experts, stacked in one SwitchGLU run with
// gather_mm / gather_qmm. decoder_sparse_step and mlp_only_layers pick the layers that stay dense.
#include <algorithm>
#include <cmath>

#include "errors.h"
#include "models/gguf_names.h"
#include "models/decoder_stack.h"
#include "models/moe_experts.h"
#include "models/registry.h"
#include "nn/activations.h"
#include "nn/attention.h"
#include "nn/rope.h"
#include "nn/switch_glu.h"

namespace mlxts {

extern const Architecture qwen3_moe_architecture;

namespace {

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  RMSNorm q_norm, k_norm;
  int n_heads = 0, n_kv_heads = 0;
  float scale = 1.0f;
  Rope rope;

  static Attention load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int hd = *c.head_dim;
    return Attention{l.linear(p + "q_proj", c.hidden_size, c.num_attention_heads * hd),
                     l.linear(p + "k_proj", c.hidden_size, c.num_key_value_heads * hd),
                     l.linear(p + "v_proj", c.hidden_size, c.num_key_value_heads * hd),
                     l.linear(p + "o_proj", c.num_attention_heads * hd, c.hidden_size),
                     l.rms_norm(p + "q_norm", hd, c.rms_norm_eps),
                     l.rms_norm(p + "k_norm", hd, c.rms_norm_eps),
                     c.num_attention_heads,
                     c.num_key_value_heads,
                     1.0f / std::sqrt(static_cast<float>(hd)),
                     make_rope(c.rope, hd)};
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    const int B = x.shape(0), L = x.shape(1);
    auto q = mx::transpose(q_norm(mx::reshape(q_proj(x), {B, L, n_heads, -1})), {0, 2, 1, 3});
    auto k = mx::transpose(k_norm(mx::reshape(k_proj(x), {B, L, n_kv_heads, -1})), {0, 2, 1, 3});
    auto v = mx::transpose(mx::reshape(v_proj(x), {B, L, n_kv_heads, -1}), {0, 2, 1, 3});
    return o_proj(attend(q, k, v, rope, cache, scale));
  }
};

struct MLP {
  Linear gate_proj, down_proj, up_proj;

  static MLP load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    return MLP{l.linear(p + "gate_proj", c.hidden_size, c.intermediate_size),
               l.linear(p + "down_proj", c.intermediate_size, c.hidden_size),
               l.linear(p + "up_proj", c.hidden_size, c.intermediate_size)};
  }

  mx::array operator()(const mx::array& x) const { return down_proj(swiglu(gate_proj(x), up_proj(x))); }
};

struct SparseMoeBlock {
  Linear gate;  // the router: hidden -> one logit per expert
  SwitchGLU switch_mlp;
  int num_experts = 0, top_k = 0;
  bool norm_topk_prob = false;

  static SparseMoeBlock load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int E = c.num_experts, d = c.hidden_size, f = c.moe_intermediate_size;
    return SparseMoeBlock{l.linear(p + "gate", d, E),
                          SwitchGLU{l.switch_linear(p + "switch_mlp.gate_proj", E, d, f), l.switch_linear(p + "switch_mlp.up_proj", E, d, f),
                                    l.switch_linear(p + "switch_mlp.down_proj", E, f, d)},
                          E, c.num_experts_per_tok, *c.norm_topk_prob};
  }

  mx::array operator()(const mx::array& x) const {
    auto gates = mx::softmax(gate(x), -1, /*precise=*/true);
    const int k = top_k;
    auto parted = mx::argpartition(gates, -k, -1);
    auto start = mx::Shape(parted.ndim(), 0);
    start.back() = num_experts - k;
    auto inds = mx::stop_gradient(mx::slice(parted, start, parted.shape()));
    auto scores = mx::take_along_axis(gates, inds, -1);
    if (norm_topk_prob) scores = mx::divide(scores, mx::sum(scores, -1, /*keepdims=*/true));
    auto y = switch_mlp(x, inds);
    return mx::astype(mx::sum(mx::multiply(y, mx::expand_dims(scores, -1)), -2), y.dtype());
  }
};

bool is_sparse(const ModelConfig& c, int layer) {
  const auto& dense = c.mlp_only_layers;
  return std::find(dense.begin(), dense.end(), layer) == dense.end() && c.num_experts > 0 && (layer + 1) % c.decoder_sparse_step == 0;
}

struct DecoderLayer {
  Attention self_attn;
  std::optional<MLP> mlp;
  std::optional<SparseMoeBlock> moe;  // saved as "mlp." like the dense MLP it replaces
  RMSNorm input_layernorm, post_attention_layernorm;

  static DecoderLayer load(ModelLoader& l, const ModelConfig& c, int i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    DecoderLayer d{Attention::load(l, c, p + "self_attn."), std::nullopt, std::nullopt,
                   l.rms_norm(p + "input_layernorm", c.hidden_size, c.rms_norm_eps),
                   l.rms_norm(p + "post_attention_layernorm", c.hidden_size, c.rms_norm_eps)};
    if (is_sparse(c, i)) d.moe = SparseMoeBlock::load(l, c, p + "mlp.");
    else d.mlp = MLP::load(l, c, p + "mlp.");
    return d;
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    auto h = mx::add(x, self_attn(input_layernorm(x), cache));
    auto r = post_attention_layernorm(h);
    return mx::add(h, moe ? (*moe)(r) : (*mlp)(r));
  }
};

class Qwen3MoeModel : public DecoderStack<DecoderLayer> {
 public:
  using DecoderStack::DecoderStack;
  // As mlx-lm's quant_predicate: the router stays at 8 bits, whatever the rest gets.
  std::optional<QuantSpec> quant_spec_for(const std::string& path, const QuantSpec& requested) const override {
    if (path.size() >= 8 && path.compare(path.size() - 8, 8, "mlp.gate") == 0) return QuantSpec{64, 8, "affine"};
    return requested;
  }

};

ModelConfig resolve(ModelConfig c, const std::string& source, bool gguf) {
  const auto need = [&](bool present, const char* key) {
    if (!present) fail("E_BAD_CONFIG", source + ": qwen3_moe config.json needs \"" + std::string(key) + "\". Add it from the model card.");
  };
  need(c.head_dim.has_value(), "head_dim");
  need(c.num_experts > 0, "num_experts");
  need(c.num_experts_per_tok > 0 && c.num_experts_per_tok <= c.num_experts, "num_experts_per_tok (between 1 and num_experts)");
  need(c.moe_intermediate_size > 0, "moe_intermediate_size");
  need(c.decoder_sparse_step > 0, "decoder_sparse_step (at least 1)");
  // llama.cpp's qwen3moe always renormalises the top-k weights; a config.json must say.
  if (gguf && !c.norm_topk_prob) c.norm_topk_prob = true;
  need(c.norm_topk_prob.has_value(), "norm_topk_prob");
  if (!c.rope.theta) c.rope.theta = 10000.0f;
  if (!c.tie_word_embeddings) c.tie_word_embeddings = true;
  c.attention_bias = false;
  c.mlp_bias = false;
  return c;
}

void sanitize(WeightMap& w, const ModelConfig& c) {
  // A tied head has no lm_head.
  if (*c.tie_word_embeddings) std::erase_if(w, [](const auto& kv) { return kv.first.rfind("lm_head.", 0) == 0; });
  stack_expert_tensors(w, c);
}

// llama.cpp stores the experts already stacked ([experts, out, in] after MLX reverses GGUF's dims). A
// GGUF has no mlp_only_layers: a layer with a dense ffn_gate and no router is one.
void from_gguf(WeightMap& w, ModelConfig& c, const std::string& source) {
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    if (w.count(p + "ffn_gate.weight") && !w.count(p + "ffn_gate_inp.weight")) c.mlp_only_layers.push_back(i);
  }
  GgufRoles roles = gguf_decoder_roles();
  roles.insert(roles.end(), {{"ffn_gate_inp", "mlp.gate"},
                             {"ffn_gate_exps", "mlp.switch_mlp.gate_proj"},
                             {"ffn_up_exps", "mlp.switch_mlp.up_proj"},
                             {"ffn_down_exps", "mlp.switch_mlp.down_proj"}});
  rename_gguf_tensors(w, roles, source);
}

std::shared_ptr<Model> build(const ModelConfig& cfg, const WeightStore& w) { return std::make_shared<Qwen3MoeModel>(qwen3_moe_architecture, cfg, w); }

}  // namespace

const Architecture qwen3_moe_architecture{"qwen3_moe", "Qwen3MoeForCausalLM", {"qwen3_moe"}, {"qwen3moe"}, resolve, sanitize, from_gguf, build};

}  // namespace mlxts
