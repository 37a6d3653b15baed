// Argument conversion (JS values -> shapes, axes, dtypes) and error translation (C++ -> typed JS errors).
#include <cmath>
#include <utility>

#include "common.h"

namespace mlxts::mxb {

namespace {

const std::pair<const char*, mx::Dtype> kDtypes[] = {
    {"bool", mx::bool_},       {"uint8", mx::uint8},     {"uint16", mx::uint16},   {"uint32", mx::uint32},
    {"uint64", mx::uint64},    {"int8", mx::int8},       {"int16", mx::int16},     {"int32", mx::int32},
    {"int64", mx::int64},      {"float16", mx::float16}, {"bfloat16", mx::bfloat16}, {"float32", mx::float32},
    {"float64", mx::float64},  {"complex64", mx::complex64},
};

// MLX's messages are terse ("[broadcast_shapes] Shapes (2,3) and (4) cannot be broadcast."); add what to do.
std::string hint_for(const std::string& msg) {
  auto has = [&](const char* s) { return msg.find(s) != std::string::npos; };
  if (has("inexact") || has("floating point") || has("dtype") || has(" type")) return "Check the operands' .dtype; convert with .astype(...) (e.g. mx.float32).";
  if (has("broadcast")) return "Check the operands' .shape: broadcasting needs each trailing dimension to be equal or 1.";
  if (has("matmul") || has("Last dimension of first input")) return "For matmul(a, b) the last axis of a must equal the second-to-last axis of b; check .shape or transpose one operand.";
  if (has("reshape") || has("Cannot reshape")) return "The new shape must hold exactly .size elements (use -1 for one inferred dimension).";
  if (has("quantiz")) return "Quantization works along the last axis, which must divide by groupSize (32, 64 or 128) with bits in {2,3,4,5,6,8}.";
  if (has("memory") || has("Memory") || has("allocate")) return "Free arrays you no longer need, call mx.clearCache(), or raise the limit with mx.setMemoryLimit(bytes).";
  if (has("axis") || has("Axis")) return "Axes count from 0 to ndim-1 (negative counts from the end); check .ndim.";
  if (has("dimension")) return "Check the input's .shape and .ndim against what the function expects (fast.rope and attention take [..., seq, features]).";
  if (has("device") || has("gpu") || has("Device")) return "This MLX build may have no such device; mx.defaultDevice() tells which one is in use.";
  return "Check the arguments' shapes and dtypes against the function's documentation.";
}

}  // namespace

mx::Dtype to_dtype(const Napi::Value& v) {
  if (!v.IsString()) bad_argument("dtype must be a string such as \"float32\" (or mx.float32).");
  std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& [name, d] : kDtypes) {
    if (s == name) return d;
  }
  bad_argument("unknown dtype \"" + s + "\"; use one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64.");
}

std::string dtype_name(mx::Dtype d) {
  for (const auto& [name, dt] : kDtypes) {
    if (dt == d) return name;
  }
  return "unknown";
}

int to_int(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) bad_argument(std::string(what) + " must be an integer.");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::abs(d) > 2147483647.0) bad_argument(std::string(what) + " must be an integer, got " + std::to_string(d) + ".");
  return static_cast<int>(d);
}

double to_double(const Napi::Value& v, const char* what) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
  if (!v.IsNumber()) bad_argument(std::string(what) + " must be a number.");
  return v.As<Napi::Number>().DoubleValue();
}

std::string to_string(const Napi::Value& v, const char* what) {
  if (!v.IsString()) bad_argument(std::string(what) + " must be a string.");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int> to_ints(const Napi::Value& v, const char* what) {
  if (v.IsNumber()) return {to_int(v, what)};
  if (!v.IsArray()) bad_argument(std::string(what) + " must be an integer or a list of integers.");
  Napi::Array list = v.As<Napi::Array>();
  std::vector<int> out;
  out.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) out.push_back(to_int(list.Get(i), what));
  return out;
}

mx::Shape to_shape(const Napi::Value& v, const char* what) {
  auto ints = to_ints(v, what);
  return mx::Shape(ints.begin(), ints.end());
}

void bad_argument(const std::string& message) { throw BindError("E_BAD_ARGUMENT", message); }

Napi::Error js_error(Napi::Env env, const std::string& code, const std::string& message) {
  auto& data = addon_data(env);
  if (!data.error_ctor.IsEmpty()) {
    Napi::Object err = data.error_ctor.New({Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("name", Napi::String::New(env, "MlxError"));
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Error translate(Napi::Env env, const std::exception& e, const std::string& op) {
  if (auto* b = dynamic_cast<const BindError*>(&e)) return js_error(env, b->code, "mx." + op + ": " + b->what());
  std::string msg = e.what();
  std::string code = "E_MLX";
  if (msg.find("memory") != std::string::npos && msg.find("limit") != std::string::npos) code = "E_MEMORY_LIMIT";
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) code = "E_MEMORY_LIMIT";
  std::string sep = !msg.empty() && (msg.back() == '.' || msg.back() == '!') ? " " : ". ";
  return js_error(env, code, "mx." + op + " failed: " + msg + sep + hint_for(msg));
}

}  // namespace mlxts::mxb
