#include "prompt_cache.h"

#include <filesystem>
#include <set>
#include <sstream>
#include <unordered_map>

#include "errors.h"
#include "nn/kv_cache_quantized.h"
#include "nn/kv_cache_rotating.h"

namespace mlxts {
namespace {

constexpr const char* kTokensKey = "mlx_ts_tokens";

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

// A file being read, for messages that name it and say what is wrong and what to do.
struct Reader {
  std::string file;
  std::unordered_map<std::string, mx::array> arrays;
  std::unordered_map<std::string, std::string> meta;
  std::set<std::string> scalars;

  [[noreturn]] void bad(const std::string& what) const {
    fail("E_BAD_ARGUMENT", "loadPromptCache: \"" + file + "\" " + what +
                               ". Write it with session.savePromptCache or mlx-lm's save_prompt_cache (mlx_lm.cache_prompt), for this model.");
  }
  const mx::array& array(const std::string& key) const {
    auto it = arrays.find(key);
    if (it == arrays.end()) bad("has no array \"" + key + "\"");
    return it->second;
  }
  int scalar(const std::string& key) const {
    if (!scalars.count(key)) bad("does not mark \"" + key + "\" as a scalar");
    const auto& a = array(key);
    if (a.ndim() != 0 || !mx::issubdtype(a.dtype(), mx::integer)) bad("has \"" + key + "\" that is not an integer scalar");
    return mx::astype(a, mx::int32).item<int32_t>();
  }
};

void check_kv(const Reader& r, const std::string& key, const mx::array& a, int kv_heads, int width, int min_len) {
  if (a.ndim() != 4 || a.shape(0) != 1 || a.shape(1) != kv_heads || a.shape(3) != width || a.shape(2) < min_len) {
    std::ostringstream got;
    for (int i = 0; i < a.ndim(); ++i) got << (i ? ", " : "") << a.shape(i);
    r.bad("has \"" + key + "\" of shape [" + got.str() + "], but this model's cache needs [1, " + std::to_string(kv_heads) + ", >=" +
          std::to_string(min_len) + ", " + std::to_string(width) + "] (a cache of another model?)");
  }
}

}  // namespace

void save_prompt_cache(const std::string& file, const Cache& cache, const std::optional<std::vector<int32_t>>& tokens,
                       const std::map<std::string, std::string>& metadata) {
  std::unordered_map<std::string, mx::array> arrays;
  std::unordered_map<std::string, std::string> meta;
  for (const auto& [k, v] : metadata) meta["0." + k] = v;
  if (tokens) meta[std::string("0.") + kTokensKey] = join_ids(*tokens);
  meta["2.0"] = "";  // mlx-lm: "must be non-empty otherwise tree_flatten drops it"
  int n_scalars = 0;
  for (size_t i = 0; i < cache.size(); ++i) {
    meta["1." + std::to_string(i)] = cache[i].class_name();
    for (auto& e : cache[i].impl().saved_state()) {
      const std::string key = std::to_string(i) + "." + e.key;
      if (e.scalar) {
        const std::string j = "2." + std::to_string(++n_scalars);
        meta[j + ".0"] = key;
        meta[j + ".1"] = "scalar";
      }
      arrays.insert_or_assign(key, e.value);
    }
  }
  try {
    mx::save_safetensors(file, arrays, meta);
  } catch (const std::exception& e) {
    fail("E_BAD_ARGUMENT", "savePromptCache: could not write \"" + file + "\" (" + e.what() + "). Check that its directory exists and is writable.");
  }
}

PromptCacheFile load_prompt_cache(const std::string& file, const ModelConfig& config) {
  Reader r{file, {}, {}, {}};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    fail("E_BAD_ARGUMENT", "loadPromptCache: there is no file \"" + file + "\". Pass the path savePromptCache (or mlx-lm's save_prompt_cache) wrote.");
  try {
    auto [arrays, meta] = mx::load_safetensors(file);
    r.arrays = std::move(arrays);
    r.meta = std::move(meta);
    std::vector<mx::array> all;
    for (auto& [k, a] : r.arrays) all.push_back(a);
    mx::eval(all);  // read now, so a truncated file fails here and not in the next generation
  } catch (const std::exception& e) {
    r.bad(std::string("is not a readable safetensors file (") + e.what() + ")");
  }

  PromptCacheFile out;
  for (const auto& [k, v] : r.meta) {
    if (k.rfind("0.", 0) == 0) out.metadata[k.substr(2)] = v;
    if (k.rfind("2.", 0) == 0 && k.size() > 2 && k.compare(k.size() - 2, 2, ".1") == 0) {
      const auto pos = r.meta.find(k.substr(0, k.size() - 2) + ".0");
      if (pos == r.meta.end()) continue;
      if (v != "scalar") r.bad("has a state entry \"" + pos->second + "\" of type \"" + v + "\", which mlx-ts does not read");
      r.scalars.insert(pos->second);
    }
  }
  std::vector<std::string> classes;
  for (int i = 0;; ++i) {
    auto it = r.meta.find("1." + std::to_string(i));
    if (it == r.meta.end()) break;
    classes.push_back(it->second);
  }
  if (classes.empty()) r.bad("has no cache class names in its metadata (\"1.0\", \"1.1\", ...): it is not a prompt cache");
  const int layers = config.num_hidden_layers;
  if (static_cast<int>(classes.size()) != layers)
    r.bad("holds " + std::to_string(classes.size()) + " layers, but this model has " + std::to_string(layers));

  const int kv_heads = config.num_key_value_heads;
  const int head_dim = config.head_dim.value_or(config.hidden_size / config.num_attention_heads);
  for (int i = 0; i < layers; ++i) {
    const std::string p = std::to_string(i) + ".";
    const std::string& cls = classes[i];
    if (cls == "KVCache") {
      const int offset = r.scalar(p + "2");
      const auto& k = r.array(p + "0");
      const auto& v = r.array(p + "1");
      check_kv(r, p + "0", k, kv_heads, head_dim, offset);
      check_kv(r, p + "1", v, kv_heads, head_dim, offset);
      out.cache.emplace_back(std::make_unique<PlainKVCache>(k, v, offset));
    } else if (cls == "RotatingKVCache") {
      const int offset = r.scalar(p + "2"), keep = r.scalar(p + "3"), max_size = r.scalar(p + "4"), idx = r.scalar(p + "5");
      const auto& k = r.array(p + "0");
      const auto& v = r.array(p + "1");
      check_kv(r, p + "0", k, kv_heads, head_dim, std::min(offset, max_size));
      check_kv(r, p + "1", v, kv_heads, head_dim, std::min(offset, max_size));
      if (keep < 0 || keep > max_size || idx < 0 || idx > k.shape(2)) r.bad("has an inconsistent RotatingKVCache state in layer " + std::to_string(i));
      out.cache.emplace_back(std::make_unique<RotatingKVCache>(k, v, offset, keep, max_size, idx));
    } else if (cls == "QuantizedKVCache") {
      const int offset = r.scalar(p + "2"), group = r.scalar(p + "3"), bits = r.scalar(p + "4");
      if (bits < 2 || bits > 8 || group <= 0 || head_dim % group != 0) r.bad("has an unusable QuantizedKVCache state in layer " + std::to_string(i));
      QuantizedKVCache::Quantized kq, vq;
      for (int t = 0; t < 3; ++t) {
        kq.push_back(r.array(p + "0." + std::to_string(t)));
        vq.push_back(r.array(p + "1." + std::to_string(t)));
      }
      for (int t = 0; t < 2; ++t) {
        const auto& q = t == 0 ? kq : vq;
        check_kv(r, p + std::to_string(t) + ".0", q[0], kv_heads, head_dim * bits / 32, offset);
        check_kv(r, p + std::to_string(t) + ".1", q[1], kv_heads, head_dim / group, offset);
        check_kv(r, p + std::to_string(t) + ".2", q[2], kv_heads, head_dim / group, offset);
      }
      out.cache.emplace_back(std::make_unique<QuantizedKVCache>(kq, vq, offset, group, bits));
    } else {
      r.bad("has layer " + std::to_string(i) + " as a " + cls + ", which mlx-ts does not run (KVCache, RotatingKVCache, QuantizedKVCache)");
    }
    if (out.cache.back().offset() != out.cache.front().offset()) r.bad("has layers at different offsets");
  }

  auto ids = out.metadata.find(kTokensKey);
  if (ids != out.metadata.end()) {
    std::vector<int32_t> t;
    std::stringstream ss(ids->second);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        const long v = std::stol(item);
        if (v < 0 || v >= config.vocab_size) throw std::out_of_range("id");
        t.push_back(static_cast<int32_t>(v));
      } catch (const std::exception&) {
        r.bad("has a bad token id \"" + item + "\" in its \"" + kTokensKey + "\" metadata");
      }
    }
    if (static_cast<int>(t.size()) != out.cache.front().offset())
      r.bad("lists " + std::to_string(t.size()) + " token ids for a cache of " + std::to_string(out.cache.front().offset()) + " positions");
    out.tokens = std::move(t);
    out.metadata.erase(ids);
  }
  return out;
}

}  // namespace mlxts
