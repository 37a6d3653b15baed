#include "models/registry.h"

#include "errors.h"

namespace mlxts {

// Every architecture, one line each: X(name) is `const Architecture name_architecture` in models/name.cpp.
#define MLXTS_ARCHITECTURES(X) \
  X(llama)                     \
  X(qwen2)                     \
  X(qwen3)                     \
  X(qwen3_moe)                 \
  X(qwen2_moe)

#define MLXTS_DECLARE(n) extern const Architecture n##_architecture;
MLXTS_ARCHITECTURES(MLXTS_DECLARE)
#undef MLXTS_DECLARE

namespace {

const std::vector<const Architecture*>& all() {
#define MLXTS_ENTRY(n) &n##_architecture,
  static const std::vector<const Architecture*> list{MLXTS_ARCHITECTURES(MLXTS_ENTRY)};
#undef MLXTS_ENTRY
  return list;
}

}  // namespace

const Architecture& find_architecture(const std::string& model_type, bool gguf, const std::string& source) {
  std::string supported;
  for (const Architecture* a : all()) {
    const auto& names = gguf ? a->gguf_architectures : a->model_types;
    for (const auto& n : names) {
      if (n == model_type) return *a;
      supported += (supported.empty() ? "" : ", ") + n;
    }
  }
  if (gguf)
    fail("E_UNSUPPORTED_ARCH", source + ": GGUF architecture \"" + model_type + "\" is not implemented. Supported GGUF architectures: " + supported + ".");
  fail("E_UNSUPPORTED_ARCH", source + ": model_type \"" + model_type + "\" is not implemented. Supported: " + supported + ".");
}

}  // namespace mlxts
