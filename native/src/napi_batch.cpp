// The batch's events reach JS through one thread-safe function: tokens pile up per row while JS is busy
// and go out as one "tokens" event per row, then each finished row's "done"/"error", then "end".
#include "napi_batch.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch_loop.h"
#include "generation_pool.h"
#include "napi_generate.h"

namespace mlxts {
namespace {

struct BatchState;
void CallJs(Napi::Env env, Napi::Function callback, BatchState* st, void* data);
using Tsfn = Napi::TypedThreadSafeFunction<BatchState, void, CallJs>;

struct BatchState : BatchSink {
  std::shared_ptr<ModelSlot> slot;
  BatchQueue queue;
  Tsfn tsfn;
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool worker_done = false;

  std::mutex mu;
  std::vector<std::pair<int, std::vector<int32_t>>> tokens;  // per row, in arrival order of the rows
  std::vector<std::pair<int, Outcome>> outcomes;
  bool ended = false, end_delivered = false, notify_queued = false;

  void post_locked_then_call(bool post) {
    if (post) tsfn.NonBlockingCall();
  }
  void token(int id, int32_t t) override {
    bool post = false;
    {
      std::lock_guard lk(mu);
      auto it = std::find_if(tokens.begin(), tokens.end(), [&](const auto& p) { return p.first == id; });
      if (it == tokens.end()) tokens.emplace_back(id, std::vector<int32_t>{t});
      else it->second.push_back(t);
      post = !notify_queued;
      notify_queued = true;
    }
    post_locked_then_call(post);
  }
  void closing() override { slot->busy.store(false); }
  void done(int id, Outcome o) override {
    bool post = false;
    {
      std::lock_guard lk(mu);
      outcomes.emplace_back(id, std::move(o));
      post = !notify_queued;
      notify_queued = true;
    }
    post_locked_then_call(post);
  }
};

void CallJs(Napi::Env env, Napi::Function callback, BatchState* st, void*) {
  if (static_cast<napi_env>(env) == nullptr || st == nullptr || callback.IsEmpty()) return;
  std::vector<std::pair<int, std::vector<int32_t>>> tokens;
  std::vector<std::pair<int, Outcome>> outcomes;
  bool end = false;
  {
    std::lock_guard lk(st->mu);
    tokens.swap(st->tokens);
    outcomes.swap(st->outcomes);
    st->notify_queued = false;
    if (st->ended && !st->end_delivered) end = st->end_delivered = true;
  }
  std::optional<Napi::Error> thrown;
  auto call = [&](Napi::Object ev) {
    try {
      callback.Call({ev});
    } catch (const Napi::Error& e) {
      if (!thrown) thrown = e;
    }
  };
  for (auto& [id, toks] : tokens) {
    auto arr = Napi::Array::New(env, toks.size());
    for (size_t i = 0; i < toks.size(); ++i) arr.Set(static_cast<uint32_t>(i), toks[i]);
    auto ev = Napi::Object::New(env);
    ev.Set("type", "tokens");
    ev.Set("row", id);
    ev.Set("tokens", arr);
    call(ev);
  }
  for (auto& [id, o] : outcomes) {
    auto ev = Napi::Object::New(env);
    ev.Set("row", id);
    if (o.error) {
      ev.Set("type", "error");
      ev.Set("code", o.error->code());
      ev.Set("message", o.error->what());
    } else {
      ev.Set("type", "done");
    }
    ev.Set("stats", stats_to_js(env, o.stats));
    call(ev);
  }
  if (end) {
    auto ev = Napi::Object::New(env);
    ev.Set("type", "end");
    call(ev);
  }
  if (thrown) thrown->ThrowAsJavaScriptException();
}

[[noreturn]] void throw_code(Napi::Env env, const char* code, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", code);
  throw err;
}

// One row from JS, checked as generate() checks its arguments; what a batch cannot run is refused by name.
BatchRowRequest read_row(Napi::Env env, const Napi::Value& v, int vocab, Clock::time_point t_call) {
  if (!v.IsObject()) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: each row must be { id, prompt: Int32Array, params }.");
  auto o = v.As<Napi::Object>();
  BatchRowRequest r;
  auto id = o.Get("id");
  if (!id.IsNumber()) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: row.id must be an integer.");
  r.id = id.As<Napi::Number>().Int32Value();
  auto prompt = o.Get("prompt");
  if (!prompt.IsTypedArray() || prompt.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_code(env, "E_BAD_ARGUMENT", "generateBatch: row.prompt must be an Int32Array of token ids.");
  auto arr = prompt.As<Napi::Int32Array>();
  if (arr.ElementLength() == 0) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: a row's prompt is empty; pass at least one token id.");
  r.prompt.assign(arr.Data(), arr.Data() + arr.ElementLength());
  for (size_t i = 0; i < r.prompt.size(); ++i)
    if (r.prompt[i] < 0 || r.prompt[i] >= vocab)
      throw_code(env, "E_BAD_ARGUMENT", "generateBatch: prompt token " + std::to_string(r.prompt[i]) + " at position " + std::to_string(i) +
                                            " is outside the vocabulary [0, " + std::to_string(vocab) + ").");
  r.params = parse_params(env, o.Get("params"), vocab);
  if (r.params.draft) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: a draft model is not supported in a batch (speculative decoding runs one row).");
  auto cont = o.Get("continueSlot");
  r.continue_slot = cont.IsBoolean() && cont.As<Napi::Boolean>().Value();
  r.t_call = t_call;
  return r;
}

}  // namespace

Napi::Value StartBatch(const Napi::CallbackInfo& info, std::shared_ptr<ModelSlot> slot) {
  Napi::Env env = info.Env();
  const auto t_call = Clock::now();
  if (!slot || !slot->model) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: this model was disposed; load it again.");
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsFunction())
    throw_code(env, "E_BAD_ARGUMENT", "generateBatch(rows: {id, prompt, params}[], onEvent: function) got the wrong arguments.");
  const int vocab = slot->model->vocab_size();
  auto first = info[0].As<Napi::Array>();
  if (first.Length() == 0) throw_code(env, "E_BAD_ARGUMENT", "generateBatch: pass at least one row.");
  std::vector<BatchRowRequest> rows;
  for (uint32_t i = 0; i < first.Length(); ++i) rows.push_back(read_row(env, first.Get(i), vocab, t_call));

  bool expected = false;
  if (!slot->busy.compare_exchange_strong(expected, true))
    throw_code(env, "E_BUSY", "generateBatch: a generation already runs on this model; wait for it or cancel it.");

  auto st = std::make_shared<BatchState>();
  st->slot = slot;
  for (auto& r : rows) st->queue.add(std::move(r));
  st->tsfn = Tsfn::New(env, info[1].As<Napi::Function>(), "mlx-ts-batch", 0, 1, st.get(), [keep = st](Napi::Env, void*, BatchState*) {
    keep->queue.cancel_all();
    std::unique_lock lk(keep->done_mu);
    keep->done_cv.wait(lk, [&] { return keep->worker_done; });
  });
  auto finish_worker = [](BatchState& s) {
    {
      std::lock_guard lk(s.done_mu);
      s.worker_done = true;
    }
    s.done_cv.notify_all();
  };
  try {
    GenerationPool::instance().submit([st, finish_worker] {
      {
        std::unique_lock lk(st->slot->mu);
        run_batch(*st->slot, st->queue, *st);
      }
      // run_batch freed the model (closing()) before the last rows' "done": a generation may already run on it.
      {
        std::lock_guard lk(st->mu);
        st->ended = true;
      }
      st->tsfn.BlockingCall();
      st->tsfn.Release();
      finish_worker(*st);
    });
  } catch (const std::system_error& e) {
    slot->busy.store(false);
    finish_worker(*st);
    st->tsfn.Release();
    throw_code(env, "E_MLX", std::string("generateBatch: could not start the generation thread (") + e.what() + ").");
  }

  auto handle = Napi::Object::New(env);
  handle.Set("add", Napi::Function::New(
                        env,
                        [st, vocab](const Napi::CallbackInfo& ci) -> Napi::Value {
                          auto r = read_row(ci.Env(), ci[0], vocab, Clock::now());
                          return Napi::Boolean::New(ci.Env(), st->queue.add(std::move(r)));
                        },
                        "add"));
  handle.Set("cancel", Napi::Function::New(
                           env,
                           [st](const Napi::CallbackInfo& ci) -> Napi::Value {
                             if (ci.Length() > 0 && ci[0].IsNumber()) st->queue.cancel(ci[0].As<Napi::Number>().Int32Value());
                             return ci.Env().Undefined();
                           },
                           "cancel"));
  handle.Set("cancelAll", Napi::Function::New(
                              env,
                              [st](const Napi::CallbackInfo& ci) -> Napi::Value {
                                st->queue.cancel_all();
                                return ci.Env().Undefined();
                              },
                              "cancelAll"));
  return handle;
}

}  // namespace mlxts
