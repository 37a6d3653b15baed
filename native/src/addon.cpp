// The N-API surface of kernel/engine/native-types.ts (NativeAddon, NativeModel). Everything that
// touches MLX for longer than a counter read runs on libuv's pool and settles a promise.
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
#include "napi_values.h"

#if __has_include("generate.h")
#include "generate.h"
#define MLXTS_HAVE_GENERATE 1
#else
#define MLXTS_HAVE_GENERATE 0
#endif

namespace mlxts {

namespace {

// Runs `work` on the pool; `done` converts its result on the JS thread. Errors reject with `.code`.
template <typename R>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (const std::exception& e) {
      NativeError ne = classify_exception(e, "");
      code_ = ne.code();
      SetError(ne.what());
    } catch (...) {
      code_ = "E_MLX";
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(to_js_error(Env(), code_, e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<R()> work_;
  std::function<Napi::Value(Napi::Env, R&)> done_;
  std::optional<R> result_;
  std::string code_ = "E_MLX";
};

template <typename R>
Napi::Promise run_async(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done) {
  // AsyncWorker deletes itself after OnOK/OnError.
  auto* w = new PromiseWorker<R>(env, std::move(work), std::move(done));  // NOLINT: owned by N-API
  auto p = w->promise();
  w->Queue();
  return p;
}

// Promise-returning methods report argument errors by rejecting too, so callers need one error path.
Napi::Value rejected(Napi::Env env, const Napi::Error& e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(e.Value());
  return d.Promise();
}

template <typename F>
Napi::Value as_promise(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    return rejected(env, e);
  } catch (const NativeError& e) {
    return rejected(env, to_js_error(env, e));
  }
}

// What info() returns, computed on the worker after load/quantize so the JS thread never walks weights
// that a pool thread might be replacing.
struct InfoSnapshot {
  std::string architecture, model_type, dtype;
  double num_parameters = 0, weight_bytes = 0;
  std::optional<QuantSpec> quantization;
  int context_length = 0, vocab_size = 0, num_layers = 0, hidden_size = 0;
  bool tie = true;
  Json config;
};

InfoSnapshot snapshot(const LoadedModel& m) {
  InfoSnapshot s;
  const auto& c = m.config();
  s.architecture = m.model()->options().architecture;
  s.model_type = c.model_type;
  s.dtype = m.dtype();
  s.num_parameters = static_cast<double>(m.num_parameters());
  s.weight_bytes = static_cast<double>(m.weight_bytes());
  s.quantization = m.quantization();
  s.context_length = c.max_position_embeddings;
  s.vocab_size = c.vocab_size;
  s.num_layers = c.num_hidden_layers;
  s.hidden_size = c.hidden_size;
  s.tie = c.tie_word_embeddings;
  s.config = m.current_config();
  return s;
}

struct AddonData {
  Napi::FunctionReference model_ctor;
};

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("info", &ModelHandle::info), InstanceMethod("ggufMetadata", &ModelHandle::gguf_metadata),
                        InstanceMethod("generate", &ModelHandle::generate), InstanceMethod("logits", &ModelHandle::logits),
                        InstanceMethod("quantize", &ModelHandle::quantize), InstanceMethod("save", &ModelHandle::save),
                        InstanceMethod("resetCache", &ModelHandle::reset_cache), InstanceMethod("dispose", &ModelHandle::dispose)});
  }

  explicit ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {}

  void attach(std::shared_ptr<LoadedModel> m, InfoSnapshot s) {
    model_ = std::move(m);
    info_ = std::move(s);
  }

 private:
  std::shared_ptr<LoadedModel> model_;
  InfoSnapshot info_;

  std::shared_ptr<LoadedModel> usable(Napi::Env env) const {
    if (!model_) throw to_js_error(env, "E_BAD_ARGUMENT", "this NativeModel was not created by loadModel().");
    if (model_->disposed()) throw to_js_error(env, "E_BAD_ARGUMENT", "this model was disposed; load it again to use it.");
    return model_;
  }

  Napi::Value info(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto o = Napi::Object::New(env);
    o.Set("architecture", info_.architecture);
    o.Set("modelType", info_.model_type);
    o.Set("numParameters", info_.num_parameters);
    o.Set("weightBytes", info_.weight_bytes);
    if (info_.quantization) {
      auto q = Napi::Object::New(env);
      q.Set("bits", info_.quantization->bits);
      q.Set("groupSize", info_.quantization->group_size);
      q.Set("mode", info_.quantization->mode);
      o.Set("quantization", q);
    } else {
      o.Set("quantization", env.Null());
    }
    o.Set("contextLength", info_.context_length);
    o.Set("vocabSize", info_.vocab_size);
    o.Set("numLayers", info_.num_layers);
    o.Set("hiddenSize", info_.hidden_size);
    o.Set("dtype", info_.dtype);
    o.Set("tieWordEmbeddings", info_.tie);
    o.Set("config", to_js(env, info_.config));
    return o;
  }

  Napi::Value gguf_metadata(const Napi::CallbackInfo& cb) {
    if (!model_ || !model_->gguf()) return cb.Env().Null();
    return to_js(cb.Env(), *model_->gguf());
  }

  Napi::Value generate(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    if (cb.Length() < 3 || !cb[0].IsTypedArray() || cb[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !cb[1].IsObject() ||
        !cb[2].IsFunction())
      throw to_js_error(env, "E_BAD_ARGUMENT", "generate(prompt: Int32Array, params: object, onEvent: function) got the wrong arguments.");
#if MLXTS_HAVE_GENERATE
    return StartGeneration(cb, m->slot());
#else
    throw to_js_error(env, "E_MLX", "generation is not built into this addon (native/src/generate.cpp is missing). Rebuild with npm run build:native once it exists.");
#endif
  }

  Napi::Value logits(const Napi::CallbackInfo& cb) {
    return as_promise(cb.Env(), [&] { return logits_impl(cb); });
  }

  Napi::Value logits_impl(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    if (cb.Length() < 1 || !cb[0].IsTypedArray() || cb[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw to_js_error(env, "E_BAD_ARGUMENT", "logits(tokens) needs an Int32Array of token ids.");
    auto arr = cb[0].As<Napi::Int32Array>();
    std::vector<int32_t> tokens(arr.Data(), arr.Data() + arr.ElementLength());
    return run_async<std::vector<float>>(
        env, [m, tokens] { return m->logits(tokens); },
        [](Napi::Env e, std::vector<float>& v) -> Napi::Value {
          auto out = Napi::Float32Array::New(e, v.size());
          std::copy(v.begin(), v.end(), out.Data());
          return out;
        });
  }

  Napi::Value quantize(const Napi::CallbackInfo& cb) {
    return as_promise(cb.Env(), [&] { return quantize_impl(cb); });
  }

  Napi::Value quantize_impl(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    if (cb.Length() < 1 || !cb[0].IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "quantize({bits, groupSize, mode}) needs an options object.");
    auto o = cb[0].As<Napi::Object>();
    QuantSpec spec;
    spec.mode = o.Has("mode") && !o.Get("mode").IsUndefined() ? string_arg(env, o.Get("mode"), "quantize: mode") : "affine";
    const bool mx = spec.mode == "mxfp4" || spec.mode == "mxfp8";
    spec.bits = o.Has("bits") && !o.Get("bits").IsUndefined() ? static_cast<int>(number_arg(env, o.Get("bits"), "quantize: bits"))
                                                               : (spec.mode == "mxfp8" ? 8 : 4);
    spec.group_size = o.Has("groupSize") && !o.Get("groupSize").IsUndefined()
                          ? static_cast<int>(number_arg(env, o.Get("groupSize"), "quantize: groupSize"))
                          : (mx ? 32 : 64);
    if (m->slot()->busy.load())
      throw to_js_error(env, "E_BAD_ARGUMENT", "a generation is running on this model; cancel it or wait for it to finish before quantizing.");
    struct Result {
      QuantizeReport report;
      InfoSnapshot info;
    };
    Napi::Reference<Napi::Object> self = Napi::Persistent(Value());
    auto self_ptr = std::make_shared<Napi::Reference<Napi::Object>>(std::move(self));
    return run_async<Result>(
        env,
        [m, spec] {
          Result r{m->quantize(spec), {}};
          std::lock_guard lock(m->op_mutex());
          r.info = snapshot(*m);
          return r;
        },
        [this, self_ptr](Napi::Env e, Result& r) -> Napi::Value {
          info_ = std::move(r.info);
          auto out = Napi::Object::New(e);
          out.Set("bytesBefore", static_cast<double>(r.report.bytes_before));
          out.Set("bytesAfter", static_cast<double>(r.report.bytes_after));
          out.Set("quantizedLayers", r.report.quantized_layers);
          auto sk = Napi::Array::New(e, r.report.skipped_layers.size());
          for (size_t i = 0; i < r.report.skipped_layers.size(); ++i) sk.Set(static_cast<uint32_t>(i), r.report.skipped_layers[i]);
          out.Set("skippedLayers", sk);
          return out;
        });
  }

  Napi::Value save(const Napi::CallbackInfo& cb) {
    return as_promise(cb.Env(), [&] { return save_impl(cb); });
  }

  Napi::Value save_impl(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    const std::string dir = string_arg(env, cb.Length() ? cb[0] : env.Undefined(), "save(dir): dir");
    return run_async<bool>(
        env, [m, dir] { m->save(dir); return true; }, [](Napi::Env e, bool&) -> Napi::Value { return e.Undefined(); });
  }

  Napi::Value reset_cache(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    auto& slot = *m->slot();
    if (slot.busy.load()) throw to_js_error(env, "E_BAD_ARGUMENT", "a generation is running on this model; cancel it before resetCache().");
    std::lock_guard lock(slot.mu);
    for (auto& c : slot.cache) c.reset();
    slot.cached_tokens.clear();
    return env.Undefined();
  }

  Napi::Value dispose(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    if (!model_ || model_->disposed()) return env.Undefined();
    try {
      model_->dispose();
    } catch (const NativeError& e) {
      throw to_js_error(env, e);
    }
    return env.Undefined();
  }
};

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
  if (cb.Length() < 1 || !cb[0].IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel({path, dtype?}) needs an options object.");
  auto o = cb[0].As<Napi::Object>();
  LoadOptions opts;
  opts.path = string_arg(env, o.Get("path"), "loadModel: path");
  if (o.Has("dtype") && !o.Get("dtype").IsUndefined() && !o.Get("dtype").IsNull()) {
    const auto d = string_arg(env, o.Get("dtype"), "loadModel: dtype");
    if (d == "bfloat16") opts.dtype = mx::bfloat16;
    else if (d == "float16") opts.dtype = mx::float16;
    else if (d == "float32") opts.dtype = mx::float32;
    else throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: dtype must be \"bfloat16\", \"float16\" or \"float32\", not \"" + d + "\".");
  }
  struct Loaded {
    std::shared_ptr<LoadedModel> model;
    InfoSnapshot info;
  };
  return run_async<Loaded>(
      env,
      [opts] {
        std::lock_guard lock(mlx_job_mutex());
        Loaded l{LoadedModel::load(opts), {}};
        l.info = snapshot(*l.model);
        return l;
      },
      [](Napi::Env e, Loaded& l) -> Napi::Value {
        auto* data = e.GetInstanceData<AddonData>();
        auto obj = data->model_ctor.New({});
        ModelHandle::Unwrap(obj)->attach(l.model, std::move(l.info));
        return obj;
      });
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
  auto data = std::make_unique<AddonData>();
  data->model_ctor = Napi::Persistent(ModelHandle::define(env));
  env.SetInstanceData<AddonData>(data.release());  // N-API owns it from here and deletes it at env teardown
  exports.Set("runtime", Napi::Function::New(env, js_runtime, "runtime"));
  exports.Set("loadModel", Napi::Function::New(env, js_load_model, "loadModel"));
  exports.Set("memory", Napi::Function::New(env, js_memory, "memory"));
  exports.Set("resetPeakMemory", Napi::Function::New(env, js_reset_peak, "resetPeakMemory"));
  exports.Set("setMemoryLimit", Napi::Function::New(env, js_set_memory_limit, "setMemoryLimit"));
  exports.Set("setCacheLimit", Napi::Function::New(env, js_set_cache_limit, "setCacheLimit"));
  exports.Set("clearCache", Napi::Function::New(env, js_clear_cache, "clearCache"));
  exports.Set("setDefaultDevice", Napi::Function::New(env, js_set_default_device, "setDefaultDevice"));
  return exports;
}

}  // namespace

}  // namespace mlxts

static Napi::Object InitMlxTs(Napi::Env env, Napi::Object exports) { return mlxts::init(env, exports); }

NODE_API_MODULE(mlx_ts, InitMlxTs)
