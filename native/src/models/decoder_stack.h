// What every architecture's model class shares, as mlx-lm's files each repeat it: the token embedding,
// the architecture's blocks, the final norm and the head (an lm_head, or the embedding when tied), and
// the three stages a pipeline-sharded model runs one per rank (src/dist/pipeline.cpp). forward is the
// three stages in a row. An architecture file supplies Block: `static Block load(ModelLoader&, const
// ModelConfig&, int layer)` and `mx::array operator()(const mx::array&, KVCache&) const`.
#pragma once

#include <optional>
#include <vector>

#include "models/registry.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/params.h"

namespace mlxts {

template <class Block>
class DecoderStack : public Model {
 public:
  DecoderStack(const Architecture& arch, const ModelConfig& cfg, const WeightStore& w) : Model(arch, cfg) {
    ModelLoader l(w, config_, params_);
    // A pipeline rank builds only its stage; otherwise the whole model.
    const PipelineStage st = cfg.pipeline_stage.value_or(PipelineStage{0, cfg.num_hidden_layers, true, true});
    if (st.embed) embed_tokens_ = l.embedding("model.embed_tokens", cfg.vocab_size, cfg.hidden_size);
    for (int i = st.begin; i < st.end; ++i) layers_.push_back(Block::load(l, config_, i));
    if (st.head) norm_ = l.rms_norm("model.norm", cfg.hidden_size, cfg.rms_norm_eps);
    if (st.head && !tied()) lm_head_ = l.linear("lm_head", cfg.hidden_size, cfg.vocab_size);
  }

  bool has_stages() const override { return true; }
  mx::array embed_stage(const mx::array& tokens) override { return embed_tokens_.embed(tokens); }
  mx::array layers_stage(mx::array h, Cache& cache) override {
    for (size_t i = 0; i < layers_.size(); ++i) h = layers_[i](h, cache[i]);
    return h;
  }
  mx::array head_stage(const mx::array& h) override {
    auto x = norm_(h);
    return lm_head_ ? (*lm_head_)(x) : embed_tokens_(x);
  }
  mx::array forward(const mx::array& tokens, Cache& cache) override { return head_stage(layers_stage(embed_stage(tokens), cache)); }
  int num_layers() const override { return static_cast<int>(layers_.size()); }

 private:
  Linear embed_tokens_;
  std::vector<Block> layers_;
  RMSNorm norm_;
  std::optional<Linear> lm_head_;
};

}  // namespace mlxts
