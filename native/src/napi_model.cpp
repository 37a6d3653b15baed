#include "napi_model.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "napi_async.h"
#include "napi_batch.h"
#include "napi_generate.h"
#include "napi_prompt_cache.h"
#include "napi_values.h"

namespace mlxts {

InfoSnapshot snapshot(const LoadedModel& m) {
  InfoSnapshot s;
  const auto& c = m.config();
  s.architecture = m.model()->architecture().name;
  s.hf_class = m.model()->architecture().hf_class;
  s.model_type = c.model_type;
  s.dtype = m.dtype();
  s.num_parameters = static_cast<double>(m.num_parameters());
  s.weight_bytes = static_cast<double>(m.weight_bytes());
  s.quant = m.quant_layout();
  s.context_length = c.max_position_embeddings;
  s.vocab_size = c.vocab_size;
  s.num_layers = c.num_hidden_layers;
  s.hidden_size = c.hidden_size;
  s.tie = m.model()->tied();
  return s;
}

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("info", &ModelHandle::info),
                        InstanceMethod("generate", &ModelHandle::generate), InstanceMethod("logits", &ModelHandle::logits),
                        InstanceMethod("quantize", &ModelHandle::quantize), InstanceMethod("save", &ModelHandle::save),
                        InstanceMethod("resetCache", &ModelHandle::reset_cache), InstanceMethod("dispose", &ModelHandle::dispose),
                        InstanceMethod("savePromptCache", &ModelHandle::save_prompt_cache),
                        InstanceMethod("loadPromptCache", &ModelHandle::load_prompt_cache),
                        InstanceMethod("generateBatch", &ModelHandle::generate_batch)});
  }

  explicit ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {}

  void attach(std::shared_ptr<LoadedModel> m, InfoSnapshot s, Napi::Object hf_config) {
    model_ = std::move(m);
    info_ = std::move(s);
    hf_config_ = Napi::Persistent(hf_config);
  }
  const std::shared_ptr<LoadedModel>& loaded() const { return model_; }

 private:
  std::shared_ptr<LoadedModel> model_;
  InfoSnapshot info_;
  Napi::ObjectReference hf_config_;

  // hfConfig with what the weights now are: "quantization" (and its HF alias) as mlx-lm writes it,
  // tie_word_embeddings as resolved, and "architectures" when the source had none (GGUF).
  Napi::Object current_config(Napi::Env env) const {
    auto out = Napi::Object::New(env);
    if (!hf_config_.IsEmpty()) {
      auto src = hf_config_.Value();
      auto keys = src.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        auto k = keys.Get(i).As<Napi::String>().Utf8Value();
        if (k != "quantization" && k != "quantization_config") out.Set(k, src.Get(k));
      }
    }
    out.Set("model_type", info_.model_type);
    out.Set("tie_word_embeddings", info_.tie);
    if (!out.Has("architectures") && !info_.hf_class.empty()) {
      auto arr = Napi::Array::New(env, 1);
      arr.Set(0u, info_.hf_class);
      out.Set("architectures", arr);
    }
    if (info_.quant.common) {
      out.Set("quantization", quant_layout_to_js(env, info_.quant));
      out.Set("quantization_config", quant_layout_to_js(env, info_.quant));
    }
    return out;
  }

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
    if (info_.quant.common) {
      auto q = Napi::Object::New(env);
      q.Set("bits", info_.quant.common->bits);
      q.Set("groupSize", info_.quant.common->group_size);
      q.Set("mode", info_.quant.common->mode);
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
    o.Set("config", current_config(env));
    return o;
  }

  Napi::Value generate(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    if (cb.Length() < 3 || !cb[0].IsTypedArray() || cb[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !cb[1].IsObject() ||
        !cb[2].IsFunction())
      throw to_js_error(env, "E_BAD_ARGUMENT", "generate(prompt: Int32Array, params: object, onEvent: function) got the wrong arguments.");
    return StartGeneration(cb, m->slot());
  }

  // batch: batched and continuous generation (napi_batch.cpp)
  Napi::Value generate_batch(const Napi::CallbackInfo& cb) {
    Napi::Env env = cb.Env();
    auto m = usable(env);
    return StartBatch(cb, m->slot());
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
    int last = 1;
    if (cb.Length() > 1 && !cb[1].IsUndefined()) {
      if (!cb[1].IsNumber()) throw to_js_error(env, "E_BAD_ARGUMENT", "logits(tokens, positions): positions must be a number.");
      last = cb[1].As<Napi::Number>().Int32Value();
    }
    return run_async<std::vector<float>>(
        env, [m, tokens, last] { return m->logits(tokens, last); },
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
    Napi::Reference<Napi::Object> self = Napi::Persistent(Value());
    auto self_ptr = std::make_shared<Napi::Reference<Napi::Object>>(std::move(self));
    return run_async<SaveReport>(
        env, [m, dir] { return m->save(dir); },
        [this, self_ptr, dir](Napi::Env e, SaveReport& r) -> Napi::Value {
          // The JSON side files are written here, on the JS thread, with JSON.stringify.
          auto index = Napi::Object::New(e);
          auto meta = Napi::Object::New(e);
          meta.Set("total_size", static_cast<double>(r.total_bytes));
          meta.Set("total_parameters", static_cast<double>(r.total_parameters));
          index.Set("metadata", meta);
          auto wm = Napi::Object::New(e);
          for (const auto& [tensor, file] : r.weight_map) wm.Set(tensor, file);
          index.Set("weight_map", wm);
          write_json_file(e, dir + "/model.safetensors.index.json", index, false);
          auto cfg = current_config(e);
          cfg.Delete("_name_or_path");
          write_json_file(e, dir + "/config.json", cfg, true);
          return e.Undefined();
        });
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

  Napi::Value save_prompt_cache(const Napi::CallbackInfo& cb) {
    return as_promise(cb.Env(), [&] { return save_prompt_cache_js(cb, usable(cb.Env())); });
  }
  Napi::Value load_prompt_cache(const Napi::CallbackInfo& cb) {
    return as_promise(cb.Env(), [&] { return load_prompt_cache_js(cb, usable(cb.Env())); });
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


Napi::Function define_model_class(Napi::Env env) { return ModelHandle::define(env); }

Napi::Object wrap_model(Napi::Env env, std::shared_ptr<LoadedModel> m, InfoSnapshot info, Napi::Object hf_config) {
  auto* data = env.GetInstanceData<AddonData>();
  auto obj = data->model_ctor.New({});
  ModelHandle::Unwrap(obj)->attach(std::move(m), std::move(info), hf_config);
  return obj;
}

std::shared_ptr<LoadedModel> unwrap_model(Napi::Env env, const Napi::Value& v) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || data == nullptr || !v.As<Napi::Object>().InstanceOf(data->model_ctor.Value())) return nullptr;
  return ModelHandle::Unwrap(v.As<Napi::Object>())->loaded();
}

}  // namespace mlxts
