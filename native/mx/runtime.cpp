// Evaluation (blocking and asynchronous), device availability and streams. Memory counters, limits and
// the default device are bound once, by the engine addon (native/src/memory.cpp): see kernel/README.md.
#include <algorithm>

#include <mlx/primitives.h>

#include "common.h"

namespace mlxts::mxb {

namespace {

// Waits on a worker thread until the streams that compute arrays scheduled with async_eval have drained.
// Only Stream values cross threads (mx::synchronize enqueues a marker and waits for it); the arrays
// themselves are touched on the JS thread alone (OnOK calls wait(), which is then immediate and
// surfaces any error MLX recorded).
class EvalWaiter : public Napi::AsyncWorker {
 public:
  EvalWaiter(Napi::Env env, std::vector<mx::array> arrays, std::vector<mx::Stream> streams)
      : Napi::AsyncWorker(env, "mx.asyncEval"), deferred_(Napi::Promise::Deferred::New(env)), arrays_(std::move(arrays)), streams_(std::move(streams)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      for (auto& s : streams_) mx::synchronize(s);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      for (auto& a : arrays_) a.wait();
      deferred_.Resolve(env.Undefined());
    } catch (const std::exception& e) {
      deferred_.Reject(translate(env, e, "asyncEval").Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    deferred_.Reject(js_error(Env(), "E_MLX", "mx.asyncEval failed: " + e.Message() + " Check the arrays' shapes and dtypes.").Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<mx::array> arrays_;
  std::vector<mx::Stream> streams_;
};

mx::Device to_device(const std::string& name) {
  if (name == "cpu") return mx::Device::cpu;
  if (name == "gpu") return mx::Device::gpu;
  bad_argument("device must be \"cpu\" or \"gpu\", got \"" + name + "\".");
}

Napi::Object stream_object(Napi::Env env, const mx::Stream& s) {
  auto o = Napi::Object::New(env);
  o.Set("index", Napi::Number::New(env, s.index));
  o.Set("device", Napi::String::New(env, s.device == mx::Device::gpu ? "gpu" : "cpu"));
  return o;
}

mx::Stream to_stream(const Napi::Value& v) {
  if (!v.IsObject()) bad_argument("stream must be an object from mx.newStream() or mx.defaultStream().");
  Napi::Object o = v.As<Napi::Object>();
  return mx::Stream(to_int(o.Get("index"), "stream.index"), to_device(to_string(o.Get("device"), "stream.device")));
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  def(env, exports, "eval", [](const Napi::CallbackInfo& info) -> Napi::Value {
    mx::eval(unwrap_all(info[0], "arrays"));
    return info.Env().Undefined();
  });
  def(env, exports, "asyncEval", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto arrays = unwrap_all(info[0], "arrays");
    std::vector<mx::Stream> streams;
    for (auto& a : arrays) {
      if (!a.has_primitive()) continue;
      mx::Stream s = a.primitive().stream();
      if (std::find(streams.begin(), streams.end(), s) == streams.end()) streams.push_back(s);
    }
    mx::async_eval(arrays);
    auto worker = std::make_unique<EvalWaiter>(info.Env(), std::move(arrays), std::move(streams));
    Napi::Promise p = worker->promise();
    worker.release()->Queue();  // AsyncWorker deletes itself after OnOK/OnError
    return p;
  });
  def(env, exports, "isAvailable", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), mx::is_available(to_device(to_string(info[0], "device"))));
  });
  def(env, exports, "setPrintPrecision", [](const Napi::CallbackInfo& info) -> Napi::Value {
    mx::set_printoptions(mx::PrintOptions{to_int(info[0], "precision")});
    return info.Env().Undefined();
  });
  def(env, exports, "newStream", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return stream_object(info.Env(), mx::new_stream(to_device(to_string(info[0], "device"))));
  });
  def(env, exports, "defaultStream", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return stream_object(info.Env(), mx::default_stream(to_device(to_string(info[0], "device"))));
  });
  def(env, exports, "setDefaultStream", [](const Napi::CallbackInfo& info) -> Napi::Value {
    mx::set_default_stream(to_stream(info[0]));
    return info.Env().Undefined();
  });
  def(env, exports, "synchronize", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info[0].IsUndefined() || info[0].IsNull()) mx::synchronize();
    else mx::synchronize(to_stream(info[0]));
    return info.Env().Undefined();
  });
  def(env, exports, "version", [](const Napi::CallbackInfo& info) -> Napi::Value { return Napi::String::New(info.Env(), mx::version()); });
  def(env, exports, "setErrorClass", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (!info[0].IsFunction()) bad_argument("setErrorClass takes a constructor.");
    addon_data(info.Env()).error_ctor = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  });
}

}  // namespace mlxts::mxb
