#include "train/fuse.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "errors.h"
#include "weight_shards.h"

namespace fs = std::filesystem;

namespace mlxts {

namespace {

// The weight as mlx-lm's mx.dequantize gives it: in the scales' dtype.
mx::array plain_weight(const LinearWeights& l) {
  if (!l.quant) return l.weight;
  return mx::dequantize(l.weight, *l.scales, l.biases, l.quant->group_size, l.quant->bits, l.quant->mode);
}

// LoRALinear.fuse: the merged layer, re-quantized as the base was unless `dequantize`.
LinearWeights fused(const LinearWeights& l, bool dequantize) {
  LinearWeights out = l;
  out.lora.reset();
  auto w = plain_weight(l);
  const auto& ad = *l.lora;
  // LoRASwitchLinear.fuse: (scale * b) @ a per expert, [E, out, r] @ [E, r, in]
  auto delta = l.experts > 0 ? mx::astype(mx::matmul(mx::multiply(mx::array(ad.scale), ad.b), ad.a), w.dtype())
                             : mx::astype(mx::matmul(mx::multiply(mx::array(ad.scale), mx::transpose(ad.b)), mx::transpose(ad.a)), w.dtype());
  w = mx::add(w, delta);
  if (l.quant && !dequantize) {
    auto q = mx::quantize(w, l.quant->group_size, l.quant->bits, l.quant->mode);
    out.weight = q[0];
    out.scales = q[1];
    out.biases = q.size() > 2 ? std::optional<mx::array>(q[2]) : std::nullopt;
  } else {
    out.weight = w;
    out.scales.reset();
    out.biases.reset();
    out.quant.reset();
  }
  return out;
}

void replace(WeightMap& w, const std::string& path, const LinearWeights& l) {
  for (const char* s : {".weight", ".scales", ".biases", ".bias"}) w.erase(path + s);
  l.export_to(w, path);
}

}  // namespace

FuseReport fuse_and_save(Model& model, const std::string& dir, bool dequantize) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("E_BAD_ARGUMENT", "fuse: \"" + dir + "\" is not an existing directory.");
  FuseReport rep;
  auto& params = model.params();
  WeightMap weights = params.export_weights();
  for (const auto& [path, l] : params.linears) {
    if (l->lora) {
      replace(weights, path, fused(*l, dequantize));
      ++rep.fused_layers;
    } else if (dequantize && l->quant) {
      LinearWeights d = *l;
      d.weight = plain_weight(*l);
      d.scales.reset();
      d.biases.reset();
      d.quant.reset();
      replace(weights, path, d);
      ++rep.dequantized_layers;
    }
  }
  const auto written = write_weight_shards(weights, dir, "fuse: writing to " + dir);
  rep.weight_map = written.weight_map;
  rep.total_bytes = written.total_bytes;
  rep.total_parameters = params.num_parameters();
  return rep;
}

}  // namespace mlxts
