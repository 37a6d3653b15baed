// Mirrors mlx_lm.generate.generate_step + stream_generate: chunked prefill that evaluates only the
// cache, then a decode loop that builds step t+1 and async_evals it before reading token t, so graph
// construction on this thread overlaps the compute of the previous step.
#include "generate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "errors.h"
#include "sampling.h"

namespace mlxts {
namespace {

using Clock = std::chrono::steady_clock;

struct GenParams {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> eos;
  int prefill_step = 2048;
  bool reuse_prefix = false;
};

struct Stats {
  int prompt_tokens = 0;
  int reused_tokens = 0;
  int generated_tokens = 0;
  double ttft_ms = 0, prefill_ms = 0, decode_ms = 0, prompt_tps = 0, generation_tps = 0;
  double peak_memory = 0;
  const char* stop_reason = "error";
};

struct Outcome {
  Stats stats;
  std::optional<NativeError> error;
};

struct GenState;
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
  bool notify_queued = false;
  std::optional<Outcome> outcome;
  bool outcome_delivered = false;
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

// MLX gives each thread that runs ops a stream of its own, and on the CPU a stream is an OS thread that
// lives until the process ends (clear_streams() does not stop it). A fresh std::thread per generation
// would leave one behind per generation, so generations run on long-lived workers that are reused; the
// pool grows only to the number of generations that ever ran at once (one per model).
//
// The process may exit (process.exit, a kernel shutdown) while a worker is in the middle of a step: exit()
// then destroys MLX's static scheduler and allocator under it, and the process died of SIGSEGV or abort
// in about one exit in five. An atexit handler, registered after MLX's statics exist so it runs before
// their destructors, stops every generation at its next check and waits for the workers to leave MLX.
class GenerationPool {
 public:
  static GenerationPool& instance() {
    // Never destroyed: idle detached workers may still wait on it while the process exits.
    static GenerationPool* pool = [] {
      auto* p = std::make_unique<GenerationPool>().release();
      std::atexit([] { instance().stop_for_exit(); });
      return p;
    }();
    return *pool;
  }

  /** true once the process is exiting: generations end as if cancelled */
  static bool exiting() { return exiting_.load(std::memory_order_relaxed); }

  // Runs `task` on an idle worker, starting one when none is idle, so a generation never queues behind
  // another. Throws std::system_error when no thread can be started.
  void submit(std::function<void()> task) {
    std::unique_lock lk(mu_);
    tasks_.push_back(std::move(task));
    if (idle_ < tasks_.size()) {
      try {
        std::thread([this] { loop(); }).detach();
      } catch (...) {
        tasks_.pop_back();
        throw;
      }
    }
    lk.unlock();
    cv_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lk(mu_);
        ++idle_;
        cv_.wait(lk, [this] { return !tasks_.empty(); });
        --idle_;
        task = std::move(tasks_.front());
        tasks_.pop_front();
        ++running_;
      }
      task();
#if defined(__GLIBC__)
      // Hand the pages a generation freed back to the system (off the JS thread, after "done" was
      // posted): a long session otherwise keeps glibc's high-water mark as RSS.
      malloc_trim(0);
#endif
      {
        std::lock_guard lk(mu_);
        --running_;
      }
      done_.notify_all();
    }
  }

  void stop_for_exit() {
    exiting_.store(true);
    std::unique_lock lk(mu_);
    // A step takes milliseconds to seconds; a worker stuck longer than this is left to the exit.
    done_.wait_for(lk, std::chrono::seconds(5), [this] { return running_ == 0; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t idle_ = 0;
  size_t running_ = 0;
  std::condition_variable done_;
  static inline std::atomic<bool> exiting_{false};
};

// This worker's own stream on the current default device, made the thread's default so every op of the
// model and the sampler runs on it. Created once per worker and device.
mx::Stream worker_stream() {
  thread_local std::vector<mx::Stream> streams;
  const mx::Device dev = mx::default_device();
  for (const auto& s : streams) {
    if (s.device == dev) {
      mx::set_default_stream(s);
      return s;
    }
  }
  streams.push_back(mx::new_stream(dev));
  mx::set_default_stream(streams.back());
  return streams.back();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void emit_token(GenState& st, int32_t token) {
  bool post = false;
  {
    std::lock_guard lk(st.mu);
    st.pending.push_back(token);
    post = !st.notify_queued;
    st.notify_queued = true;
  }
  // One queued call drains everything that arrives before it runs, so a busy JS thread gets batches.
  if (post) st.tsfn.NonBlockingCall();
}

void eval_cache(const Cache& cache) {
  std::vector<mx::array> states;
  states.reserve(cache.size() * 2);
  for (const auto& c : cache)
    for (auto& a : c.state()) states.push_back(a);
  if (!states.empty()) mx::eval(states);
}

// The loop proper. Runs on the worker with slot->mu held. Never throws.
Outcome generate(GenState& st, Clock::time_point t_start) {
  Outcome out;
  Stats& s = out.stats;
  ModelSlot& slot = *st.slot;
  const std::vector<int32_t>& prompt = st.prompt;
  const GenParams& p = st.params;
  const int total = static_cast<int>(prompt.size());
  s.prompt_tokens = total;

  std::vector<int32_t> fed;  // exactly the tokens whose K/V the cache holds, in order
  bool cache_consistent = false;
  std::optional<Clock::time_point> t_first;
  Clock::time_point t_last = t_start;
  std::optional<mx::Stream> stream;

  try {
    stream = worker_stream();
    mx::reset_peak_memory();
    // Our own reference: the model object outlives this generation even if the slot drops it.
    const std::shared_ptr<Model> model_ref = slot.model;
    if (!model_ref) fail("E_BAD_ARGUMENT", "this model was disposed; load it again.");
    Model& model = *model_ref;

    if (static_cast<int>(slot.cache.size()) != model.num_layers()) {
      slot.cache = model.make_cache();
      slot.cached_tokens.clear();
    }
    if (!slot.cache.empty() && slot.cache[0].offset() != static_cast<int>(slot.cached_tokens.size())) {
      for (auto& c : slot.cache) c.reset();
      slot.cached_tokens.clear();
    }

    int reuse = 0;
    if (p.reuse_prefix) {
      const auto& old = slot.cached_tokens;
      const size_t lim = std::min(old.size(), prompt.size());
      size_t lcp = 0;
      while (lcp < lim && old[lcp] == prompt[lcp]) ++lcp;
      // The last prompt token is always recomputed: its logits give the first generated token.
      reuse = static_cast<int>(std::min<size_t>(lcp, prompt.size() - 1));
    }
    // trim_to(0) keeps the allocated buffers, so a cold start does not reallocate the cache.
    for (auto& c : slot.cache) c.trim_to(reuse);
    slot.cached_tokens.clear();
    fed.assign(prompt.begin(), prompt.begin() + reuse);
    s.reused_tokens = reuse;
    cache_consistent = true;

    Sampler sampler(p.sampling, prompt, model.vocab_size());
    auto step = [&](const mx::array& input) {
      auto logits = model.forward(input, slot.cache);
      const int t = logits.shape(1);
      const int v = logits.shape(2);
      auto last = mx::reshape(mx::slice(logits, {0, t - 1, 0}, {1, t, v}), {1, v});
      return sampler.sample(last);
    };

    bool cancelled = false;
    int pos = reuse;
    while (total - pos > 1) {
      if (st.cancel.load(std::memory_order_relaxed) || GenerationPool::exiting()) {
        cancelled = true;
        break;
      }
      const int n = std::min(p.prefill_step, total - pos - 1);
      mx::array chunk(prompt.data() + pos, mx::Shape{1, n}, mx::int32);
      // Only the cache is evaluated: the chunk's logits stay an unevaluated graph and are never computed.
      cache_consistent = false;
      model.forward(chunk, slot.cache);
      eval_cache(slot.cache);
      fed.insert(fed.end(), prompt.begin() + pos, prompt.begin() + pos + n);
      cache_consistent = true;
      pos += n;
      mx::clear_cache();
    }

    if (cancelled) {
      s.stop_reason = "cancelled";
    } else {
      cache_consistent = false;
      mx::array y = step(mx::array(prompt.data() + pos, mx::Shape{1, total - pos}, mx::int32));
      mx::async_eval({y});
      fed.insert(fed.end(), prompt.begin() + pos, prompt.end());

      for (int n = 0;; ++n) {
        const bool stop_requested = st.cancel.load(std::memory_order_relaxed) || GenerationPool::exiting();
        const bool more = !stop_requested && n + 1 < p.max_tokens;
        std::optional<mx::array> next;
        if (more) {
          auto y_in = mx::reshape(y, {1, 1});
          sampler.observe(y_in);
          next = step(y_in);
          mx::async_eval({*next});
        }
        const int32_t token = y.item<int32_t>();
        t_last = Clock::now();
        if (n == 0) t_first = t_last;
        if (more) fed.push_back(token);  // step(y) is queued, so y's K/V will be in the cache
        ++s.generated_tokens;
        if (std::find(p.eos.begin(), p.eos.end(), token) != p.eos.end()) {
          s.stop_reason = "eos";
          break;
        }
        emit_token(st, token);
        if (n + 1 >= p.max_tokens) {
          s.stop_reason = "length";
          break;
        }
        if (stop_requested) {
          s.stop_reason = "cancelled";
          break;
        }
        if (n % 256 == 0) mx::clear_cache();
        y = *next;
      }
      // A step queued for a token we then stopped on still writes that token's K/V: wait for it so the
      // cache holds concrete arrays (and matches `fed`) before the next generation, on another thread.
      eval_cache(slot.cache);
      cache_consistent = true;
    }
  } catch (const std::exception& e) {
    out.error = classify_exception(e, "generation failed");
    s.stop_reason = "error";
    cache_consistent = false;
  }

  const auto t_end = Clock::now();
  if (stream) {
    try {
      mx::synchronize(*stream);
    } catch (const std::exception&) {
      cache_consistent = false;  // the error is already reported (or the cache state is unknown)
    }
  }
  if (cache_consistent && !slot.cache.empty() && slot.cache[0].offset() == static_cast<int>(fed.size())) {
    slot.cached_tokens = std::move(fed);
  } else {
    for (auto& c : slot.cache) c.reset();
    slot.cached_tokens.clear();
  }

  const double prefill_end_ms = ms_between(t_start, t_first.value_or(t_end));
  s.prefill_ms = prefill_end_ms;
  s.ttft_ms = t_first ? ms_between(st.t_call, *t_first) : 0.0;
  s.decode_ms = t_first ? ms_between(*t_first, t_last) : 0.0;
  if (s.prefill_ms > 0 && t_first) s.prompt_tps = (s.prompt_tokens - s.reused_tokens) / (s.prefill_ms / 1000.0);
  // As mlx-lm reports it: every generated token over the time since the first one.
  if (s.decode_ms > 0) s.generation_tps = s.generated_tokens / (s.decode_ms / 1000.0);
  s.peak_memory = static_cast<double>(mx::get_peak_memory());
  return out;
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
    std::unique_lock lk(st->slot->mu);
    out = generate(*st, t_start);
  }
  // Free the model before "done" reaches JS, so its handler can start the next generation at once.
  guard.release();
  {
    std::lock_guard lk(st->mu);
    st->outcome = std::move(out);
  }
  st->tsfn.BlockingCall();
  st->tsfn.Release();
  mark_worker_done(*st);
}

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
  o.Set("stopReason", s.stop_reason);
  return o;
}

void CallJs(Napi::Env env, Napi::Function callback, GenState* st, void* /*data*/) {
  if (static_cast<napi_env>(env) == nullptr || st == nullptr || callback.IsEmpty()) return;
  std::vector<int32_t>& tokens = st->spare;
  tokens.clear();
  std::optional<Outcome> outcome;
  {
    std::lock_guard lk(st->mu);
    tokens.swap(st->pending);
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
  return p;
}

}  // namespace

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

  auto st = std::make_shared<GenState>();
  st->slot = slot;
  st->prompt = std::move(prompt);
  st->params = std::move(params);
  st->t_call = t_call;
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
