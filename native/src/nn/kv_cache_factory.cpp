#include "nn/kv_cache_factory.h"

#include "errors.h"
#include "nn/kv_cache_quantized.h"
#include "nn/kv_cache_rotating.h"

namespace mlxts {

Cache make_kv_cache(int num_layers, const KvCacheOptions& o) {
  Cache c;
  c.reserve(num_layers);
  for (int i = 0; i < num_layers; ++i) {
    if (o.max_size) c.emplace_back(std::make_unique<RotatingKVCache>(*o.max_size, kRotatingKeep));
    else c.emplace_back();
  }
  return c;
}

void restart_kv_cache(Cache& cache, const KvCacheOptions& o) {
  for (auto& c : cache) {
    if (!o.max_size && dynamic_cast<const PlainKVCache*>(&c.impl())) c.trim_to(0);
    else c.replace(o.max_size ? std::unique_ptr<LayerKVCache>(std::make_unique<RotatingKVCache>(*o.max_size, kRotatingKeep))
                              : std::make_unique<PlainKVCache>());
  }
}

void maybe_quantize(Cache& cache, const KvCacheOptions& o) {
  if (!o.bits) return;
  for (auto& c : cache) {
    if (dynamic_cast<const QuantizedKVCache*>(&c.impl()) || c.offset() < o.quantized_start) continue;
    auto q = c.impl().to_quantized(o.group_size, *o.bits);
    if (!q)
      fail("E_BAD_ARGUMENT", std::string("kvBits cannot quantize a ") + c.class_name() +
                                 " (mlx-lm has no quantized rotating cache). Leave out kvBits or maxKvSize.");
    c.replace(std::move(q));
  }
}

bool can_trim(const Cache& cache) {
  for (const auto& c : cache)
    if (!c.is_trimmable()) return false;
  return true;
}

size_t cache_nbytes(const Cache& cache) {
  size_t n = 0;
  for (const auto& c : cache) n += c.nbytes();
  return n;
}

bool cache_matches(const Cache& cache, const KvCacheOptions& o) {
  for (const auto& c : cache) {
    if (const auto* r = dynamic_cast<const RotatingKVCache*>(&c.impl())) {
      if (!o.max_size || r->max_size() != *o.max_size || r->keep() != kRotatingKeep) return false;
    } else if (o.max_size) {
      return false;
    } else if (const auto* q = dynamic_cast<const QuantizedKVCache*>(&c.impl())) {
      if (!o.bits || q->bits() != *o.bits || q->group_size() != o.group_size) return false;
    } else if (!dynamic_cast<const PlainKVCache*>(&c.impl())) {
      return false;  // a kind no options make (a speculative run's window cache)
    }
  }
  return true;
}

std::string loaded_cache_conflict(const Cache& cache, const KvCacheOptions& o) {
  for (const auto& c : cache) {
    const auto* q = dynamic_cast<const QuantizedKVCache*>(&c.impl());
    if (!q) continue;
    const std::string held = std::to_string(q->bits()) + "-bit, group size " + std::to_string(q->group_size());
    if (o.bits && *o.bits != q->bits()) return "kvBits " + std::to_string(*o.bits) + " does not match the loaded prompt cache (" + held + ")";
    if (o.group_size != q->group_size())
      return "kvGroupSize " + std::to_string(o.group_size) + " does not match the loaded prompt cache (" + held + ")";
  }
  return "";
}

}  // namespace mlxts
