// Weight maps keyed by HF names, and the lookups that turn a missing or misshapen tensor into E_CORRUPT_WEIGHTS.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <mlx/mlx.h>

#include "config.h"

namespace mlxts {
namespace mx = mlx::core;

using WeightMap = std::unordered_map<std::string, mx::array>;

class WeightStore {
 public:
  WeightStore(WeightMap weights, std::string source) : w_(std::move(weights)), source_(std::move(source)) {}

  bool has(const std::string& name) const { return w_.count(name) != 0; }
  const std::string& source() const { return source_; }
  // The tensor, checked against `shape` when given; E_CORRUPT_WEIGHTS otherwise.
  mx::array get(const std::string& name, const std::optional<mx::Shape>& shape = std::nullopt) const;
  std::optional<mx::array> maybe(const std::string& name) const;
  const WeightMap& all() const { return w_; }

 private:
  WeightMap w_;
  std::string source_;
};

std::string shape_str(const mx::Shape& s);
std::string dtype_name(mx::Dtype d);
size_t total_bytes(const WeightMap& w);

}  // namespace mlxts
