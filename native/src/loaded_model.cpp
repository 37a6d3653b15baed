#include "loaded_model.h"

#include <filesystem>
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "dist/pipeline.h"
#include "dist/rank.h"
#include "errors.h"

namespace fs = std::filesystem;

namespace mlxts {

std::mutex& mlx_job_mutex() {
  static std::mutex mu;
  return mu;
}

namespace {

size_t nbytes_as(const mx::array& a, std::optional<mx::Dtype> dtype) {
  if (dtype && mx::issubdtype(a.dtype(), mx::floating)) return a.size() * mx::size_of(*dtype);
  return a.nbytes();
}

}  // namespace

std::shared_ptr<LoadedModel> LoadedModel::load(const LoadOptions& opts) {
  LoadResult r = opts.gguf ? load_gguf_file(opts.path) : load_safetensors_files(opts.path, opts.files);
  ModelConfig cfg = opts.config;
  const Architecture& arch = find_architecture(cfg.model_type, opts.gguf, r.source);
  if (opts.gguf) {
    arch.from_gguf(r.weights, cfg, r.source);
    // A GGUF says nothing about tying but ships an output tensor only when the head is untied.
    if (!cfg.tie_word_embeddings) cfg.tie_word_embeddings = !r.weights.count("lm_head.weight");
    cfg.model_type = arch.model_types.front();
  }
  cfg = arch.resolve(cfg, r.source, opts.gguf);
  arch.sanitize(r.weights, cfg);
  if (opts.shard && opts.shard->pipeline) dist::stage_weights(r.weights, cfg, *opts.shard, r.source);  // dist: layers split
  else if (opts.shard) dist::shard_weights(r.weights, cfg, *opts.shard, r.source);

  // GGUF keeps norms in float32 and scales in float16; one dtype throughout is what mlx-lm computes with.
  // float16 on a GPU; float32 on the CPU backend, which has no native half arithmetic (measured: a
  // SmolLM2 forward is ~30x slower in float16 than in float32 there).
  std::optional<mx::Dtype> cast = opts.dtype;
  if (!cast && opts.gguf) cast = mx::default_device() == mx::Device::cpu ? mx::float32 : mx::float16;
  size_t bytes = 0;
  for (const auto& [k, v] : r.weights) bytes += nbytes_as(v, cast);
  const size_t limit = mx::get_memory_limit();
  const size_t active = mx::get_active_memory();
  if (active + bytes > limit)
    fail("E_MEMORY_LIMIT", "its weights need " + human_bytes(bytes) + ", but " + human_bytes(active) +
                               " are in use and the MLX memory limit is " + human_bytes(limit) +
                               ". Unload a model (%unload), quantize, or raise the limit (%limit memory SIZE, or mx.setMemoryLimit).");
  if (cast)
    for (auto& [k, v] : r.weights)
      if (mx::issubdtype(v.dtype(), mx::floating) && v.dtype() != *cast) v = mx::astype(v, *cast);

  WeightStore store(std::move(r.weights), r.source);
  auto model = arch.build(cfg, store);
  try {
    mx::eval(model->params().arrays());
  } catch (const std::exception& e) {
    model->release();
    throw classify_exception(e, "materialising the weights of " + r.source);
  }

  if (opts.shard) {  // dist: sum the row-split layers over the ranks, and agree on cancelling each step
    auto g = dist::group();
    if (!g) fail("E_BAD_ARGUMENT", "a sharded load needs the distributed group first (distInit).");
    if (opts.shard->pipeline) model = dist::wrap_pipeline_model(model, *g);
    else dist::mark_all_sums(model->params(), *g);
    model = dist::wrap_rank_model(model, *g);
  }
  auto lm = std::make_shared<LoadedModel>();
  lm->model_ = model;
  lm->slot_ = std::make_shared<ModelSlot>();
  lm->slot_->model = model;
  lm->slot_->cache = model->make_cache();
  return lm;
}

void LoadedModel::check_usable() const {
  if (disposed_) fail("E_BAD_ARGUMENT", "this model was disposed; load it again to use it.");
}

size_t LoadedModel::weight_bytes() const {
  if (disposed_) return 0;
  size_t n = 0;
  for (const auto& a : model_->params().arrays()) n += a.nbytes();
  return n;
}

size_t LoadedModel::num_parameters() const {
  // As mlx-lm's get_total_parameters: quantized layers count their unpacked size.
  return disposed_ ? 0 : model_->params().num_parameters();
}

QuantLayout LoadedModel::quant_layout() const {
  QuantLayout out;
  if (disposed_) return out;
  std::map<std::tuple<int, int, std::string>, int> counts;
  for (const auto& [name, l] : model_->params().linears)
    if (l->quant) counts[{l->quant->group_size, l->quant->bits, l->quant->mode}]++;
  if (counts.empty()) return out;
  auto best = std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  const QuantSpec common{std::get<0>(best->first), std::get<1>(best->first), std::get<2>(best->first)};
  out.common = common;
  for (const auto& [name, l] : model_->params().linears) {
    if (!l->quant) out.modules.emplace_back(name, std::nullopt);
    else if (!(*l->quant == common)) out.modules.emplace_back(name, *l->quant);
  }
  return out;
}

std::string LoadedModel::dtype() const {
  if (disposed_) return "";
  for (const auto& [name, t] : model_->params().tensors)
    if (name == "model.norm.weight") return dtype_name(t->dtype());
  return dtype_name(model_->compute_dtype());
}

std::vector<float> LoadedModel::logits(const std::vector<int32_t>& tokens, int last) {
  std::lock_guard lock(op_mu_);
  check_usable();
  if (tokens.empty()) fail("E_BAD_ARGUMENT", "logits() needs at least one token.");
  if (last < 1 || last > static_cast<int>(tokens.size()))
    fail("E_BAD_ARGUMENT", "logits(): positions must be from 1 to the number of tokens (" + std::to_string(tokens.size()) + "), got " + std::to_string(last) + ".");
  for (int32_t t : tokens)
    if (t < 0 || t >= model_->vocab_size())
      fail("E_BAD_ARGUMENT", "token id " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(model_->vocab_size()) + ").");
  try {
    mx::array ids(tokens.data(), mx::Shape{1, static_cast<int>(tokens.size())}, mx::int32);
    Cache cache = model_->make_cache();
    auto out = model_->forward(ids, cache);
    const int T = out.shape(1);
    const int V = out.shape(2);
    auto rows = mx::astype(mx::reshape(mx::slice(out, {0, T - last, 0}, {1, T, V}), {last * V}), mx::float32);
    mx::eval(rows);
    const float* p = rows.data<float>();
    return std::vector<float>(p, p + static_cast<size_t>(last) * V);
  } catch (const std::exception& e) {
    throw classify_exception(e, "computing logits");
  }
}

void LoadedModel::dispose() {
  std::lock_guard lock(op_mu_);
  if (disposed_) return;
  if (slot_->busy.load()) fail("E_BAD_ARGUMENT", "a generation is running on this model; cancel it and wait for its \"done\" event before dispose().");
  disposed_ = true;
  {
    std::lock_guard slot_lock(slot_->mu);
    slot_->cache.clear();
    slot_->cached_tokens.clear();
  }
  model_->release();
}

}  // namespace mlxts
