#include "nn/params.h"

#include "errors.h"

namespace mlxts {

WeightMap Params::export_weights() const {
  WeightMap out;
  for (const auto& [name, l] : linears) l->export_to(out, name);
  for (const auto& [name, t] : tensors) out.insert_or_assign(name, *t);
  return out;
}

std::vector<mx::array> Params::arrays() const {
  std::vector<mx::array> out;
  for (const auto& [name, l] : linears)
    for (auto& a : l->arrays()) out.push_back(a);
  for (const auto& [name, t] : tensors) out.push_back(*t);
  return out;
}

size_t Params::num_parameters() const {
  size_t n = 0;
  for (const auto& [name, l] : linears) n += l->num_parameters();
  for (const auto& [name, t] : tensors) n += t->size();
  return n;
}

void Params::release() {
  const auto empty = mx::array({}, mx::float32);
  for (auto& [name, l] : linears) {
    l->weight = empty;
    l->scales.reset();
    l->biases.reset();
    l->bias.reset();
  }
  for (auto& [name, t] : tensors) *t = empty;
}

Linear ModelLoader::linear(const std::string& name, int in_dims, int out_dims, bool bias) { return load(name, 0, in_dims, out_dims, bias); }

Linear ModelLoader::switch_linear(const std::string& name, int experts, int in_dims, int out_dims, bool bias) {
  return load(name, experts, in_dims, out_dims, bias);
}

Linear ModelLoader::load(const std::string& name, int experts, int in_dims, int out_dims, bool has_bias) {
  const std::string wname = name + ".weight";
  auto lw = std::make_shared<LinearWeights>(LinearWeights{w_.get(wname)});
  lw->in_dims = in_dims;
  lw->out_dims = out_dims;
  lw->experts = experts;
  // Shapes of a layer: [out, in] or [experts, out, in].
  const auto shape = [&](int last) {
    return experts > 0 ? mx::Shape{experts, out_dims, last} : mx::Shape{out_dims, last};
  };
  if (auto scales = w_.maybe(name + ".scales")) {
    const auto& ws = lw->weight.shape();
    const auto& ss = scales->shape();
    const size_t nd = experts > 0 ? 3 : 2;
    const int wlast = ws.empty() ? 0 : ws.back();
    const int slast = ss.empty() ? 0 : ss.back();
    if (ws.size() != nd || ss.size() != nd || ws != shape(wlast) || ss != shape(slast) || slast == 0 || in_dims % slast != 0 ||
        (static_cast<int64_t>(wlast) * 32) % in_dims != 0)
      fail("E_CORRUPT_WEIGHTS", w_.source() + ": quantized tensor \"" + wname + "\" " + shape_str(ws) + " with scales " + shape_str(ss) +
                                    " does not fit a " + shape_str(shape(in_dims)) + " layer. The weights do not match config.json; re-convert the model.");
    QuantSpec q;
    q.group_size = in_dims / slast;
    q.bits = static_cast<int>((static_cast<int64_t>(wlast) * 32) / in_dims);
    q.mode = scales->dtype() == mx::uint8 ? (q.bits == 8 ? "mxfp8" : "mxfp4") : "affine";
    if (auto it = cfg_.quant_modules.find(name); it != cfg_.quant_modules.end() && it->second) q.mode = it->second->mode;
    lw->scales = *scales;
    if (q.mode == "affine") lw->biases = w_.get(name + ".biases", ss);
    lw->quant = q;
  } else {
    lw->weight = w_.get(wname, shape(in_dims));
  }
  if (has_bias) lw->bias = w_.get(name + ".bias", experts > 0 ? mx::Shape{experts, out_dims} : mx::Shape{out_dims});
  params_.linears.emplace_back(name, lw);
  return Linear(lw);
}

RMSNorm ModelLoader::rms_norm(const std::string& name, int dims, float eps) {
  auto t = std::make_shared<mx::array>(w_.get(name + ".weight", mx::Shape{dims}));
  params_.tensors.emplace_back(name + ".weight", t);
  return RMSNorm{t, eps};
}

}  // namespace mlxts
