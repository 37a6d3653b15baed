#include "nn/kv_cache_batch_groups.h"

#include <algorithm>

#include "errors.h"
#include "nn/kv_cache_batch_rotating.h"
#include "nn/kv_cache_quantized.h"
#include "nn/kv_cache_rotating.h"

namespace mlxts {

void BatchGroupsKVCache::reset() {
  groups_.clear();
  where_.clear();
}

std::vector<mx::array> BatchGroupsKVCache::state() const {
  std::vector<mx::array> s;
  for (const auto& g : groups_) {
    auto gs = g->state();
    s.insert(s.end(), gs.begin(), gs.end());
  }
  return s;
}

size_t BatchGroupsKVCache::nbytes() const {
  size_t n = 0;
  for (const auto& g : groups_) n += g->nbytes();
  return n;
}

int BatchGroupsKVCache::row_offset(int i) const {
  const auto [g, j] = where_.at(i);
  return groups_[g]->row_offset(j);
}

size_t BatchGroupsKVCache::row_nbytes(int i) const {
  const auto& g = *groups_[where_.at(i).first];
  return g.rows() > 0 ? g.nbytes() / g.rows() : 0;
}

bool BatchGroupsKVCache::row_is_plain(int i) const {
  const auto* b = dynamic_cast<const BatchKVCache*>(groups_[where_.at(i).first].get());
  return b && !b->quant();
}

std::vector<int> BatchGroupsKVCache::members(int g) const {
  std::vector<int> m(groups_[g]->rows(), -1);
  for (int i = 0; i < rows(); ++i)
    if (where_[i].first == g) m[where_[i].second] = i;
  return m;
}

void BatchGroupsKVCache::extend(const LayerKVCache& row) {
  int g = 0;
  while (g < static_cast<int>(groups_.size()) && !groups_[g]->accepts(row)) ++g;
  if (g == static_cast<int>(groups_.size())) {
    if (dynamic_cast<const PlainKVCache*>(&row)) {
      groups_.push_back(std::make_unique<BatchKVCache>(rope_cfg_));
    } else if (const auto* q = dynamic_cast<const QuantizedKVCache*>(&row)) {
      groups_.push_back(std::make_unique<BatchKVCache>(rope_cfg_, KvQuant{q->group_size(), q->bits()}));
    } else if (const auto* r = dynamic_cast<const RotatingKVCache*>(&row)) {
      groups_.push_back(std::make_unique<BatchRotatingKVCache>(rope_cfg_, r->max_size(), r->keep()));
    } else {
      fail("E_MLX", std::string("a batch row cannot hold a ") + row.class_name());
    }
  }
  groups_[g]->extend(row);
  where_.emplace_back(g, groups_[g]->rows() - 1);
}

void BatchGroupsKVCache::erase_empty_groups() {
  std::vector<int> renumber(groups_.size(), -1);
  std::vector<std::unique_ptr<BatchLayerCache>> kept;
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g]->rows() == 0) continue;
    renumber[g] = static_cast<int>(kept.size());
    kept.push_back(std::move(groups_[g]));
  }
  groups_ = std::move(kept);
  for (auto& w : where_) w.first = renumber[w.first];
}

void BatchGroupsKVCache::filter(const std::vector<int>& keep) {
  std::vector<std::pair<int, int>> where;
  for (size_t g = 0; g < groups_.size(); ++g) {
    // This group's kept rows, in its own order, and where each lands.
    std::vector<int> inner;
    for (int i : keep)
      if (where_.at(i).first == static_cast<int>(g)) inner.push_back(where_[i].second);
    std::sort(inner.begin(), inner.end());
    groups_[g]->filter(inner);
  }
  for (int i : keep) {
    const auto [g, j] = where_.at(i);
    // Its new index in the group: how many kept rows of the group came before it there.
    int n = 0;
    for (int o : keep)
      if (where_[o].first == g && where_[o].second < j) ++n;
    where.emplace_back(g, n);
  }
  where_ = std::move(where);
  erase_empty_groups();
}

void BatchGroupsKVCache::drop_from_group(int g, int j) {
  std::vector<int> keep;
  for (int o = 0; o < groups_[g]->rows(); ++o)
    if (o != j) keep.push_back(o);
  groups_[g]->filter(keep);
  for (auto& w : where_)
    if (w.first == g && w.second > j) --w.second;
}

void BatchGroupsKVCache::quantize_row(int i, KvQuant spec) {
  const auto [g, j] = where_.at(i);
  auto* plain = dynamic_cast<BatchKVCache*>(groups_[g].get());
  if (!plain || plain->quant()) fail("E_MLX", "only a full-precision batch row can be quantized");
  auto q = plain->row_cache(j)->to_quantized(spec.group_size, spec.bits);
  drop_from_group(g, j);
  where_[i] = {-1, -1};
  extend(*q);
  // extend appended the row as a new last row: it is row i, not a new one.
  where_[i] = where_.back();
  where_.pop_back();
  erase_empty_groups();
}

mx::array BatchGroupsKVCache::attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale) {
  // One group holding the rows in row order (a moved row lands last in its group, so not always).
  bool in_order = groups_.size() == 1;
  for (int i = 0; in_order && i < rows(); ++i) in_order = where_[i].second == i;
  if (in_order) return groups_[0]->attend(q, k, v, scale);
  std::vector<mx::array> outs;
  std::vector<int> order;  // the rows in the order of `outs`' rows
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto m = members(static_cast<int>(g));
    auto idx = mx::array(m.data(), {static_cast<int>(m.size())}, mx::int32);
    outs.push_back(groups_[g]->attend(mx::take(q, idx, 0), mx::take(k, idx, 0), mx::take(v, idx, 0), scale));
    order.insert(order.end(), m.begin(), m.end());
  }
  std::vector<int> inverse(order.size());
  for (size_t p = 0; p < order.size(); ++p) inverse[order[p]] = static_cast<int>(p);
  return mx::take(mx::concatenate(outs, 0), mx::array(inverse.data(), {static_cast<int>(inverse.size())}, mx::int32), 0);
}

}  // namespace mlxts
