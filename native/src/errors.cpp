#include "errors.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <new>

namespace mlxts {

namespace {
bool contains(std::string haystack, std::string needle) {
  auto lower = [](std::string& s) { std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); }); };
  lower(haystack);
  lower(needle);
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

std::string human_bytes(size_t n) {
  static const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  char buf[32];
  if (i == 0) std::snprintf(buf, sizeof buf, "%zu B", n);
  else std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[i]);
  return buf;
}

NativeError classify_exception(const std::exception& e, const std::string& context) {
  if (auto* ne = dynamic_cast<const NativeError*>(&e)) return *ne;
  const std::string what = e.what();
  const std::string prefix = context.empty() ? std::string() : context + ": ";
  if (dynamic_cast<const std::bad_alloc*>(&e) || contains(what, "memory limit") || contains(what, "out of memory") ||
      contains(what, "unable to allocate") || contains(what, "failed to allocate")) {
    return NativeError("E_MEMORY_LIMIT", prefix + "MLX could not allocate memory (" + what +
                                             "). Free memory (%unload a model, %cache clear) or raise the limit (%limit memory SIZE, or mx.setMemoryLimit).");
  }
  if (contains(what, "[load_gguf]") &&
      (contains(what, "unexpected type") || contains(what, "to_f16") || contains(what, "quantized tensor"))) {
    return NativeError("E_UNSUPPORTED_GGUF_TYPE", prefix + "a tensor in this GGUF uses a type MLX cannot read (" + what +
                                                      "). Re-export the model as F16, Q4_0, Q4_1 or Q8_0.");
  }
  if (contains(what, "[load_gguf]") || contains(what, "[load_safetensors]")) {
    return NativeError("E_CORRUPT_WEIGHTS", prefix + "the weights file could not be read (" + what +
                                                "). The file is probably truncated or corrupt: download or convert it again.");
  }
  return NativeError("E_MLX", prefix + what);
}

}  // namespace mlxts
