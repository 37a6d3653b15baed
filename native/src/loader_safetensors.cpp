#include <cstdint>
#include <filesystem>
#include <fstream>

#include "errors.h"
#include "loader.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {
[[noreturn]] void corrupt(const std::string& file, const std::string& why) {
  fail("E_CORRUPT_WEIGHTS", file + " is not a valid safetensors file: " + why + ". It is probably truncated or corrupt; download or convert it again.");
}
}  // namespace

size_t safetensors_data_bytes(const std::string& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) fail("E_MODEL_NOT_FOUND", file + " cannot be read (" + ec.message() + ").");
  std::ifstream f(file, std::ios::binary);
  uint8_t len_bytes[8];
  if (size < 8 || !f.read(reinterpret_cast<char*>(len_bytes), 8)) corrupt(file, "shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8 || header_len > (100u << 20)) corrupt(file, "the header length (" + std::to_string(header_len) + ") exceeds the file size");
  return static_cast<size_t>(size - 8 - header_len);
}

LoadResult load_safetensors_files(const std::string& dir, const std::vector<std::string>& files) {
  if (files.empty()) fail("E_MODEL_NOT_FOUND", dir + " has no *.safetensors weights.");
  LoadResult r;
  for (const auto& f : files) {
    const size_t have = safetensors_data_bytes(f);
    mx::SafetensorsLoad loaded = [&] {
      try {
        return mx::load_safetensors(f);
      } catch (const std::exception& e) {
        throw classify_exception(e, "reading " + f);
      }
    }();
    // MLX reads tensor data lazily, so a truncated file would only fail at the first use: tensors do
    // not overlap, so the bytes they declare must fit in the data section.
    size_t need = 0;
    for (const auto& [k, v] : loaded.first) need += v.nbytes();
    if (need > have)
      corrupt(f, "its tensors need " + std::to_string(need) + " bytes of data but only " + std::to_string(have) + " are present (truncated)");
    r.file_bytes += need;
    for (auto& [k, v] : loaded.first) r.weights.insert_or_assign(k, v);
  }
  r.source = files.size() == 1 ? files[0] : dir + " (" + std::to_string(files.size()) + " safetensors files)";
  return r;
}

}  // namespace mlxts
