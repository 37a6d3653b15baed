#include "napi_prompt_cache.h"

#include <set>

#include "errors.h"
#include "napi_async.h"
#include "nn/kv_cache_factory.h"
#include "prompt_cache.h"

namespace mlxts {
namespace {

// Holds the model's busy flag for the operation, so no generation starts on the cache being read or replaced.
class SlotClaim {
 public:
  SlotClaim(Napi::Env env, std::shared_ptr<ModelSlot> slot, const char* what) : slot_(std::move(slot)) {
    bool expected = false;
    if (!slot_->busy.compare_exchange_strong(expected, true))
      throw to_js_error(env, "E_BAD_ARGUMENT", std::string(what) + ": a generation is running on this model; wait for it to finish (or cancel it) first.");
  }
  SlotClaim(const SlotClaim&) = delete;
  SlotClaim& operator=(const SlotClaim&) = delete;
  ~SlotClaim() { slot_->busy.store(false); }
  ModelSlot& slot() { return *slot_; }

 private:
  std::shared_ptr<ModelSlot> slot_;
};

struct Saved {
  int tokens = 0;
  bool ids_known = false;
  std::vector<std::string> classes;
  size_t bytes = 0;
};

std::vector<std::string> class_names(const Cache& cache) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& c : cache)
    if (seen.insert(c.class_name()).second) out.push_back(c.class_name());
  return out;
}

Napi::Array strings_to_js(Napi::Env e, const std::vector<std::string>& v) {
  auto a = Napi::Array::New(e, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

struct Loaded {
  int tokens = 0;
  bool ids_known = false;
  std::vector<std::string> classes;
  size_t bytes = 0;
  std::map<std::string, std::string> metadata;
};

}  // namespace

Napi::Value save_prompt_cache_js(const Napi::CallbackInfo& cb, std::shared_ptr<LoadedModel> m) {
  Napi::Env env = cb.Env();
  return as_promise(env, [&]() -> Napi::Value {
    const std::string file = string_arg(env, cb.Length() ? cb[0] : env.Undefined(), "savePromptCache(file): file");
    std::map<std::string, std::string> metadata;
    if (cb.Length() > 1 && cb[1].IsObject()) {
      auto o = cb[1].As<Napi::Object>();
      auto keys = o.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        auto k = keys.Get(i).As<Napi::String>().Utf8Value();
        metadata[k] = string_arg(env, o.Get(k), "savePromptCache: metadata values");
      }
    }
    auto claim = std::make_shared<SlotClaim>(env, m->slot(), "savePromptCache");
    return run_async<Saved>(
        env,
        [claim, file, metadata] {
          ModelSlot& slot = claim->slot();
          std::lock_guard lock(slot.mu);
          if (slot.cache.empty() || slot.cache[0].offset() == 0 || slot.cache[0].state().empty())
            fail("E_BAD_ARGUMENT", "savePromptCache: this model's KV cache is empty (nothing generated since it was loaded or reset). Generate first.");
          std::optional<std::vector<int32_t>> ids;
          bool unknown = false;
          for (auto t : slot.cached_tokens) unknown = unknown || t < 0;
          if (!unknown) ids = slot.cached_tokens;
          save_prompt_cache(file, slot.cache, ids, metadata);
          return Saved{slot.cache[0].offset(), ids.has_value(), class_names(slot.cache), cache_nbytes(slot.cache)};
        },
        [](Napi::Env e, Saved& s) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("tokens", s.tokens);
          o.Set("idsKnown", s.ids_known);
          o.Set("classes", strings_to_js(e, s.classes));
          o.Set("bytes", static_cast<double>(s.bytes));
          return o;
        });
  });
}

Napi::Value load_prompt_cache_js(const Napi::CallbackInfo& cb, std::shared_ptr<LoadedModel> m) {
  Napi::Env env = cb.Env();
  return as_promise(env, [&]() -> Napi::Value {
    const std::string file = string_arg(env, cb.Length() ? cb[0] : env.Undefined(), "loadPromptCache(file): file");
    auto claim = std::make_shared<SlotClaim>(env, m->slot(), "loadPromptCache");
    return run_async<Loaded>(
        env,
        [claim, file, m] {
          std::lock_guard job(mlx_job_mutex());
          PromptCacheFile f = load_prompt_cache(file, m->config());
          ModelSlot& slot = claim->slot();
          std::lock_guard lock(slot.mu);
          Loaded l;
          l.tokens = f.cache.front().offset();
          l.ids_known = f.tokens.has_value();
          l.classes = class_names(f.cache);
          l.bytes = cache_nbytes(f.cache);
          l.metadata = f.metadata;
          slot.cache = std::move(f.cache);
          slot.cached_tokens = f.tokens ? *f.tokens : std::vector<int32_t>(l.tokens, -1);
          slot.cache_loaded = true;
          slot.loaded_ids_unknown = !l.ids_known;
          return l;
        },
        [](Napi::Env e, Loaded& l) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("tokens", l.tokens);
          o.Set("idsKnown", l.ids_known);
          o.Set("classes", strings_to_js(e, l.classes));
          o.Set("bytes", static_cast<double>(l.bytes));
          auto md = Napi::Object::New(e);
          for (const auto& [k, v] : l.metadata) md.Set(k, v);
          o.Set("metadata", md);
          return o;
        });
  });
}

}  // namespace mlxts
