// Promise plumbing shared by the addon's methods: work on libuv's pool, settled on the JS thread.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "errors.h"
#include "napi_values.h"

namespace mlxts {

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
inline Napi::Value rejected(Napi::Env env, const Napi::Error& e) {
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

}  // namespace mlxts
