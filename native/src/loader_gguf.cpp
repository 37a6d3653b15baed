// A .gguf file's tensors, under llama.cpp's names: the architecture renames them (models/<name>.cpp
// from_gguf, with the shared table in models/gguf_names.cpp).
#include <filesystem>

#include "errors.h"
#include "loader.h"

namespace fs = std::filesystem;

namespace mlxts {

LoadResult load_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail("E_MODEL_NOT_FOUND", path + " does not exist or is not a file. Pass the path of a .gguf file.");
  mx::GGUFLoad loaded = [&] {
    try {
      return mx::load_gguf(path);
    } catch (const std::exception& e) {
      throw classify_exception(e, "reading " + path);
    }
  }();
  // The metadata (loaded.second) was read by the TypeScript side already; only the tensors are used.
  LoadResult r;
  r.source = path;
  for (auto& [k, v] : loaded.first) {
    r.file_bytes += v.nbytes();
    r.weights.insert_or_assign(k, v);
  }
  return r;
}

}  // namespace mlxts
