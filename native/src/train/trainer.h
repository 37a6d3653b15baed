// The LoRA training loop, free of N-API: mlx-lm's tuner/trainer.py train() with default_loss, the
// batches of iterate_batches (padding to 1 + a multiple of 32, offsets/lengths masks), gradient
// accumulation, and Adam / AdamW as mlx.optimizers has them. Only the adapter arrays get gradients.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model.h"
#include "train/lora.h"

namespace mlxts {

struct TrainParams {
  LoraConfig lora;
  // Tokenised examples and the offset of the first trained target in each (mlx-lm's (tokens, offset)).
  std::vector<std::vector<int32_t>> examples;
  std::vector<int32_t> offsets;
  // iters * batch_size example indices: the batches in the order they are trained.
  std::vector<int32_t> schedule;
  int iters = 0;
  int batch_size = 4;
  int grad_accum = 1;
  int max_seq_len = 2048;
  float learning_rate = 1e-5f;
  bool adamw = false;  // mlx-lm's default optimizer is "adam"
  float weight_decay = 0.01f;
  uint64_t seed = 0;
  std::optional<WeightMap> init_adapter;
  // Where adapters.safetensors goes (empty: not saved); also NNNNNNN_adapters.safetensors every save_every steps.
  std::string adapter_dir;
  int save_every = 0;
  // A validation set (mlx-lm's valid.jsonl): its examples, and before which steps it is evaluated on
  // which batches (trainer.train's evaluate(), in the order the shared numpy RNG gives).
  std::vector<std::vector<int32_t>> val_examples;
  std::vector<int32_t> val_offsets;
  struct Evaluation {
    int step = 0;
    std::vector<std::vector<int32_t>> batches;
  };
  std::vector<Evaluation> evals;
};

struct StepReport {
  int step = 0;
  float loss = 0;
  int tokens = 0;          // trained (masked) tokens this step
  double trained_tokens = 0;
  double elapsed_s = 0;    // training time so far
  double tokens_per_sec = 0;
  double peak_memory = 0;
  std::string saved;       // file written after this step, if any
  std::optional<float> val_loss;  // evaluated before this step's update (mlx-lm's "Iter N: Val loss")
  double val_s = 0;               // time the evaluation took (not counted in elapsed_s)
};

struct TrainOutcome {
  int steps = 0;
  bool cancelled = false;
  std::string saved;  // final adapters.safetensors, if written
  bool compiled = false;  // the steps ran as one compiled graph (false: the plain step, after a trace failed or when disabled)
  std::string uncompiled_reason;  // why not compiled: MLX_TS_TRAIN_COMPILE=0, or what the failed trace threw
  Adapter adapter;
};

// Runs on the caller's thread; checks `cancel` between steps (a cancelled run keeps and saves the
// adapter trained so far). The adapter stays set on the model's layers afterwards.
TrainOutcome run_training(Model& model, const TrainParams& p, const std::atomic<bool>& cancel, const std::function<void(const StepReport&)>& on_step);

// Writes the adapter's tensors as mlx-lm does (mx.save_safetensors of the trainable parameters).
void save_adapter(const Adapter& ad, const std::string& file);

}  // namespace mlxts
