// Qwen1.5-MoE and Qwen2-57B-A14B, as mlx_lm/models/qwen2_moe.py: Qwen2's attention (biases on q/k/v,
// head_dim = hidden / heads) and in every layer a sparse block: a router picking the top-k of the
// experts (stacked in one SwitchGLU, gather_mm / gather_qmm), plus one shared expert, a dense MLP whose
// output a sigmoid gate scales per token.
#include <cmath>

#include "errors.h"
#include "models/decoder_stack.h"
#include "models/moe_experts.h"
#include "models/registry.h"
#include "nn/activations.h"
#include "nn/attention.h"
#include "nn/rope.h"
#include "nn/switch_glu.h"

namespace mlxts {

extern const Architecture qwen2_moe_architecture;

namespace {

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int n_heads = 0, n_kv_heads = 0;
  float scale = 1.0f;
  Rope rope;

  static Attention load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int hd = *c.head_dim;
    return Attention{l.linear(p + "q_proj", c.hidden_size, c.num_attention_heads * hd, true),
                     l.linear(p + "k_proj", c.hidden_size, c.num_key_value_heads * hd, true),
                     l.linear(p + "v_proj", c.hidden_size, c.num_key_value_heads * hd, true),
                     l.linear(p + "o_proj", c.num_attention_heads * hd, c.hidden_size, false),
                     c.num_attention_heads,
                     c.num_key_value_heads,
                     1.0f / std::sqrt(static_cast<float>(hd)),
                     make_rope(c.rope, hd)};
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    const int B = x.shape(0), L = x.shape(1);
    auto q = mx::transpose(mx::reshape(q_proj(x), {B, L, n_heads, -1}), {0, 2, 1, 3});
    auto k = mx::transpose(mx::reshape(k_proj(x), {B, L, n_kv_heads, -1}), {0, 2, 1, 3});
    auto v = mx::transpose(mx::reshape(v_proj(x), {B, L, n_kv_heads, -1}), {0, 2, 1, 3});
    return o_proj(attend(q, k, v, rope, cache, scale));
  }
};

struct MLP {
  Linear gate_proj, down_proj, up_proj;

  static MLP load(ModelLoader& l, int dim, int hidden, const std::string& p) {
    return MLP{l.linear(p + "gate_proj", dim, hidden), l.linear(p + "down_proj", hidden, dim), l.linear(p + "up_proj", dim, hidden)};
  }

  mx::array operator()(const mx::array& x) const { return down_proj(swiglu(gate_proj(x), up_proj(x))); }
};

struct SparseMoeBlock {
  Linear gate;  // the router: hidden -> one logit per expert
  SwitchGLU switch_mlp;
  MLP shared_expert;
  Linear shared_expert_gate;  // hidden -> 1
  int top_k = 0;

  static SparseMoeBlock load(ModelLoader& l, const ModelConfig& c, const std::string& p) {
    const int E = c.num_experts, d = c.hidden_size, f = c.moe_intermediate_size;
    return SparseMoeBlock{l.linear(p + "gate", d, E),
                          SwitchGLU{l.switch_linear(p + "switch_mlp.gate_proj", E, d, f), l.switch_linear(p + "switch_mlp.up_proj", E, d, f),
                                    l.switch_linear(p + "switch_mlp.down_proj", E, f, d)},
                          MLP::load(l, d, c.shared_expert_intermediate_size, p + "shared_expert."), l.linear(p + "shared_expert_gate", d, 1),
                          c.num_experts_per_tok};
  }

  mx::array operator()(const mx::array& x) const {
    auto gates = mx::softmax(gate(x), -1, /*precise=*/true);
    // argpartition(-gates, kth=k-1)[..., :k], as mlx-lm writes it (the order of the k feeds the sum).
    auto parted = mx::argpartition(mx::negative(gates), top_k - 1, -1);
    auto stop = parted.shape();
    stop.back() = top_k;
    auto inds = mx::stop_gradient(mx::slice(parted, mx::Shape(parted.ndim(), 0), stop));
    // mlx-lm's qwen2_moe never renormalises the top-k weights (norm_topk_prob is not read).
    auto scores = mx::take_along_axis(gates, inds, -1);
    auto y = mx::sum(mx::multiply(switch_mlp(x, inds), mx::expand_dims(scores, -1)), -2);
    return mx::add(y, mx::multiply(mx::sigmoid(shared_expert_gate(x)), shared_expert(x)));
  }
};

struct DecoderLayer {
  Attention self_attn;
  SparseMoeBlock mlp;
  RMSNorm input_layernorm, post_attention_layernorm;

  static DecoderLayer load(ModelLoader& l, const ModelConfig& c, int i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    return DecoderLayer{Attention::load(l, c, p + "self_attn."), SparseMoeBlock::load(l, c, p + "mlp."),
                        l.rms_norm(p + "input_layernorm", c.hidden_size, c.rms_norm_eps),
                        l.rms_norm(p + "post_attention_layernorm", c.hidden_size, c.rms_norm_eps)};
  }

  mx::array operator()(const mx::array& x, KVCache& cache) const {
    auto h = mx::add(x, self_attn(input_layernorm(x), cache));
    return mx::add(h, mlp(post_attention_layernorm(h)));
  }
};

ModelConfig resolve(ModelConfig c, const std::string& source, bool) {
  const auto need = [&](bool present, const char* key) {
    if (!present) fail("E_BAD_CONFIG", source + ": qwen2_moe config.json needs \"" + std::string(key) + "\". Add it from the model card.");
  };
  need(c.num_experts > 0, "num_experts");
  need(c.num_experts_per_tok > 0 && c.num_experts_per_tok <= c.num_experts, "num_experts_per_tok (between 1 and num_experts)");
  need(c.moe_intermediate_size > 0, "moe_intermediate_size");
  need(c.shared_expert_intermediate_size > 0, "shared_expert_intermediate_size");
  // mlx-lm's qwen2_moe derives head_dim, always has an lm_head (tie_word_embeddings is not read), and
  // builds a plain nn.RoPE: a linear rope_scaling is accepted by its ModelArgs but never applied.
  if (c.rope.type != "default" && c.rope.type != "linear")
    fail("E_UNSUPPORTED_ARCH", source + ": qwen2_moe supports rope_scaling of type \"linear\" only (as mlx-lm), not \"" + c.rope.type + "\".");
  c.rope.type = "default";
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (!c.rope.theta) c.rope.theta = 1000000.0f;
  c.tie_word_embeddings = false;
  c.attention_bias = true;
  c.mlp_bias = false;
  return c;
}

void sanitize(WeightMap& w, const ModelConfig& c) {
  stack_expert_tensors(w, c);
}

std::shared_ptr<Model> build(const ModelConfig& cfg, const WeightStore& w) { return std::make_shared<DecoderStack<DecoderLayer>>(qwen2_moe_architecture, cfg, w); }

}  // namespace

const Architecture qwen2_moe_architecture{"qwen2_moe", "Qwen2MoeForCausalLM", {"qwen2_moe"}, {}, resolve, sanitize, nullptr, build};

}  // namespace mlxts
