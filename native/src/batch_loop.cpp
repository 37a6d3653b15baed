// The decode is pipelined as the single-row loop's: step t+1 is built and async_eval'd before the tokens of
// step t are read, so a row that stops at t costs one wasted row of step t+1, dropped before step t+2.
#include "batch_loop.h"

#include <algorithm>
#include <optional>
#include <string>

#include "generation_pool.h"
#include "nn/kv_cache_batch_groups.h"
#include "nn/kv_cache_factory.h"

namespace mlxts {

bool BatchQueue::add(BatchRowRequest r) {
  std::lock_guard lk(mu_);
  if (closed_) return false;
  cancel_[r.id] = all_cancelled_;
  pending_.push_back(std::move(r));
  return true;
}

void BatchQueue::cancel(int id) {
  std::lock_guard lk(mu_);
  auto it = cancel_.find(id);
  if (it != cancel_.end()) it->second = true;
}

void BatchQueue::cancel_all() {
  std::lock_guard lk(mu_);
  all_cancelled_ = true;
  for (auto& [id, c] : cancel_) c = true;
}

bool BatchQueue::cancelled(int id) const {
  if (GenerationPool::exiting()) return true;
  std::lock_guard lk(mu_);
  auto it = cancel_.find(id);
  return it != cancel_.end() && it->second;
}

void BatchQueue::forget(int id) {
  std::lock_guard lk(mu_);
  cancel_.erase(id);
}

std::vector<BatchRowRequest> BatchQueue::take(bool idle, bool& closed) {
  std::lock_guard lk(mu_);
  std::vector<BatchRowRequest> out(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
  pending_.clear();
  closed = idle && out.empty();
  if (closed) closed_ = true;
  return out;
}

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Row {
  BatchRowRequest req;
  std::unique_ptr<Sampler> sampler;
  Stats s;
  Clock::time_point t_start;
  std::optional<Clock::time_point> t_first;
  Clock::time_point t_last;
  bool input_generated = false;  // this row's input to the next step is a generated token (else its last prompt token)
  bool greedy = false;           // argmax without logits processors: sampled with the other such rows at once
};

BatchGroupsKVCache& layer(Cache& cache, size_t i) { return static_cast<BatchGroupsKVCache&>(cache[i].impl()); }
const BatchGroupsKVCache& layer(const Cache& cache, size_t i) { return static_cast<const BatchGroupsKVCache&>(cache[i].impl()); }

// `index`: the row's place among `cache`'s rows (-1 for a row that ended while it was prefilled alone).
void finish_row(Row& r, Clock::time_point t_end, const Cache& cache, int index) {
  Stats& s = r.s;
  s.prefill_ms = ms_between(r.t_start, r.t_first.value_or(t_end));
  s.ttft_ms = r.t_first ? ms_between(r.req.t_call, *r.t_first) : 0.0;
  s.decode_ms = r.t_first ? ms_between(*r.t_first, r.t_last) : 0.0;
  if (s.prefill_ms > 0 && r.t_first) s.prompt_tps = s.prompt_tokens / (s.prefill_ms / 1000.0);
  if (s.decode_ms > 0) s.generation_tps = s.generated_tokens / (s.decode_ms / 1000.0);
  s.peak_memory = static_cast<double>(mx::get_peak_memory());
  // The batch's cache (every row's) as it was when this row ended, and this row's share of it: every row of
  // a cache kind holds as many slots ([B, heads, capacity, *], padding included), so 1/B of that kind's.
  s.batch_kv_cache_bytes = static_cast<double>(cache_nbytes(cache));
  double own = 0;
  if (index >= 0)
    for (size_t l = 0; l < cache.size(); ++l) own += static_cast<double>(layer(cache, l).row_nbytes(index));
  s.kv_cache_bytes = own;
}

}  // namespace

void run_batch(ModelSlot& slot, BatchQueue& queue, BatchSink& sink) {
  std::optional<mx::Stream> stream;
  std::vector<Row> rows;
  Cache batch;
  std::optional<mx::array> y;  // int32 [rows]: each row's input to the next step
  auto fail_rows = [&](const std::exception& e) {
    const auto err = classify_exception(e, "batched generation failed");
    const auto t_end = Clock::now();
    for (size_t i = 0; i < rows.size(); ++i) {
      Row& r = rows[i];
      finish_row(r, t_end, batch, static_cast<int>(i));
      r.s.stop_reason = "error";
      queue.forget(r.req.id);
      sink.done(r.req.id, Outcome{r.s, err});
    }
    rows.clear();
    y.reset();
    for (auto& c : batch) c.reset();
  };

  std::shared_ptr<Model> model_ref;
  try {
    stream = worker_stream();
    mx::reset_peak_memory();
    model_ref = slot.model;
    if (!model_ref) fail("E_BAD_ARGUMENT", "this model was disposed; load it again.");
    for (int i = 0; i < model_ref->num_layers(); ++i) batch.emplace_back(std::make_unique<BatchGroupsKVCache>(model_ref->config().rope));
  } catch (const std::exception& e) {
    // Nothing runs: every row that arrives is refused with the error, and the queue closes.
    const auto err = classify_exception(e, "batched generation failed");
    for (;;) {
      bool closed = false;
      auto joins = queue.take(true, closed);
      if (closed) {
        sink.closing();
        break;
      }
      for (auto& j : joins) {
        Outcome o;
        o.stats.prompt_tokens = static_cast<int>(j.prompt.size());
        o.error = err;
        queue.forget(j.id);
        sink.done(j.id, o);
      }
    }
    return;
  }
  Model& model = *model_ref;

  // Prefills one arriving row alone and merges it into the batch; false if it ended (cancelled, failed).
  auto admit = [&](BatchRowRequest&& j) {
    Row r;
    r.req = std::move(j);
    r.t_start = Clock::now();
    r.s.prompt_tokens = static_cast<int>(r.req.prompt.size());
    const auto& prompt = r.req.prompt;
    const int total = static_cast<int>(prompt.size());
    const auto& sp = r.req.params.sampling;
    r.greedy = sp.temperature <= 0.0f && !(sp.repetition_penalty != 1.0f && sp.repetition_penalty != 0.0f && sp.repetition_context_size > 0);
    try {
      r.sampler = std::make_unique<Sampler>(sp, prompt, model.vocab_size());
      // The row's own cache kind (kvBits, maxKvSize), prefilled as the single-row loop does it.
      const auto& kv = r.req.params.kv;
      Cache rc;
      int pos = 0;
      const auto& held = slot.cached_tokens;
      if (r.req.continue_slot && !slot.cache_loaded && static_cast<int>(slot.cache.size()) == model.num_layers() && !held.empty() &&
          static_cast<int>(held.size()) < total && slot.cache[0].offset() == static_cast<int>(held.size()) && cache_matches(slot.cache, kv) &&
          std::equal(held.begin(), held.end(), prompt.begin())) {
        for (const auto& c : slot.cache) rc.emplace_back(c.impl().clone());
        pos = static_cast<int>(held.size());
        r.s.reused_tokens = pos;
      } else {
        rc = make_kv_cache(model.num_layers(), kv);
      }
      while (total - pos > 1) {
        if (queue.cancelled(r.req.id)) {
          r.s.stop_reason = "cancelled";
          finish_row(r, Clock::now(), batch, -1);
          queue.forget(r.req.id);
          sink.done(r.req.id, Outcome{r.s, std::nullopt});
          return;
        }
        const int n = std::min(r.req.params.prefill_step, total - pos - 1);
        model.forward(mx::array(prompt.data() + pos, mx::Shape{1, n}, mx::int32), rc);
        maybe_quantize(rc, kv);
        eval_cache(rc);
        pos += n;
        mx::clear_cache();
      }
      for (size_t i = 0; i < batch.size(); ++i) layer(batch, i).extend(rc[i].impl());
      auto last = mx::array(prompt.data() + total - 1, mx::Shape{1}, mx::int32);
      y = y ? mx::concatenate({*y, last}, 0) : last;
      rows.push_back(std::move(r));
    } catch (const std::exception& e) {
      r.s.stop_reason = "error";
      finish_row(r, Clock::now(), batch, -1);
      queue.forget(r.req.id);
      sink.done(r.req.id, Outcome{r.s, classify_exception(e, "batched generation failed")});
    }
  };

  int steps = 0;
  std::vector<BatchRowRequest> carried;  // rows taken while checking whether the batch could end
  for (;;) {
    bool closed = false;
    auto joins = carried.empty() ? queue.take(rows.empty(), closed) : std::move(carried);
    carried.clear();
    if (closed) {
      sink.closing();
      break;
    }
    try {
      // A merge rewrites every row's cache: evaluate it once here rather than inside the next step's graph.
      for (auto& j : joins) admit(std::move(j));
      if (!joins.empty()) eval_cache(batch);
      if (rows.empty()) continue;
      const int B = static_cast<int>(rows.size());
      // mlx-lm's maybe_quantize_kv_cache, per row: a kvBits row still at full precision whose cache has reached
      // its quantizedKvStart after a step moves to the quantized group before the next, as it would be quantized
      // alone after that step. (Before its first step the row is as its prefill left it, quantized or not.)
      for (int i = 0; i < B; ++i) {
        const auto& kv = rows[i].req.params.kv;
        if (!kv.bits || !rows[i].input_generated || !layer(batch, 0).row_is_plain(i) || layer(batch, 0).row_offset(i) < kv.quantized_start) continue;
        for (size_t l = 0; l < batch.size(); ++l) layer(batch, l).quantize_row(i, KvQuant{kv.group_size, *kv.bits});
      }

      // Step t+1 over every row.
      // As the single-row loop: a generated token joins the repetition context when it is fed back.
      for (int i = 0; i < B; ++i)
        if (rows[i].input_generated && rows[i].sampler->uses_context()) rows[i].sampler->observe(mx::slice(*y, {i}, {i + 1}));
      auto logits = model.forward(mx::reshape(*y, {B, 1}), batch);
      const int V = logits.shape(2);
      logits = mx::reshape(logits, {B, V});
      const bool all_greedy = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.greedy; });
      mx::array next = mx::array(0);
      if (all_greedy) {
        // The same per-row arithmetic as Sampler::sample's greedy branch, over the whole batch at once.
        next = mx::astype(mx::argmax(mx::subtract(logits, mx::logsumexp(logits, -1, true)), -1), mx::int32);
      } else {
        std::vector<mx::array> picks;
        for (int i = 0; i < B; ++i) picks.push_back(rows[i].sampler->sample(mx::slice(logits, {i, 0}, {i + 1, V})));
        next = mx::concatenate(picks, 0);
      }
      mx::async_eval({next});

      // Tokens of step t.
      mx::eval({*y});
      const int32_t* tok = y->data<int32_t>();
      const auto now = Clock::now();
      std::vector<int> keep;
      std::vector<std::pair<int, Outcome>> ended;
      for (int i = 0; i < B; ++i) {
        Row& r = rows[i];
        bool over = false;
        if (r.input_generated) {
          const int32_t t = tok[i];
          r.t_last = now;
          if (!r.t_first) r.t_first = now;
          ++r.s.generated_tokens;
          r.s.batch_size = B;
          r.s.max_batch_size = std::max(r.s.max_batch_size, B);
          const auto& eos = r.req.params.eos;
          if (std::find(eos.begin(), eos.end(), t) != eos.end()) {
            r.s.stop_reason = "eos";
            over = true;
          } else {
            sink.token(r.req.id, t);
            if (r.s.generated_tokens >= r.req.params.max_tokens) {
              r.s.stop_reason = "length";
              over = true;
            }
          }
        }
        if (!over && queue.cancelled(r.req.id)) {
          r.s.stop_reason = "cancelled";
          over = true;
        }
        if (over) {
          finish_row(r, now, batch, i);
          queue.forget(r.req.id);
          ended.emplace_back(r.req.id, Outcome{r.s, std::nullopt});
        } else {
          r.input_generated = true;
          keep.push_back(i);
        }
      }
      if (static_cast<int>(keep.size()) != B) {
        std::vector<Row> left;
        for (int i : keep) left.push_back(std::move(rows[i]));
        rows = std::move(left);
        for (size_t l = 0; l < batch.size(); ++l) layer(batch, l).filter(keep);
        if (rows.empty()) {
          y.reset();
          // The step queued for the rows that just stopped still runs; wait so nothing outlives the batch.
          mx::eval({next});
          for (auto& c : batch) c.reset();
          // The batch ends here unless rows arrived: then the model must read as free before these rows' done.
          bool last = false;
          carried = queue.take(true, last);
          if (last) sink.closing();
          for (auto& [id, o] : ended) sink.done(id, std::move(o));
          if (last) break;
          continue;
        }
        next = mx::take(next, mx::array(keep.data(), {static_cast<int>(keep.size())}, mx::int32), 0);
      }
      for (auto& [id, o] : ended) sink.done(id, std::move(o));
      y = next;
      if (++steps % 256 == 0) mx::clear_cache();
    } catch (const std::exception& e) {
      fail_rows(e);
    }
  }
  if (stream) {
    try {
      mx::synchronize(*stream);
    } catch (const std::exception&) {
    }
  }
  batch.clear();
  mx::clear_cache();
}

}  // namespace mlxts
