#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include "errors.h"
#include "loader.h"

namespace fs = std::filesystem;

namespace mlxts {

size_t validate_safetensors(const std::string& file) {
  const auto corrupt = [&](const std::string& why) {
    fail("E_CORRUPT_WEIGHTS", file + " is not a valid safetensors file: " + why + ". It is probably truncated or corrupt; download or convert it again.");
  };
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) fail("E_MODEL_NOT_FOUND", file + " cannot be read (" + ec.message() + ").");
  std::ifstream f(file, std::ios::binary);
  uint8_t len_bytes[8];
  if (size < 8 || !f.read(reinterpret_cast<char*>(len_bytes), 8)) corrupt("shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8 || header_len > (100u << 20)) corrupt("the header length (" + std::to_string(header_len) + ") exceeds the file size");
  std::string header(header_len, '\0');
  if (!f.read(header.data(), static_cast<std::streamsize>(header_len))) corrupt("the header cannot be read");
  Json h;
  try {
    h = Json::parse(header);
  } catch (const std::exception& e) {
    corrupt(std::string("the JSON header is malformed (") + e.what() + ")");
  }
  if (!h.is_object()) corrupt("the JSON header is not an object");
  uint64_t end = 0;
  for (const auto& [name, t] : h.as_object()) {
    if (name == "__metadata__") continue;
    const Json* off = t.find("data_offsets");
    if (!off || !off->is_array() || off->as_array().size() != 2 || !off->as_array()[1].is_number())
      corrupt("tensor \"" + name + "\" has no data_offsets");
    end = std::max<uint64_t>(end, static_cast<uint64_t>(off->as_array()[1].as_number()));
  }
  const uint64_t have = size - 8 - header_len;
  if (end > have)
    corrupt("its tensors need " + std::to_string(end) + " bytes of data but only " + std::to_string(have) + " are present (truncated)");
  return static_cast<size_t>(end);
}

LoadResult load_safetensors_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    fail("E_MODEL_NOT_FOUND", dir + " does not exist. Pass a directory with config.json and *.safetensors, or a .gguf file.");
  if (!fs::is_directory(dir, ec))
    fail("E_MODEL_NOT_FOUND", dir + " is not a directory or a .gguf file. Pass a model directory (config.json + *.safetensors) or a .gguf file.");
  const fs::path root(dir);
  if (!fs::exists(root / "config.json"))
    fail("E_MODEL_NOT_FOUND", dir + " has no config.json, so it is not a Hugging Face/MLX model directory. Point to the folder that holds config.json and the *.safetensors files.");

  LoadResult r;
  r.config = read_json_file((root / "config.json").string());

  std::vector<std::string> files;
  const auto index = root / "model.safetensors.index.json";
  if (fs::exists(index)) {
    Json idx = read_json_file(index.string());
    const Json* map = idx.find("weight_map");
    if (!map || !map->is_object())
      fail("E_CORRUPT_WEIGHTS", index.string() + " has no \"weight_map\" object. Re-download the index file.");
    std::set<std::string> unique;
    for (const auto& [k, v] : map->as_object())
      if (v.is_string()) unique.insert(v.as_string());
    for (const auto& f : unique) {
      if (!fs::exists(root / f))
        fail("E_CORRUPT_WEIGHTS", dir + ": shard " + f + " named by model.safetensors.index.json is missing. The download is incomplete; fetch the missing shard.");
      files.push_back((root / f).string());
    }
  } else {
    for (const auto& e : fs::directory_iterator(root)) {
      const auto name = e.path().filename().string();
      if (name.rfind("model", 0) == 0 && e.path().extension() == ".safetensors") files.push_back(e.path().string());
    }
    if (files.empty())
      for (const auto& e : fs::directory_iterator(root))
        if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  }
  if (files.empty())
    fail("E_MODEL_NOT_FOUND", dir + " has config.json but no *.safetensors weights. Download the weights (model.safetensors or model-*.safetensors) into it.");

  for (const auto& f : files) {
    r.file_bytes += validate_safetensors(f);
    mx::SafetensorsLoad loaded = [&] {
      try {
        return mx::load_safetensors(f);
      } catch (const std::exception& e) {
        throw classify_exception(e, "reading " + f);
      }
    }();
    for (auto& [k, v] : loaded.first) r.weights.insert_or_assign(k, v);
  }
  r.source = files.size() == 1 ? files[0] : dir + " (" + std::to_string(files.size()) + " safetensors files)";
  return r;
}

}  // namespace mlxts
