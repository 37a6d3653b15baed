// Batched and continuous generation on one model, free of N-API: mirrors mlx_lm.generate.BatchGenerator.
// Rows are prefilled one at a time (the single-row path's chunked prefill, on the cache kind the row's
// options make), merged into a BatchGroupsKVCache (a batch cache per kind: left padding, per-row masks and
// RoPE positions), and decoded together, one forward pass per step over every row. Rows that arrive while the batch runs join it at the next step; finished rows leave.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "generation_loop.h"

namespace mlxts {

struct BatchRowRequest {
  int id = 0;
  std::vector<int32_t> prompt;
  GenParams params;
  // A single-row generation moving into the batch: when the slot's cache holds exactly a prefix of `prompt`
  // (that generation's tokens so far), the row starts from a copy of it instead of prefilling them again.
  bool continue_slot = false;
  Clock::time_point t_call;
};

// The hand-off between JS (add, cancel) and the loop (take). Thread-safe.
class BatchQueue {
 public:
  // false once the loop has ended: the row was not taken (start a new batch for it).
  bool add(BatchRowRequest r);
  void cancel(int id);
  void cancel_all();
  bool cancelled(int id) const;
  // Loop: the rows that arrived. When `idle` (no row runs) and none arrived, closes the queue (later adds
  // return false) and sets `closed`.
  std::vector<BatchRowRequest> take(bool idle, bool& closed);
  void forget(int id);

 private:
  mutable std::mutex mu_;
  std::deque<BatchRowRequest> pending_;
  std::map<int, bool> cancel_;
  bool all_cancelled_ = false;
  bool closed_ = false;
};

// How the loop reports, called on the worker.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual void token(int id, int32_t token) = 0;
  // The row is over; no more calls for `id`.
  virtual void done(int id, Outcome outcome) = 0;
  // The queue has closed and no row runs: called before the last rows' done(), so the model can be marked
  // free before JS sees them end (their handlers may start the next generation at once).
  virtual void closing() {}
};

// Runs on a pool worker with slot.mu held until no row is left; never throws. The slot's own cache (the
// single-row path's prefix cache) is left as it was. Calls sink.closing() exactly once, when the queue closes.
void run_batch(ModelSlot& slot, BatchQueue& queue, BatchSink& sink);

}  // namespace mlxts
