#include "dist/pipeline.h"

#include "errors.h"

namespace mlxts::dist {

namespace mxd = mlx::core::distributed;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// "model.layers.12.mlp..." -> 12; -1 for a tensor outside the layers.
int layer_of(const std::string& name) {
  static const std::string p = "model.layers.";
  if (!starts_with(name, p)) return -1;
  return std::stoi(name.substr(p.size()));
}

class PipelineModel : public Model {
 public:
  PipelineModel(std::shared_ptr<Model> stage, mxd::Group g)
      : Model(stage->architecture(), stage->config()), stage_(std::move(stage)), g_(g), st_(*config_.pipeline_stage) {
    params_ = stage_->params();  // handles: the same weights
    dtype_ = activation_dtype();
  }

  mx::array forward(const mx::array& tokens, Cache& cache) override {
    const int r = g_.rank(), n = g_.size();
    const int T = tokens.shape(1);
    auto h = r == 0 ? stage_->embed_stage(tokens) : mxd::recv(mx::Shape{tokens.shape(0), T, config_.hidden_size}, dtype_, r - 1, g_);
    h = stage_->layers_stage(h, cache);
    if (r < n - 1) {
      // Evaluated here, not left in the graph: a prefill chunk evaluates only the cache, which does not
      // depend on the send, and the next rank would wait for it for ever.
      auto sent = mxd::send(h, r + 1, g_);
      mx::eval(sent);
      return mxd::all_sum(mx::zeros({tokens.shape(0), T, config_.vocab_size}, dtype_), g_);
    }
    return mxd::all_sum(stage_->head_stage(h), g_);
  }
  int num_layers() const override { return stage_->num_layers(); }
  std::optional<QuantSpec> quant_spec_for(const std::string& path, const QuantSpec& requested) const override {
    return stage_->quant_spec_for(path, requested);
  }

 private:
  std::shared_ptr<Model> stage_;
  mxd::Group g_;
  PipelineStage st_;
  mx::Dtype dtype_ = mx::float32;

  // What the hidden state is computed in: the embedding's dtype where this rank has it, else that of its
  // layers' norms (the unquantized weights, which the activations follow).
  mx::Dtype activation_dtype() const {
    if (st_.embed) return stage_->compute_dtype();
    for (const auto& [name, t] : params_.tensors)
      if (name.find("input_layernorm.weight") != std::string::npos) return t->dtype();
    return stage_->compute_dtype();
  }
};

}  // namespace

PipelineStage stage_of(int num_layers, bool tied, const ShardSpec& s) {
  const int per = num_layers / s.size, extra = num_layers % s.size;
  PipelineStage st;
  st.begin = s.rank * per + std::min(s.rank, extra);
  st.end = st.begin + per + (s.rank < extra ? 1 : 0);
  const bool last = s.rank == s.size - 1;
  st.embed = s.rank == 0 || (last && tied);
  st.head = last;
  return st;
}

void stage_weights(WeightMap& w, ModelConfig& cfg, const ShardSpec& s, const std::string& source) {
  if (s.size <= 1) return;
  if (cfg.num_hidden_layers < s.size)
    fail("E_BAD_ARGUMENT", source + ": cannot split " + std::to_string(cfg.num_hidden_layers) + " layers over " + std::to_string(s.size) + " pipeline ranks. Use at most " +
                               std::to_string(cfg.num_hidden_layers) + " shards.");
  const PipelineStage st = stage_of(cfg.num_hidden_layers, cfg.tie_word_embeddings.value_or(true), s);
  std::erase_if(w, [&](const auto& kv) {
    const std::string& name = kv.first;
    const int layer = layer_of(name);
    if (layer >= 0) return layer < st.begin || layer >= st.end;
    if (starts_with(name, "model.embed_tokens.")) return !st.embed;
    if (starts_with(name, "model.norm.") || starts_with(name, "lm_head.")) return !st.head;
    return false;
  });
  cfg.pipeline_stage = st;
}

std::shared_ptr<Model> wrap_pipeline_model(std::shared_ptr<Model> stage, mxd::Group g) {
  if (!stage->has_stages() || !stage->config().pipeline_stage) fail("E_BAD_ARGUMENT", "this architecture has no pipeline stages; use --mode tensor.");
  return std::make_shared<PipelineModel>(std::move(stage), g);
}

}  // namespace mlxts::dist
