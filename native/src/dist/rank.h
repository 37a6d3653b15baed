// This process as one rank of a sharded model (kernel/engine/shards.ts starts the ranks): the MLX
// distributed group, and the per-step agreement on cancelling that keeps every rank's generation loop
// in step (a rank that stopped one step early would leave the others waiting in an all_sum).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <mlx/mlx.h>

#include "model.h"

namespace mlxts::dist {
namespace mxd = mlx::core::distributed;

// MLX's own init (strict): "ring" reads MLX_RANK and MLX_HOSTFILE, as mlx.launch sets them; "nccl" and
// "mpi" read theirs. One group per process; a second call returns the first group.
mxd::Group init_group(const std::string& backend);
// The group once init_group succeeded.
std::optional<mxd::Group> group();

// Held by a generation on a rank: JS's cancel() sets `local`; the loop reads flag(), which turns true
// only when some rank asked, at the same forward pass on every rank. Without a group, flag() is `local`.
class CancelScope {
 public:
  explicit CancelScope(std::atomic<bool>& local);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;
  const std::atomic<bool>& flag() const;

 private:
  std::atomic<bool>& local_;
  bool active_ = false;
};

// The architecture's model with the agreement step before each forward pass (weights shared).
std::shared_ptr<Model> wrap_rank_model(std::shared_ptr<Model> inner, mxd::Group g);

}  // namespace mlxts::dist
