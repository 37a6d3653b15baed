#include "train/lora.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "errors.h"

namespace mlxts {

namespace {

constexpr const char* kBlockPrefix = "model.layers.";

// "model.layers.12.self_attn.q_proj" -> {12, "self_attn.q_proj"}; nullopt outside the blocks.
std::optional<std::pair<int, std::string>> split_block_path(const std::string& path) {
  if (path.rfind(kBlockPrefix, 0) != 0) return std::nullopt;
  const size_t start = std::char_traits<char>::length(kBlockPrefix);
  const size_t dot = path.find('.', start);
  if (dot == std::string::npos) return std::nullopt;
  try {
    return std::make_pair(std::stoi(path.substr(start, dot - start)), path.substr(dot + 1));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

WeightMap Adapter::weights() const {
  WeightMap w;
  for (const auto& [path, l] : layers) {
    w.insert_or_assign(path + ".lora_a", l->a);
    w.insert_or_assign(path + ".lora_b", l->b);
  }
  return w;
}

std::vector<mx::array> Adapter::arrays() const {
  std::vector<mx::array> out;
  for (const auto& [_, l] : layers) {
    out.push_back(l->a);
    out.push_back(l->b);
  }
  return out;
}

std::vector<std::string> default_lora_keys(const Model& model) {
  std::set<std::string> keys;
  for (const auto& [path, _] : model.params().linears)
    if (auto b = split_block_path(path)) keys.insert(b->second);
  return {keys.begin(), keys.end()};
}

Adapter attach_lora(Model& model, const LoraConfig& config, uint64_t seed, const std::optional<WeightMap>& init) {
  if (config.rank < 1) fail("E_BAD_ARGUMENT", "LoRA rank must be at least 1, got " + std::to_string(config.rank) + ".");
  Adapter ad{config, {}};
  if (ad.config.keys.empty()) ad.config.keys = default_lora_keys(model);
  const int n = model.num_layers();
  const int first = config.num_layers <= 0 ? 0 : std::max(0, n - config.num_layers);
  const std::set<std::string> wanted(ad.config.keys.begin(), ad.config.keys.end());
  std::set<std::string> found;
  auto key = mx::random::key(seed);
  for (const auto& [path, w] : model.params().linears) {
    auto b = split_block_path(path);
    if (!b || !wanted.count(b->second)) continue;
    // a key is known if any block has it (as mlx-lm collects keys over every block); blocks before
    // `first`, or without the layer (a MoE model's dense blocks), just get no adapter there
    found.insert(b->second);
    if (b->first < first) continue;
    auto [k1, k2] = mx::random::split(key);
    key = k1;
    const float s = 1.0f / std::sqrt(static_cast<float>(w->in_dims));
    // LoRALinear: a [in, r], b [r, out]; LoRASwitchLinear (expert layers): a [E, r, in], b [E, out, r]
    const bool sw = w->experts > 0;
    const mx::Shape a_shape = sw ? mx::Shape{w->experts, config.rank, w->in_dims} : mx::Shape{w->in_dims, config.rank};
    const mx::Shape b_shape = sw ? mx::Shape{w->experts, w->out_dims, config.rank} : mx::Shape{config.rank, w->out_dims};
    auto a = mx::random::uniform(mx::array(-s), mx::array(s), a_shape, mx::float32, k2);
    auto lw = std::make_shared<LoraWeights>(LoraWeights{a, mx::zeros(b_shape, mx::float32), config.scale});
    ad.layers.emplace_back(path, lw);
  }
  for (const auto& k : wanted) {
    if (!found.count(k)) {
      std::string known;
      for (const auto& d : default_lora_keys(model)) known += (known.empty() ? "" : ", ") + d;
      fail("E_BAD_ARGUMENT", "LoRA target \"" + k + "\" is not a linear layer of this model's blocks. Its layers: " + known + ".");
    }
  }
  if (init) {
    std::set<std::string> used;
    for (auto& [path, l] : ad.layers) {
      for (auto* slot : {&l->a, &l->b}) {
        const std::string name = path + (slot == &l->a ? ".lora_a" : ".lora_b");
        auto it = init->find(name);
        if (it == init->end()) fail("E_BAD_ARGUMENT", "the adapter file has no " + name + "; it was made for other layers or targets (check adapter_config.json's num_layers and keys).");
        if (it->second.shape() != slot->shape())
          fail("E_BAD_ARGUMENT", "adapter tensor " + name + " has shape " + shape_str(it->second.shape()) + ", the model needs " + shape_str(slot->shape()) + " (another rank or model?).");
        *slot = it->second;
        used.insert(name);
      }
    }
    for (const auto& [name, _] : *init)
      if (!used.count(name)) fail("E_BAD_ARGUMENT", "adapter tensor " + name + " is not an adapter parameter of this model with this config (num_layers / keys).");
  }
  mx::eval(ad.arrays());
  for (auto& [path, l] : ad.layers)
    for (auto& [p, w] : model.params().linears)
      if (p == path) w->lora = l;
  return ad;
}

void detach_lora(Model& model) {
  for (auto& [_, w] : model.params().linears) w->lora.reset();
}

}  // namespace mlxts
