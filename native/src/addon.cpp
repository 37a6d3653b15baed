// The N-API surface of kernel/engine/native-types.ts NativeAddon (NativeModel is napi_model.cpp).
// Everything that touches MLX for longer than a counter read runs on libuv's pool and settles a promise.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>

#include "errors.h"
#include "loaded_model.h"
#include "memory.h"
#include "napi_async.h"
#include "napi_model.h"
#include "napi_values.h"
#include "signal_guard.h"
#include "train/napi_train.h"
#include "dist/napi_dist.h"
#include "kernels/napi_kernels.h"

namespace mlxts {

namespace {

Napi::Value js_runtime(const Napi::CallbackInfo& cb) {
  auto r = runtime_info();
  auto o = Napi::Object::New(cb.Env());
  o.Set("mlxVersion", r.mlx_version);
  o.Set("backend", r.backend);
  o.Set("device", r.device);
  o.Set("deviceName", r.device_name);
  return o;
}

Napi::Value js_load_model_impl(const Napi::CallbackInfo& cb);
Napi::Value js_load_model(const Napi::CallbackInfo& cb) {
  return as_promise(cb.Env(), [&] { return js_load_model_impl(cb); });
}

Napi::Value js_load_model_impl(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  if (cb.Length() < 1 || !cb[0].IsObject())
    throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel(options) needs a NativeLoadOptions object (kernel/engine/checkpoint.ts nativeLoadOptions() makes one).");
  auto o = cb[0].As<Napi::Object>();
  LoadOptions opts;
  opts.path = string_arg(env, o.Get("path"), "loadModel: path");
  const auto format = string_arg(env, o.Get("format"), "loadModel: format");
  if (format != "safetensors" && format != "gguf")
    throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: format must be \"safetensors\" or \"gguf\", not \"" + format + "\".");
  opts.gguf = format == "gguf";
  auto files = o.Get("files");
  if (!files.IsArray()) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: files must be an array of paths.");
  for (uint32_t i = 0; i < files.As<Napi::Array>().Length(); ++i)
    opts.files.push_back(string_arg(env, files.As<Napi::Array>().Get(i), "loadModel: files[i]"));
  if (opts.gguf && opts.files.size() != 1) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: a GGUF model has exactly one file.");
  if (opts.gguf) opts.path = opts.files[0];
  opts.config = config_from_js(env, o.Get("config"));
  auto hf = o.Get("hfConfig");
  if (!hf.IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: hfConfig must be the config.json object.");
  if (o.Has("dtype") && !o.Get("dtype").IsUndefined() && !o.Get("dtype").IsNull()) {
    const auto d = string_arg(env, o.Get("dtype"), "loadModel: dtype");
    if (d == "bfloat16") opts.dtype = mx::bfloat16;
    else if (d == "float16") opts.dtype = mx::float16;
    else if (d == "float32") opts.dtype = mx::float32;
    else throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: dtype must be \"bfloat16\", \"float16\" or \"float32\", not \"" + d + "\".");
  }
  if (o.Has("shards") && !o.Get("shards").IsUndefined()) opts.shard = dist::shard_spec_from_js(env, o.Get("shards"));  // dist
  if (opts.shard && o.Has("shardMode") && o.Get("shardMode").IsString()) opts.shard->pipeline = o.Get("shardMode").As<Napi::String>().Utf8Value() == "pipeline";  // dist
  struct Loaded {
    std::shared_ptr<LoadedModel> model;
    InfoSnapshot info;
  };
  auto hf_ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(hf.As<Napi::Object>()));
  return run_async<Loaded>(
      env,
      [opts] {
        std::lock_guard lock(mlx_job_mutex());
        Loaded l{LoadedModel::load(opts), {}};
        l.info = snapshot(*l.model);
        return l;
      },
      [hf_ref](Napi::Env e, Loaded& l) -> Napi::Value { return wrap_model(e, l.model, std::move(l.info), hf_ref->Value()); });
}

Napi::Value js_memory(const Napi::CallbackInfo& cb) {
  auto m = memory_stats();
  auto o = Napi::Object::New(cb.Env());
  o.Set("active", static_cast<double>(m.active));
  o.Set("peak", static_cast<double>(m.peak));
  o.Set("cache", static_cast<double>(m.cache));
  o.Set("limit", static_cast<double>(m.limit));
  o.Set("cacheLimit", static_cast<double>(m.cache_limit));
  return o;
}

size_t bytes_arg(const Napi::CallbackInfo& cb, const char* what) {
  double v = number_arg(cb.Env(), cb.Length() ? cb[0] : cb.Env().Undefined(), what);
  if (!(v >= 0) || v > 9.007199254740992e15) throw to_js_error(cb.Env(), "E_BAD_ARGUMENT", std::string(what) + " must be a non-negative number of bytes.");
  return static_cast<size_t>(v);
}

Napi::Value js_reset_peak(const Napi::CallbackInfo& cb) {
  mx::reset_peak_memory();
  return cb.Env().Undefined();
}
Napi::Value js_set_memory_limit(const Napi::CallbackInfo& cb) {
  return Napi::Number::New(cb.Env(), static_cast<double>(set_memory_limit(bytes_arg(cb, "setMemoryLimit(bytes)"))));
}
Napi::Value js_set_cache_limit(const Napi::CallbackInfo& cb) {
  return Napi::Number::New(cb.Env(), static_cast<double>(set_cache_limit(bytes_arg(cb, "setCacheLimit(bytes)"))));
}
Napi::Value js_clear_cache(const Napi::CallbackInfo& cb) {
  mx::clear_cache();
  return cb.Env().Undefined();
}
Napi::Value js_set_default_device(const Napi::CallbackInfo& cb) {
  try {
    set_default_device(string_arg(cb.Env(), cb.Length() ? cb[0] : cb.Env().Undefined(), "setDefaultDevice(device)"));
  } catch (const NativeError& e) {
    throw to_js_error(cb.Env(), e);
  }
  return cb.Env().Undefined();
}

// glibc raises its mmap threshold each time a large block is freed, after which MLX's per-step buffers
// (logits alone are ~600 KB) come from the heap and fragment it: a soak of 2,200 cells grew RSS by a
// quarter with nothing retained. A fixed threshold keeps large blocks in their own mappings, returned on
// free. The kernelspec sets it (and MALLOC_ARENA_MAX=2) before start; this covers other ways of starting
// (the REPL, an embedding) and leaves a user's own setting alone.
void fix_mmap_threshold() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  fix_mmap_threshold();
  start_signal_guard();
  auto data = std::make_unique<AddonData>();
  data->model_ctor = Napi::Persistent(define_model_class(env));
  env.SetInstanceData<AddonData>(data.release());  // N-API owns it from here and deletes it at env teardown
  exports.Set("runtime", Napi::Function::New(env, js_runtime, "runtime"));
  exports.Set("loadModel", Napi::Function::New(env, js_load_model, "loadModel"));
  exports.Set("memory", Napi::Function::New(env, js_memory, "memory"));
  exports.Set("resetPeakMemory", Napi::Function::New(env, js_reset_peak, "resetPeakMemory"));
  exports.Set("setMemoryLimit", Napi::Function::New(env, js_set_memory_limit, "setMemoryLimit"));
  exports.Set("setCacheLimit", Napi::Function::New(env, js_set_cache_limit, "setCacheLimit"));
  exports.Set("clearCache", Napi::Function::New(env, js_clear_cache, "clearCache"));
  exports.Set("setDefaultDevice", Napi::Function::New(env, js_set_default_device, "setDefaultDevice"));
  exports.Set("train", Napi::Function::New(env, js_train, "train"));
  exports.Set("setAdapter", Napi::Function::New(env, js_set_adapter, "setAdapter"));
  dist::register_exports(env, exports);
  kernels::register_exports(env, exports);
  exports.Set("fuse", Napi::Function::New(env, js_fuse, "fuse"));
  return exports;
}

}  // namespace

}  // namespace mlxts

static Napi::Object InitMlxTs(Napi::Env env, Napi::Object exports) { return mlxts::init(env, exports); }

NODE_API_MODULE(mlx_ts, InitMlxTs)
