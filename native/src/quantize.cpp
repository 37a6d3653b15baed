// In-place quantization of a loaded model, as mlx-lm's quantize_model / nn.quantize do: every Linear,
// SwitchLinear and the embedding, except layers whose input dimension does not divide by the group
// size; the architecture's quant_spec_for may give a layer another spec.
#include "errors.h"
#include "loaded_model.h"

namespace mlxts {

namespace {

void validate(const QuantSpec& s) {
  if (s.mode == "affine") {
    if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 5 && s.bits != 6 && s.bits != 8)
      fail("E_BAD_ARGUMENT", "affine quantization supports bits 2, 3, 4, 5, 6 or 8, not " + std::to_string(s.bits) + ".");
    if (s.group_size != 32 && s.group_size != 64 && s.group_size != 128)
      fail("E_BAD_ARGUMENT", "affine quantization supports group sizes 32, 64 or 128, not " + std::to_string(s.group_size) + ".");
  } else if (s.mode == "mxfp4" || s.mode == "mxfp8") {
    const int bits = s.mode == "mxfp4" ? 4 : 8;
    if (s.bits != bits || s.group_size != 32)
      fail("E_BAD_ARGUMENT", s.mode + " quantization needs bits " + std::to_string(bits) + " and group size 32 (got bits " + std::to_string(s.bits) +
                                 ", group size " + std::to_string(s.group_size) + ").");
  } else {
    fail("E_BAD_ARGUMENT", "quantization mode \"" + s.mode + "\" is not supported; use affine, mxfp4 or mxfp8.");
  }
}

// Holds slot->busy for the duration so no generation starts on half-replaced weights.
class BusyGuard {
 public:
  explicit BusyGuard(ModelSlot& s) : s_(s) {
    bool expected = false;
    if (!s_.busy.compare_exchange_strong(expected, true))
      fail("E_BAD_ARGUMENT", "a generation is running on this model; cancel it or wait for it to finish before quantizing.");
  }
  ~BusyGuard() { s_.busy.store(false); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  ModelSlot& s_;
};

}  // namespace

QuantizeReport LoadedModel::quantize(const QuantSpec& spec) {
  validate(spec);
  std::lock_guard lock(op_mu_);
  check_usable();
  BusyGuard busy(*slot_);
  QuantizeReport rep;
  rep.bytes_before = weight_bytes();
  const mx::Dtype dtype = model_->compute_dtype();
  try {
    for (auto& [name, l] : model_->params().linears) {
      if (l->in_dims % spec.group_size != 0) {
        rep.skipped_layers.push_back(name);
        continue;
      }
      // The architecture may pick another spec for a layer (qwen3_moe's router stays at 8 bits).
      const auto target = model_->quant_spec_for(name, spec);
      if (!target) continue;
      if (l->quant && *l->quant == *target) continue;
      // Already quantized differently (e.g. a GGUF's 8-bit embedding): requantize from the dequantized values.
      auto w = l->dense_weight(dtype);
      auto q = mx::quantize(w, target->group_size, target->bits, target->mode);
      mx::eval(q);
      l->weight = q[0];
      l->scales = q[1];
      if (q.size() > 2) l->biases = q[2];
      else l->biases.reset();
      l->quant = *target;
      ++rep.quantized_layers;
    }
  } catch (const std::exception& e) {
    throw classify_exception(e, "quantizing");
  }
  {
    // KV entries computed with the old weights would be wrong for the next prompt.
    std::lock_guard slot_lock(slot_->mu);
    for (auto& c : slot_->cache) c.reset();
    slot_->cached_tokens.clear();
  }
  rep.bytes_after = weight_bytes();
  return rep;
}

}  // namespace mlxts
