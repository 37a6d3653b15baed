#include "dist/shard_plan.h"

#include <cstring>

#include "errors.h"

namespace mlxts::dist {

namespace {

enum class Split { none, rows, cols };

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "model.layers.3.self_attn.q_proj.weight" -> its projection's split, and whether it is the bias.
Split split_of(const std::string& name, bool& is_bias) {
  is_bias = ends_with(name, ".bias");
  if (name.rfind("model.layers.", 0) != 0) return Split::none;
  for (const char* p : {".q_proj.", ".k_proj.", ".v_proj.", ".gate_proj.", ".up_proj."})
    if (name.find(p) != std::string::npos) return Split::rows;
  for (const char* p : {".o_proj.", ".down_proj."})
    if (name.find(p) != std::string::npos) return is_bias ? Split::none : Split::cols;
  return Split::none;
}

// This rank's part along `axis`, in a buffer of its own: a slice along the first axis is a view of the
// whole tensor's buffer, which would keep all of it resident.
mx::array own_part(const mx::array& full, int axis, const ShardSpec& s) {
  const int len = full.shape(axis) / s.size;
  mx::Shape start(full.ndim(), 0);
  mx::Shape stop = full.shape();
  start[axis] = s.rank * len;
  stop[axis] = (s.rank + 1) * len;
  auto part = mx::contiguous(mx::slice(full, start, stop));
  mx::eval(part);
  const auto* bytes = part.data<uint8_t>();
  mx::array copy(bytes, mx::Shape{static_cast<int>(part.nbytes())}, mx::uint8);
  auto out = mx::reshape(mx::view(copy, part.dtype()), part.shape());
  mx::eval(out);
  return out;
}

void need_divisible(int n, const char* what, const ShardSpec& s, const std::string& source) {
  if (n % s.size != 0)
    fail("E_BAD_ARGUMENT", source + ": cannot split into " + std::to_string(s.size) + " shards: " + what + " (" + std::to_string(n) +
                               ") does not divide by " + std::to_string(s.size) + ". Use a number of shards that divides it.");
}

}  // namespace

void shard_weights(WeightMap& w, ModelConfig& cfg, const ShardSpec& s, const std::string& source) {
  if (s.size <= 1) return;
  if (cfg.num_experts > 0)
    fail("E_BAD_ARGUMENT", source + ": sharding a mixture-of-experts model (" + cfg.model_type + ") is not supported yet; load it without --shards.");
  need_divisible(cfg.num_attention_heads, "num_attention_heads", s, source);
  need_divisible(cfg.num_key_value_heads, "num_key_value_heads", s, source);
  need_divisible(cfg.intermediate_size, "intermediate_size", s, source);
  for (auto& [name, a] : w) {
    bool is_bias = false;
    const Split sp = split_of(name, is_bias);
    if (sp == Split::none) continue;
    const int axis = sp == Split::rows ? (is_bias ? a.ndim() - 1 : 0) : a.ndim() - 1;
    if (a.shape(axis) % s.size != 0)
      fail("E_BAD_ARGUMENT", source + ": cannot split \"" + name + "\" " + shape_str(a.shape()) + " into " + std::to_string(s.size) +
                                 " shards along axis " + std::to_string(axis) + " (a quantization group would be cut). Use fewer shards.");
    try {
      a = own_part(a, axis, s);
    } catch (const std::exception& e) {
      throw classify_exception(e, "reading this rank's part of " + name + " from " + source);
    }
  }
  cfg.num_attention_heads /= s.size;
  cfg.num_key_value_heads /= s.size;
  cfg.intermediate_size /= s.size;
}

void mark_all_sums(Params& params, const mlx::core::distributed::Group& g) {
  for (auto& [name, l] : params.linears)
    if (ends_with(name, ".o_proj") || ends_with(name, ".down_proj")) l->all_sum_group = g;
}

}  // namespace mlxts::dist
