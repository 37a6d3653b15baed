// Elementwise math, comparisons, reductions, and shape/indexing operations. Elementwise and reduction
// ops are looked up by name so one binding serves the whole family.
#include <functional>
#include <string_view>
#include <unordered_map>

#include "common.h"

namespace mlxts::mxb {

namespace {

using Unary = std::function<mx::array(const mx::array&)>;
using Binary = std::function<mx::array(const mx::array&, const mx::array&)>;
using Reduce = std::function<mx::array(const mx::array&, const std::vector<int>&, bool)>;
using ReduceAll = std::function<mx::array(const mx::array&, bool)>;

#define MX_UNARY(js, fn) {js, [](const mx::array& a) { return mx::fn(a); }}
#define MX_BINARY(js, fn) {js, [](const mx::array& a, const mx::array& b) { return mx::fn(a, b); }}

const std::unordered_map<std::string_view, Unary>& unary_ops() {
  static const std::unordered_map<std::string_view, Unary> ops = {
      MX_UNARY("abs", abs),           MX_UNARY("negative", negative),   MX_UNARY("sign", sign),
      MX_UNARY("exp", exp),           MX_UNARY("expm1", expm1),         MX_UNARY("log", log),
      MX_UNARY("log2", log2),         MX_UNARY("log10", log10),         MX_UNARY("log1p", log1p),
      MX_UNARY("sqrt", sqrt),         MX_UNARY("rsqrt", rsqrt),         MX_UNARY("square", square),
      MX_UNARY("reciprocal", reciprocal), MX_UNARY("sin", sin),         MX_UNARY("cos", cos),
      MX_UNARY("tan", tan),           MX_UNARY("arcsin", arcsin),       MX_UNARY("arccos", arccos),
      MX_UNARY("arctan", arctan),     MX_UNARY("sinh", sinh),           MX_UNARY("cosh", cosh),
      MX_UNARY("tanh", tanh),         MX_UNARY("sigmoid", sigmoid),     MX_UNARY("erf", erf),
      MX_UNARY("erfinv", erfinv),     MX_UNARY("floor", floor),         MX_UNARY("ceil", ceil),
      MX_UNARY("logicalNot", logical_not), MX_UNARY("isnan", isnan),    MX_UNARY("isinf", isinf),
      MX_UNARY("stopGradient", stop_gradient), MX_UNARY("bitwiseInvert", bitwise_invert),
      {"round", [](const mx::array& a) { return mx::round(a, 0); }},
  };
  return ops;
}

const std::unordered_map<std::string_view, Binary>& binary_ops() {
  static const std::unordered_map<std::string_view, Binary> ops = {
      MX_BINARY("add", add),             MX_BINARY("subtract", subtract),   MX_BINARY("multiply", multiply),
      MX_BINARY("divide", divide),       MX_BINARY("floorDivide", floor_divide), MX_BINARY("remainder", remainder),
      MX_BINARY("power", power),         MX_BINARY("maximum", maximum),     MX_BINARY("minimum", minimum),
      MX_BINARY("arctan2", arctan2),     MX_BINARY("logaddexp", logaddexp), MX_BINARY("equal", equal),
      MX_BINARY("notEqual", not_equal),  MX_BINARY("less", less),           MX_BINARY("lessEqual", less_equal),
      MX_BINARY("greater", greater),     MX_BINARY("greaterEqual", greater_equal), MX_BINARY("logicalAnd", logical_and),
      MX_BINARY("logicalOr", logical_or), MX_BINARY("bitwiseAnd", bitwise_and), MX_BINARY("bitwiseOr", bitwise_or),
      MX_BINARY("bitwiseXor", bitwise_xor), MX_BINARY("leftShift", left_shift), MX_BINARY("rightShift", right_shift),
      MX_BINARY("matmul", matmul),       MX_BINARY("inner", inner),         MX_BINARY("outer", outer),
  };
  return ops;
}

#define MX_REDUCE(js, fn) \
  {js, {[](const mx::array& a, const std::vector<int>& ax, bool k) { return mx::fn(a, ax, k); }, [](const mx::array& a, bool k) { return mx::fn(a, k); }}}

const std::unordered_map<std::string_view, std::pair<Reduce, ReduceAll>>& reduce_ops() {
  static const std::unordered_map<std::string_view, std::pair<Reduce, ReduceAll>> ops = {
      MX_REDUCE("sum", sum), MX_REDUCE("mean", mean), MX_REDUCE("max", max),  MX_REDUCE("min", min),
      MX_REDUCE("prod", prod), MX_REDUCE("all", all), MX_REDUCE("any", any), MX_REDUCE("logsumexp", logsumexp),
  };
  return ops;
}

bool absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

// A binary operand: an array handle, or a JS number/boolean made into a scalar of `scalar_dtype`
// here, which saves a JS handle per `a.add(1)`.
mx::array operand(const Napi::Value& v, const Napi::Value& scalar_dtype, const char* what) {
  if (v.IsNumber()) return mx::array(v.As<Napi::Number>().DoubleValue(), to_dtype(scalar_dtype));
  if (v.IsBoolean()) return mx::array(v.As<Napi::Boolean>().Value(), to_dtype(scalar_dtype));
  return unwrap(v, what);
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  def(env, exports, "unary", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name = to_string(info[0], "op");
    auto it = unary_ops().find(name);
    if (it == unary_ops().end()) bad_argument("no elementwise op named " + name + ".");
    return wrap(info.Env(), it->second(unwrap(info[1], "a")));
  });
  def(env, exports, "binary", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name = to_string(info[0], "op");
    auto it = binary_ops().find(name);
    if (it == binary_ops().end()) bad_argument("no binary op named " + name + ".");
    return wrap(info.Env(), it->second(operand(info[1], info[3], "a"), operand(info[2], info[3], "b")));
  });
  // reduce(op, a, axes|null, keepdims): axes null reduces over every axis.
  def(env, exports, "reduce", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name = to_string(info[0], "op");
    auto it = reduce_ops().find(name);
    if (it == reduce_ops().end()) bad_argument("no reduction named " + name + ".");
    const mx::array& a = unwrap(info[1], "a");
    bool keep = info[3].ToBoolean().Value();
    if (absent(info[2])) return wrap(info.Env(), it->second.second(a, keep));
    return wrap(info.Env(), it->second.first(a, to_ints(info[2], "axes"), keep));
  });
  def(env, exports, "variance", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    bool keep = info[2].ToBoolean().Value();
    int ddof = to_int(info[3], "ddof");
    if (absent(info[1])) return wrap(info.Env(), mx::var(a, keep, ddof));
    return wrap(info.Env(), mx::var(a, to_ints(info[1], "axes"), keep, ddof));
  });
  // argReduce("argmax"|"argmin", a, axis|null, keepdims)
  def(env, exports, "argReduce", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name = to_string(info[0], "op");
    const mx::array& a = unwrap(info[1], "a");
    bool keep = info[3].ToBoolean().Value();
    bool is_max = name == "argmax";
    if (!is_max && name != "argmin") bad_argument("argReduce takes argmax or argmin.");
    if (absent(info[2])) return wrap(info.Env(), is_max ? mx::argmax(a, keep) : mx::argmin(a, keep));
    int axis = to_int(info[2], "axis");
    return wrap(info.Env(), is_max ? mx::argmax(a, axis, keep) : mx::argmin(a, axis, keep));
  });
  // cumulative("cumsum"|"cumprod"|"cummax"|"cummin", a, axis, reverse, inclusive)
  def(env, exports, "cumulative", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name = to_string(info[0], "op");
    const mx::array& a = unwrap(info[1], "a");
    int axis = to_int(info[2], "axis");
    bool rev = info[3].ToBoolean().Value(), incl = info[4].ToBoolean().Value();
    if (name == "cumsum") return wrap(info.Env(), mx::cumsum(a, axis, rev, incl));
    if (name == "cumprod") return wrap(info.Env(), mx::cumprod(a, axis, rev, incl));
    if (name == "cummax") return wrap(info.Env(), mx::cummax(a, axis, rev, incl));
    if (name == "cummin") return wrap(info.Env(), mx::cummin(a, axis, rev, incl));
    bad_argument("no cumulative op named " + name + ".");
  });
  def(env, exports, "softmax", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    bool precise = info[2].ToBoolean().Value();
    if (absent(info[1])) return wrap(info.Env(), mx::softmax(a, precise));
    return wrap(info.Env(), mx::softmax(a, to_ints(info[1], "axes"), precise));
  });
  def(env, exports, "astype", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::astype(unwrap(info[0], "a"), to_dtype(info[1])));
  });
  def(env, exports, "view", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::view(unwrap(info[0], "a"), to_dtype(info[1])));
  });
  def(env, exports, "where", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::where(unwrap(info[0], "condition"), unwrap(info[1], "x"), unwrap(info[2], "y")));
  });
  def(env, exports, "clip", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::clip(unwrap(info[0], "a"), unwrap_optional(info[1], "min"), unwrap_optional(info[2], "max")));
  });

  // Shapes.
  def(env, exports, "reshape", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::reshape(unwrap(info[0], "a"), to_shape(info[1], "shape")));
  });
  def(env, exports, "flatten", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::flatten(unwrap(info[0], "a"), to_int(info[1], "startAxis"), to_int(info[2], "endAxis")));
  });
  def(env, exports, "transpose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    if (absent(info[1])) return wrap(info.Env(), mx::transpose(a));
    return wrap(info.Env(), mx::transpose(a, to_ints(info[1], "axes")));
  });
  def(env, exports, "swapaxes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::swapaxes(unwrap(info[0], "a"), to_int(info[1], "axis1"), to_int(info[2], "axis2")));
  });
  def(env, exports, "moveaxis", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::moveaxis(unwrap(info[0], "a"), to_int(info[1], "source"), to_int(info[2], "destination")));
  });
  def(env, exports, "expandDims", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::expand_dims(unwrap(info[0], "a"), to_ints(info[1], "axes")));
  });
  def(env, exports, "squeeze", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    if (absent(info[1])) return wrap(info.Env(), mx::squeeze(a));
    return wrap(info.Env(), mx::squeeze(a, to_ints(info[1], "axes")));
  });
  def(env, exports, "broadcastTo", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::broadcast_to(unwrap(info[0], "a"), to_shape(info[1], "shape")));
  });
  def(env, exports, "concatenate", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto arrays = unwrap_all(info[0], "arrays");
    if (absent(info[1])) return wrap(info.Env(), mx::concatenate(arrays));
    return wrap(info.Env(), mx::concatenate(arrays, to_int(info[1], "axis")));
  });
  def(env, exports, "stack", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::stack(unwrap_all(info[0], "arrays"), to_int(info[1], "axis")));
  });
  // split(a, sections: number | indices: number[], axis)
  def(env, exports, "split", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    int axis = to_int(info[2], "axis");
    if (info[1].IsNumber()) return wrap_all(info.Env(), mx::split(a, to_int(info[1], "sections"), axis));
    return wrap_all(info.Env(), mx::split(a, to_shape(info[1], "indices"), axis));
  });
  def(env, exports, "repeat", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    if (absent(info[2])) return wrap(info.Env(), mx::repeat(a, to_int(info[1], "repeats")));
    return wrap(info.Env(), mx::repeat(a, to_int(info[1], "repeats"), to_int(info[2], "axis")));
  });
  def(env, exports, "tile", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::tile(unwrap(info[0], "a"), to_ints(info[1], "reps")));
  });
  def(env, exports, "pad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    // widths: per axis [before, after]
    const mx::array& a = unwrap(info[0], "a");
    if (!info[1].IsArray()) bad_argument("pad widths must be a list of [before, after] pairs, one per axis.");
    Napi::Array list = info[1].As<Napi::Array>();
    std::vector<std::pair<int, int>> widths;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      auto pair = to_ints(list.Get(i), "pad width");
      if (pair.size() != 2) bad_argument("each pad width is [before, after].");
      widths.emplace_back(pair[0], pair[1]);
    }
    return wrap(info.Env(), mx::pad(a, widths, unwrap(info[2], "value")));
  });

  // Indexing.
  def(env, exports, "slice", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::slice(unwrap(info[0], "a"), to_shape(info[1], "start"), to_shape(info[2], "stop"), to_shape(info[3], "strides")));
  });
  // take(a, indices, axis|null): axis null treats `a` as flattened.
  def(env, exports, "take", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "a");
    const mx::array& idx = unwrap(info[1], "indices");
    if (absent(info[2])) return wrap(info.Env(), mx::take(a, idx));
    return wrap(info.Env(), mx::take(a, idx, to_int(info[2], "axis")));
  });
  def(env, exports, "takeAlongAxis", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::take_along_axis(unwrap(info[0], "a"), unwrap(info[1], "indices"), to_int(info[2], "axis")));
  });
  // sort/argsort(a, axis|null)
  def(env, exports, "sort", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[1], "a");
    bool arg = to_string(info[0], "op") == "argsort";
    if (absent(info[2])) return wrap(info.Env(), arg ? mx::argsort(a) : mx::sort(a));
    int axis = to_int(info[2], "axis");
    return wrap(info.Env(), arg ? mx::argsort(a, axis) : mx::sort(a, axis));
  });
  def(env, exports, "topk", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::topk(unwrap(info[0], "a"), to_int(info[1], "k"), to_int(info[2], "axis")));
  });
  def(env, exports, "allclose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::allclose(unwrap(info[0], "a"), unwrap(info[1], "b"), to_double(info[2], "rtol"), to_double(info[3], "atol")));
  });
}

}  // namespace mlxts::mxb
