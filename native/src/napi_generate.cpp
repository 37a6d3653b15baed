// generate() of NativeModel: argument checks, the worker hand-off and the events JS receives through a
// thread-safe function (kernel/engine/native-types.ts NativeGenerationEvent).
#include "napi_generate.h"

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dist/rank.h"
#include "generation_loop.h"
#include "generation_pool.h"
#include "napi_model.h"
#include "speculative_loop.h"

namespace mlxts {
namespace {

struct GenState;
class BusyGuard;
void CallJs(Napi::Env env, Napi::Function callback, GenState* st, void* data);
using Tsfn = Napi::TypedThreadSafeFunction<GenState, void, CallJs>;

// Shared by the worker, the JS `NativeGeneration` object and the thread-safe function's finalizer.
struct GenState {
  std::shared_ptr<ModelSlot> slot;
  std::vector<int32_t> prompt;
  GenParams params;
  Clock::time_point t_call;
  std::atomic<bool> cancel{false};
  Tsfn tsfn;
  // Set by the worker as its very last touch of this state; the finalizer waits for it.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool worker_done = false;

  // Hand-off to the JS thread. Tokens pile up in `pending` while JS is busy and go out as one event.
  std::mutex mu;
  std::vector<int32_t> pending;
  std::vector<int32_t> spare;  // JS thread: swapped with `pending` so the worker reuses its capacity
  std::vector<int32_t> pending_drafted, spare_drafted;  // indices into `pending` of accepted draft tokens
  bool notify_queued = false;
  std::optional<Outcome> outcome;
  bool outcome_delivered = false;
  // Speculative decoding: keeps the draft's slot busy for the run (declared below; reset by the worker).
  std::unique_ptr<BusyGuard> draft_guard;
};

// Clears slot->busy when the generation ends, whichever way it ends.
class BusyGuard {
 public:
  explicit BusyGuard(std::shared_ptr<ModelSlot> slot) : slot_(std::move(slot)) {}
  BusyGuard(BusyGuard&& o) noexcept : slot_(std::move(o.slot_)) {}
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;
  BusyGuard& operator=(BusyGuard&&) = delete;
  ~BusyGuard() { release(); }
  void release() {
    if (slot_) slot_->busy.store(false);
    slot_.reset();
  }

 private:
  std::shared_ptr<ModelSlot> slot_;
};

void emit_token(GenState& st, int32_t token, bool drafted) {
  bool post = false;
  {
    std::lock_guard lk(st.mu);
    if (drafted) st.pending_drafted.push_back(static_cast<int32_t>(st.pending.size()));
    st.pending.push_back(token);
    post = !st.notify_queued;
    st.notify_queued = true;
  }
  // One queued call drains everything that arrives before it runs, so a busy JS thread gets batches.
  if (post) st.tsfn.NonBlockingCall();
}

void mark_worker_done(GenState& st) {
  {
    std::lock_guard lk(st.done_mu);
    st.worker_done = true;
  }
  st.done_cv.notify_all();
}

void run_worker(const std::shared_ptr<GenState>& st, BusyGuard& guard) {
  const auto t_start = Clock::now();
  Outcome out;
  {
    dist::CancelScope cancel(st->cancel);  // dist: on a rank, the flag all ranks agreed on; else st->cancel
    GenerationRequest req{st->prompt, st->params, cancel.flag(), [&st](int32_t t, bool drafted) { emit_token(*st, t, drafted); }, st->t_call};
    if (st->params.draft) {
      // Both models' slots for the whole run; scoped_lock takes the two mutexes in a deadlock-free order.
      std::scoped_lock lk(st->slot->mu, st->params.draft->mu);
      out = run_speculative_generation(*st->slot, *st->params.draft, req, t_start);
    } else {
      std::unique_lock lk(st->slot->mu);
      out = run_generation(*st->slot, req, t_start);
    }
  }
  // Free the model before "done" reaches JS, so its handler can start the next generation at once.
  guard.release();
  st->draft_guard.reset();
  {
    std::lock_guard lk(st->mu);
    st->outcome = std::move(out);
  }
  st->tsfn.BlockingCall();
  st->tsfn.Release();
  mark_worker_done(*st);
}

}  // namespace

// Shared with napi_batch.cpp (declared in napi_generate.h).
Napi::Object stats_to_js(Napi::Env env, const Stats& s) {
  auto o = Napi::Object::New(env);
  o.Set("promptTokens", s.prompt_tokens);
  o.Set("reusedTokens", s.reused_tokens);
  o.Set("generatedTokens", s.generated_tokens);
  o.Set("ttftMs", s.ttft_ms);
  o.Set("prefillMs", s.prefill_ms);
  o.Set("decodeMs", s.decode_ms);
  o.Set("promptTps", s.prompt_tps);
  o.Set("generationTps", s.generation_tps);
  o.Set("peakMemory", s.peak_memory);
  o.Set("kvCacheBytes", s.kv_cache_bytes);
  o.Set("stopReason", s.stop_reason);
  if (s.speculative) {
    o.Set("draftedTokens", s.drafted_tokens);
    o.Set("acceptedTokens", s.accepted_tokens);
    o.Set("acceptanceRate", s.drafted_tokens > 0 ? static_cast<double>(s.accepted_tokens) / s.drafted_tokens : 0.0);
    o.Set("tokensPerTargetStep", s.target_steps > 0 ? static_cast<double>(s.generated_tokens) / s.target_steps : 0.0);
  }
  // batch: rows of the step that gave the last token, and the most rows it ran beside
  if (s.batch_size > 0) {
    o.Set("batchSize", s.batch_size);
    o.Set("maxBatchSize", s.max_batch_size);
    o.Set("batchKvCacheBytes", s.batch_kv_cache_bytes);
  }
  return o;
}

namespace {

void CallJs(Napi::Env env, Napi::Function callback, GenState* st, void* /*data*/) {
  if (static_cast<napi_env>(env) == nullptr || st == nullptr || callback.IsEmpty()) return;
  std::vector<int32_t>& tokens = st->spare;
  std::vector<int32_t>& drafted = st->spare_drafted;
  tokens.clear();
  drafted.clear();
  std::optional<Outcome> outcome;
  {
    std::lock_guard lk(st->mu);
    tokens.swap(st->pending);
    drafted.swap(st->pending_drafted);
    st->notify_queued = false;
    if (st->outcome && !st->outcome_delivered) {
      outcome = st->outcome;
      st->outcome_delivered = true;
    }
  }
  // A throwing handler must not swallow the final event: deliver it, then rethrow to JS.
  std::optional<Napi::Error> thrown;
  if (!tokens.empty()) {
    auto arr = Napi::Array::New(env, tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) arr.Set(static_cast<uint32_t>(i), tokens[i]);
    auto ev = Napi::Object::New(env);
    ev.Set("type", "tokens");
    ev.Set("tokens", arr);
    if (!drafted.empty()) {
      auto d = Napi::Array::New(env, drafted.size());
      for (size_t i = 0; i < drafted.size(); ++i) d.Set(static_cast<uint32_t>(i), drafted[i]);
      ev.Set("drafted", d);
    }
    try {
      callback.Call({ev});
    } catch (const Napi::Error& e) {
      thrown = e;
    }
  }
  if (outcome) {
    auto ev = Napi::Object::New(env);
    if (outcome->error) {
      ev.Set("type", "error");
      ev.Set("code", outcome->error->code());
      ev.Set("message", outcome->error->what());
    } else {
      ev.Set("type", "done");
    }
    ev.Set("stats", stats_to_js(env, outcome->stats));
    try {
      callback.Call({ev});
    } catch (const Napi::Error& e) {
      if (!thrown) thrown = e;
    }
  }
  if (thrown) thrown->ThrowAsJavaScriptException();
}

[[noreturn]] void throw_bad_argument(Napi::Env env, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", "E_BAD_ARGUMENT");
  throw err;
}

double read_number(Napi::Env env, const Napi::Object& o, const char* key, std::optional<double> fallback) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (fallback) return *fallback;
    throw_bad_argument(env, std::string("generate: params.") + key + " is required (a number).");
  }
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    throw_bad_argument(env, std::string("generate: params.") + key + " must be a finite number.");
  return v.As<Napi::Number>().DoubleValue();
}

int read_int(Napi::Env env, const Napi::Object& o, const char* key, std::optional<double> fallback, double lo, double hi) {
  const double d = read_number(env, o, key, fallback);
  if (d != std::floor(d) || d < lo || d > hi)
    throw_bad_argument(env, std::string("generate: params.") + key + " must be an integer in [" + std::to_string(static_cast<long long>(lo)) +
                                ", " + std::to_string(static_cast<long long>(hi)) + "], got " + std::to_string(d) + ".");
  return static_cast<int>(d);
}

}  // namespace

// Shared with napi_batch.cpp (declared in napi_generate.h).
GenParams parse_params(Napi::Env env, const Napi::Value& value, int vocab) {
  if (!value.IsObject()) throw_bad_argument(env, "generate: the second argument must be a params object (NativeGenerateParams).");
  auto o = value.As<Napi::Object>();
  GenParams p;
  constexpr double kIntMax = 2147483647.0;
  p.max_tokens = read_int(env, o, "maxTokens", std::nullopt, 1, kIntMax);
  auto& s = p.sampling;
  s.temperature = static_cast<float>(read_number(env, o, "temperature", 0.0));
  if (s.temperature < 0) throw_bad_argument(env, "generate: params.temperature must be >= 0 (0 = greedy).");
  s.top_p = static_cast<float>(read_number(env, o, "topP", 1.0));
  if (!(s.top_p > 0 && s.top_p <= 1)) throw_bad_argument(env, "generate: params.topP must be in (0, 1] (1 = off).");
  s.top_k = read_int(env, o, "topK", 0.0, 0, kIntMax);
  s.min_p = static_cast<float>(read_number(env, o, "minP", 0.0));
  if (!(s.min_p >= 0 && s.min_p <= 1)) throw_bad_argument(env, "generate: params.minP must be in [0, 1] (0 = off).");
  s.repetition_penalty = static_cast<float>(read_number(env, o, "repetitionPenalty", 1.0));
  if (s.repetition_penalty < 0) throw_bad_argument(env, "generate: params.repetitionPenalty must be >= 0 (1 = off).");
  s.repetition_context_size = read_int(env, o, "repetitionContextSize", 20.0, 0, kIntMax);
  auto seed = o.Get("seed");
  if (!seed.IsUndefined() && !seed.IsNull()) {
    const double d = read_number(env, o, "seed", std::nullopt);
    if (d != std::floor(d) || d < 0 || d > 9007199254740991.0)
      throw_bad_argument(env, "generate: params.seed must be a non-negative integer (at most 2^53 - 1).");
    s.seed = static_cast<uint64_t>(d);
  }
  p.prefill_step = read_int(env, o, "prefillStepSize", 2048.0, 1, kIntMax);
  auto reuse = o.Get("reusePrefix");
  p.reuse_prefix = reuse.IsBoolean() && reuse.As<Napi::Boolean>().Value();
  // kvcache: the cache kind, as mlx-lm's kv_bits / kv_group_size / quantized_kv_start / max_kv_size
  auto kv_bits = o.Get("kvBits");
  if (!kv_bits.IsUndefined() && !kv_bits.IsNull()) {
    p.kv.bits = read_int(env, o, "kvBits", std::nullopt, 1, 8);
    if (*p.kv.bits != 4 && *p.kv.bits != 8) throw_bad_argument(env, "generate: params.kvBits must be 4 or 8 (the KV cache's bits).");
  }
  p.kv.group_size = read_int(env, o, "kvGroupSize", 64.0, 1, kIntMax);
  if (p.kv.group_size != 32 && p.kv.group_size != 64 && p.kv.group_size != 128)
    throw_bad_argument(env, "generate: params.kvGroupSize must be 32, 64 or 128.");
  p.kv.quantized_start = read_int(env, o, "quantizedKvStart", 5000.0, 0, kIntMax);
  auto max_kv = o.Get("maxKvSize");
  if (!max_kv.IsUndefined() && !max_kv.IsNull()) p.kv.max_size = read_int(env, o, "maxKvSize", std::nullopt, kRotatingKeep + 1, kIntMax);
  if (p.kv.bits && p.kv.max_size) throw_bad_argument(env, "generate: params.kvBits and params.maxKvSize cannot be combined (mlx-lm has no quantized rotating cache).");
  auto eos = o.Get("eosTokenIds");
  if (!eos.IsUndefined() && !eos.IsNull()) {
    if (!eos.IsArray()) throw_bad_argument(env, "generate: params.eosTokenIds must be an array of token ids.");
    auto arr = eos.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      auto v = arr.Get(i);
      if (!v.IsNumber()) throw_bad_argument(env, "generate: params.eosTokenIds must contain only numbers.");
      const double d = v.As<Napi::Number>().DoubleValue();
      if (d == std::floor(d) && d >= 0 && d < vocab) p.eos.push_back(static_cast<int32_t>(d));
    }
  }
  // Speculative decoding: params.draft is another NativeModel (kernel/engine checks the vocabularies and
  // names the models; this re-check keeps every token id inside both embeddings).
  auto draft = o.Get("draft");
  if (!draft.IsUndefined() && !draft.IsNull()) {
    auto lm = unwrap_model(env, draft);
    if (!lm) throw_bad_argument(env, "generate: params.draft must be a NativeModel returned by loadModel().");
    if (lm->disposed() || !lm->slot()->model) throw_bad_argument(env, "generate: the draft model was disposed; load it again.");
    if (lm->slot()->model->vocab_size() != vocab)
      throw_bad_argument(env, "generate: the draft model's vocabulary (" + std::to_string(lm->slot()->model->vocab_size()) +
                                  " embedding rows) differs from this model's (" + std::to_string(vocab) + "); use a draft with the same tokenizer.");
    p.draft = lm->slot();
    p.num_draft = read_int(env, o, "numDraft", 2.0, 1, 1024);
  }
  return p;
}

Napi::Value StartGeneration(const Napi::CallbackInfo& info, std::shared_ptr<ModelSlot> slot) {
  Napi::Env env = info.Env();
  const auto t_call = Clock::now();
  if (!slot || !slot->model) throw_bad_argument(env, "generate: this model was disposed; load it again.");
  if (info.Length() < 3 || !info[2].IsFunction())
    throw_bad_argument(env, "generate(prompt, params, onEvent): onEvent must be a function.");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_bad_argument(env, "generate: the prompt must be an Int32Array of token ids.");
  auto prompt_arr = info[0].As<Napi::Int32Array>();
  if (prompt_arr.ElementLength() == 0) throw_bad_argument(env, "generate: the prompt is empty; pass at least one token id.");
  const int vocab = slot->model->vocab_size();
  std::vector<int32_t> prompt(prompt_arr.Data(), prompt_arr.Data() + prompt_arr.ElementLength());
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= vocab)
      throw_bad_argument(env, "generate: prompt token " + std::to_string(prompt[i]) + " at position " + std::to_string(i) +
                                  " is outside the vocabulary [0, " + std::to_string(vocab) + "); was it made by this model's tokenizer?");
  }
  GenParams params = parse_params(env, info[1], vocab);

  bool expected = false;
  if (!slot->busy.compare_exchange_strong(expected, true))
    throw_bad_argument(env, "a generation already runs on this model; cancel it or wait for its \"done\" event.");
  BusyGuard guard(slot);
  std::unique_ptr<BusyGuard> draft_guard;
  if (params.draft) {
    if (params.draft == slot) throw_bad_argument(env, "generate: params.draft is this model itself; load a smaller model as the draft.");
    bool draft_idle = false;
    if (!params.draft->busy.compare_exchange_strong(draft_idle, true)) {
      auto err = Napi::Error::New(env, "generate: the draft model is busy (a generation runs on it, or it drafts for another); wait for it or cancel it.");
      err.Set("code", "E_BUSY");
      throw err;
    }
    draft_guard = std::make_unique<BusyGuard>(params.draft);
  }

  auto st = std::make_shared<GenState>();
  st->slot = slot;
  st->prompt = std::move(prompt);
  st->params = std::move(params);
  st->t_call = t_call;
  st->draft_guard = std::move(draft_guard);
  // The finalizer runs on the JS thread after the worker's Release(): the worker has nothing left to do
  // but mark itself done, so the wait is immediate, and the handle keeps the process alive only while
  // generating. It also runs when the environment is torn down mid-generation (process.exit, a worker
  // thread ending): then the cancel flag makes the worker stop within a token instead of the wait
  // lasting the whole run.
  st->tsfn = Tsfn::New(env, info[2].As<Napi::Function>(), "mlx-ts-generate", 0, 1, st.get(),
                       [keep = st](Napi::Env, void*, GenState*) {
                         keep->cancel.store(true);
                         std::unique_lock lk(keep->done_mu);
                         keep->done_cv.wait(lk, [&] { return keep->worker_done; });
                       });
  // std::function needs a copyable task, so the move-only guard rides in a shared_ptr.
  auto shared_guard = std::make_shared<BusyGuard>(std::move(guard));
  try {
    GenerationPool::instance().submit([st, shared_guard] { run_worker(st, *shared_guard); });
  } catch (const std::system_error& e) {
    shared_guard->release();
    st->draft_guard.reset();
    mark_worker_done(*st);
    st->tsfn.Release();
    auto err = Napi::Error::New(env, std::string("generate: could not start the generation thread (") + e.what() + ").");
    err.Set("code", "E_MLX");
    throw err;
  }

  auto gen = Napi::Object::New(env);
  gen.Set("cancel", Napi::Function::New(
                        env,
                        [st](const Napi::CallbackInfo& ci) -> Napi::Value {
                          st->cancel.store(true);
                          return ci.Env().Undefined();
                        },
                        "cancel"));
  return gen;
}

}  // namespace mlxts
