#include "train/napi_train.h"

#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "errors.h"
#include "generation_pool.h"
#include "napi_async.h"
#include "napi_model.h"
#include "napi_values.h"
#include "train/fuse.h"
#include "train/trainer.h"

namespace mlxts {

namespace {

[[noreturn]] void bad(Napi::Env env, const std::string& m) { throw to_js_error(env, "E_BAD_ARGUMENT", m); }

double num(Napi::Env env, const Napi::Object& o, const char* key, std::optional<double> fallback) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (fallback) return *fallback;
    bad(env, std::string("train: params.") + key + " is required.");
  }
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) bad(env, std::string("train: params.") + key + " must be a finite number.");
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<int32_t> ints(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) bad(env, std::string("train: ") + what + " must be an Int32Array.");
  auto a = v.As<Napi::Int32Array>();
  return {a.Data(), a.Data() + a.ElementLength()};
}

LoraConfig lora_config(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) bad(env, "LoRA config must be an object {rank, scale, numLayers, keys}.");
  auto o = v.As<Napi::Object>();
  LoraConfig c;
  c.rank = static_cast<int>(num(env, o, "rank", 8));
  c.scale = static_cast<float>(num(env, o, "scale", 20));
  c.num_layers = static_cast<int>(num(env, o, "numLayers", 16));
  auto keys = o.Get("keys");
  if (keys.IsArray())
    for (uint32_t i = 0; i < keys.As<Napi::Array>().Length(); ++i) c.keys.push_back(string_arg(env, keys.As<Napi::Array>().Get(i), "LoRA keys[i]"));
  return c;
}

std::shared_ptr<LoadedModel> model_arg(const Napi::CallbackInfo& cb, const char* fn) {
  auto m = cb.Length() ? unwrap_model(cb.Env(), cb[0]) : nullptr;
  if (!m) bad(cb.Env(), std::string(fn) + ": the first argument must be a NativeModel.");
  if (m->disposed()) bad(cb.Env(), std::string(fn) + ": this model was disposed; load it again.");
  return m;
}

// Holds slot->busy (no generation, quantize or dispose meanwhile) until released.
struct Busy {
  std::shared_ptr<ModelSlot> slot;
  explicit Busy(std::shared_ptr<ModelSlot> s) : slot(std::move(s)) {}
  ~Busy() { if (slot) slot->busy.store(false); }
};
std::shared_ptr<Busy> claim(Napi::Env env, const std::shared_ptr<ModelSlot>& slot) {
  bool expected = false;
  if (!slot->busy.compare_exchange_strong(expected, true)) bad(env, "the model is busy (a generation, quantize or training runs on it); wait for it or cancel it.");
  return std::make_shared<Busy>(slot);
}

struct Event {
  std::optional<StepReport> step;
  std::optional<TrainOutcome> done;
  std::optional<NativeError> error;
};

struct TrainState {
  std::atomic<bool> cancel{false};
  Napi::ThreadSafeFunction tsfn;
  std::mutex mu;
  std::condition_variable cv;
  bool worker_done = false;
};

void deliver(Napi::Env env, Napi::Function cb, Event* ev) {
  std::unique_ptr<Event> owned(ev);
  if (env == nullptr || cb.IsEmpty()) return;
  auto o = Napi::Object::New(env);
  if (ev->step) {
    const auto& r = *ev->step;
    o.Set("type", "step");
    o.Set("step", r.step);
    o.Set("loss", r.loss);
    o.Set("tokens", r.tokens);
    o.Set("trainedTokens", r.trained_tokens);
    o.Set("elapsedS", r.elapsed_s);
    o.Set("tokensPerSec", r.tokens_per_sec);
    o.Set("peakMemory", r.peak_memory);
    if (!r.saved.empty()) o.Set("saved", r.saved);
    if (r.val_loss) {
      o.Set("valLoss", *r.val_loss);
      o.Set("valS", r.val_s);
    }
  } else if (ev->done) {
    o.Set("type", "done");
    o.Set("steps", ev->done->steps);
    o.Set("cancelled", ev->done->cancelled);
    o.Set("compiled", ev->done->compiled);
    if (!ev->done->uncompiled_reason.empty()) o.Set("uncompiledReason", ev->done->uncompiled_reason);
    o.Set("layers", static_cast<double>(ev->done->adapter.layers.size()));
    if (!ev->done->saved.empty()) o.Set("saved", ev->done->saved);
  } else {
    o.Set("type", "error");
    o.Set("code", ev->error->code());
    o.Set("message", ev->error->what());
  }
  cb.Call({o});
}

}  // namespace

Napi::Value js_train(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  auto m = model_arg(cb, "train");
  if (cb.Length() < 3 || !cb[1].IsObject() || !cb[2].IsFunction()) bad(env, "train(model, params, onEvent): params must be an object and onEvent a function.");
  auto o = cb[1].As<Napi::Object>();
  auto p = std::make_shared<TrainParams>();
  p->lora = lora_config(env, o.Get("lora"));
  auto ex = o.Get("examples");
  if (!ex.IsArray()) bad(env, "train: params.examples must be an array of Int32Array.");
  const int vocab = m->model()->vocab_size();
  for (uint32_t i = 0; i < ex.As<Napi::Array>().Length(); ++i) {
    p->examples.push_back(ints(env, ex.As<Napi::Array>().Get(i), "params.examples[i]"));
    for (auto t : p->examples.back())
      if (t < 0 || t >= vocab) bad(env, "train: example " + std::to_string(i) + " has token " + std::to_string(t) + " outside the vocabulary.");
  }
  p->offsets = ints(env, o.Get("offsets"), "params.offsets");
  if (p->offsets.size() != p->examples.size()) bad(env, "train: params.offsets needs one entry per example.");
  p->schedule = ints(env, o.Get("schedule"), "params.schedule");
  p->iters = static_cast<int>(num(env, o, "iters", std::nullopt));
  p->batch_size = static_cast<int>(num(env, o, "batchSize", std::nullopt));
  p->grad_accum = static_cast<int>(num(env, o, "gradAccum", 1));
  p->max_seq_len = static_cast<int>(num(env, o, "maxSeqLength", 2048));
  p->learning_rate = static_cast<float>(num(env, o, "learningRate", 1e-5));
  p->weight_decay = static_cast<float>(num(env, o, "weightDecay", 0.01));
  p->seed = static_cast<uint64_t>(num(env, o, "seed", 0));
  p->save_every = static_cast<int>(num(env, o, "saveEvery", 0));
  // validation: valExamples (Int32Array[]), valOffsets, evals [{step, batches: Int32Array[]}]
  auto vex = o.Get("valExamples");
  if (vex.IsArray()) {
    for (uint32_t i = 0; i < vex.As<Napi::Array>().Length(); ++i) {
      p->val_examples.push_back(ints(env, vex.As<Napi::Array>().Get(i), "params.valExamples[i]"));
      for (auto t : p->val_examples.back())
        if (t < 0 || t >= vocab) bad(env, "train: validation example " + std::to_string(i) + " has token " + std::to_string(t) + " outside the vocabulary.");
    }
    p->val_offsets = ints(env, o.Get("valOffsets"), "params.valOffsets");
  }
  auto evals = o.Get("evals");
  if (evals.IsArray()) {
    for (uint32_t i = 0; i < evals.As<Napi::Array>().Length(); ++i) {
      auto e = evals.As<Napi::Array>().Get(i);
      if (!e.IsObject()) bad(env, "train: params.evals[i] must be {step, batches}.");
      TrainParams::Evaluation ev;
      ev.step = static_cast<int>(num(env, e.As<Napi::Object>(), "step", std::nullopt));
      auto bs = e.As<Napi::Object>().Get("batches");
      if (!bs.IsArray()) bad(env, "train: params.evals[i].batches must be an array of Int32Array.");
      for (uint32_t j = 0; j < bs.As<Napi::Array>().Length(); ++j) ev.batches.push_back(ints(env, bs.As<Napi::Array>().Get(j), "params.evals[i].batches[j]"));
      p->evals.push_back(std::move(ev));
    }
  }
  auto optim = o.Get("optimizer");
  if (optim.IsString()) {
    const auto s = optim.As<Napi::String>().Utf8Value();
    if (s != "adam" && s != "adamw") bad(env, "train: optimizer must be \"adam\" or \"adamw\", not \"" + s + "\".");
    p->adamw = s == "adamw";
  }
  auto dir = o.Get("adapterDir");
  if (dir.IsString()) p->adapter_dir = dir.As<Napi::String>().Utf8Value();
  auto init = o.Get("initAdapter");
  std::string init_file = init.IsString() ? init.As<Napi::String>().Utf8Value() : "";

  auto slot = m->slot();
  auto busy = claim(env, slot);
  auto st = std::make_shared<TrainState>();
  st->tsfn = Napi::ThreadSafeFunction::New(env, cb[2].As<Napi::Function>(), "mlx-ts-train", 0, 1, [st](Napi::Env) {
    // Environment teardown mid-run: stop at the next step and wait for the worker to leave MLX.
    st->cancel.store(true);
    std::unique_lock lk(st->mu);
    st->cv.wait(lk, [&] { return st->worker_done; });
  });
  auto work = [st, p, slot, busy, init_file, m]() mutable {
    Event* last = new Event();
    try {
      worker_stream();
      std::lock_guard lk(slot->mu);
      if (!init_file.empty()) p->init_adapter = mx::load_safetensors(init_file).first;
      detach_lora(*slot->model);
      slot->cached_tokens.clear();  // the KV cache was computed without this adapter
      auto out = run_training(*slot->model, *p, st->cancel, [&](const StepReport& r) {
        auto* ev = new Event();
        ev->step = r;
        st->tsfn.BlockingCall(ev, deliver);
      });
      slot->cached_tokens.clear();
      last->done = std::move(out);
    } catch (const std::exception& e) {
      detach_lora(*slot->model);
      last->error = classify_exception(e, "");
    }
    busy.reset();
    st->tsfn.BlockingCall(last, deliver);
    st->tsfn.Release();
    {
      std::lock_guard lk(st->mu);
      st->worker_done = true;
    }
    st->cv.notify_all();
  };
  try {
    GenerationPool::instance().submit(work);
  } catch (const std::system_error& e) {
    st->worker_done = true;
    st->tsfn.Release();
    throw to_js_error(env, "E_MLX", std::string("train: could not start the training thread (") + e.what() + ").");
  }
  auto h = Napi::Object::New(env);
  h.Set("cancel", Napi::Function::New(env, [st](const Napi::CallbackInfo& ci) -> Napi::Value {
          st->cancel.store(true);
          return ci.Env().Undefined();
        }, "cancel"));
  return h;
}

Napi::Value js_set_adapter(const Napi::CallbackInfo& cb) {
  return as_promise(cb.Env(), [&]() -> Napi::Value {
    Napi::Env env = cb.Env();
    auto m = model_arg(cb, "setAdapter");
    std::optional<std::string> file;
    if (cb.Length() > 1 && cb[1].IsString()) file = cb[1].As<Napi::String>().Utf8Value();
    else if (cb.Length() > 1 && !cb[1].IsNull() && !cb[1].IsUndefined()) bad(env, "setAdapter: the file must be a path string, or null to remove the adapter.");
    LoraConfig cfg = file ? lora_config(env, cb.Length() > 2 ? cb[2] : env.Undefined()) : LoraConfig{};
    auto slot = m->slot();
    auto busy = claim(env, slot);
    return run_async<int>(
        env,
        [file, cfg, slot, busy, m]() {
          std::lock_guard lk(slot->mu);
          detach_lora(*slot->model);
          slot->cached_tokens.clear();
          if (!file) return 0;
          auto w = mx::load_safetensors(*file).first;
          return static_cast<int>(attach_lora(*slot->model, cfg, 0, w).layers.size());
        },
        [](Napi::Env e, int& n) -> Napi::Value { return Napi::Number::New(e, n); });
  });
}

Napi::Value js_fuse(const Napi::CallbackInfo& cb) {
  return as_promise(cb.Env(), [&]() -> Napi::Value {
    Napi::Env env = cb.Env();
    auto m = model_arg(cb, "fuse");
    const std::string dir = string_arg(env, cb.Length() > 1 ? cb[1] : env.Undefined(), "fuse(model, dir): dir");
    bool dequantize = false;
    if (cb.Length() > 2 && cb[2].IsObject()) {
      auto d = cb[2].As<Napi::Object>().Get("dequantize");
      dequantize = d.IsBoolean() && d.As<Napi::Boolean>().Value();
    }
    auto slot = m->slot();
    auto busy = claim(env, slot);
    return run_async<FuseReport>(
        env,
        [dir, dequantize, slot, busy, m]() {
          std::lock_guard lk(slot->mu);
          return fuse_and_save(*slot->model, dir, dequantize);
        },
        [](Napi::Env e, FuseReport& r) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("fusedLayers", r.fused_layers);
          o.Set("dequantizedLayers", r.dequantized_layers);
          o.Set("totalBytes", static_cast<double>(r.total_bytes));
          o.Set("totalParameters", static_cast<double>(r.total_parameters));
          auto wm = Napi::Object::New(e);
          for (const auto& [tensor, file] : r.weight_map) wm.Set(tensor, file);
          o.Set("weightMap", wm);
          return o;
        });
  });
}

}  // namespace mlxts
