#include "weights.h"

#include "errors.h"

namespace mlxts {

std::string shape_str(const mx::Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string dtype_name(mx::Dtype d) {
  if (d == mx::float32) return "float32";
  if (d == mx::float16) return "float16";
  if (d == mx::bfloat16) return "bfloat16";
  if (d == mx::uint32) return "uint32";
  if (d == mx::uint8) return "uint8";
  if (d == mx::int32) return "int32";
  if (d == mx::int8) return "int8";
  if (d == mx::bool_) return "bool";
  if (d == mx::int64) return "int64";
  if (d == mx::uint16) return "uint16";
  if (d == mx::int16) return "int16";
  if (d == mx::uint64) return "uint64";
  if (d == mx::float64) return "float64";
  return "unknown";
}

mx::array WeightStore::get(const std::string& name, const std::optional<mx::Shape>& shape) const {
  auto it = w_.find(name);
  if (it == w_.end())
    fail("E_CORRUPT_WEIGHTS", source_ + ": tensor \"" + name + "\" is missing. The checkpoint is incomplete or does not match its config.json; re-download or re-convert it.");
  if (shape && it->second.shape() != *shape)
    fail("E_CORRUPT_WEIGHTS", source_ + ": tensor \"" + name + "\" has shape " + shape_str(it->second.shape()) + " but config.json implies " +
                                  shape_str(*shape) + ". The weights do not match the config; re-download or re-convert the model.");
  return it->second;
}

std::optional<mx::array> WeightStore::maybe(const std::string& name) const {
  auto it = w_.find(name);
  if (it == w_.end()) return std::nullopt;
  return it->second;
}

size_t total_bytes(const WeightMap& w) {
  size_t n = 0;
  for (const auto& [k, v] : w) n += v.nbytes();
  return n;
}

}  // namespace mlxts
