#include "napi_values.h"

namespace mlxts {

Napi::Value to_js(Napi::Env env, const Json& j) {
  if (j.is_null()) return env.Null();
  if (j.is_bool()) return Napi::Boolean::New(env, j.as_bool());
  if (j.is_number()) return Napi::Number::New(env, j.as_number());
  if (j.is_string()) return Napi::String::New(env, j.as_string());
  if (j.is_array()) {
    const auto& a = j.as_array();
    auto arr = Napi::Array::New(env, a.size());
    for (size_t i = 0; i < a.size(); ++i) arr.Set(static_cast<uint32_t>(i), to_js(env, a[i]));
    return arr;
  }
  auto obj = Napi::Object::New(env);
  for (const auto& [k, v] : j.as_object()) obj.Set(k, to_js(env, v));
  return obj;
}

Napi::Object to_js(Napi::Env env, const GgufMetadata& m) {
  auto obj = Napi::Object::New(env);
  for (const auto& [k, v] : m) {
    if (auto s = std::get_if<std::string>(&v)) {
      obj.Set(k, Napi::String::New(env, *s));
    } else if (auto d = std::get_if<double>(&v)) {
      obj.Set(k, Napi::Number::New(env, *d));
    } else if (auto sv = std::get_if<std::vector<std::string>>(&v)) {
      auto arr = Napi::Array::New(env, sv->size());
      for (size_t i = 0; i < sv->size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, (*sv)[i]));
      obj.Set(k, arr);
    } else if (auto dv = std::get_if<std::vector<double>>(&v)) {
      auto arr = Napi::Array::New(env, dv->size());
      for (size_t i = 0; i < dv->size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, (*dv)[i]));
      obj.Set(k, arr);
    }
  }
  return obj;
}

Napi::Error to_js_error(Napi::Env env, const std::string& code, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

double number_arg(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw to_js_error(env, "E_BAD_ARGUMENT", std::string(what) + " must be a number.");
  return v.As<Napi::Number>().DoubleValue();
}

std::string string_arg(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw to_js_error(env, "E_BAD_ARGUMENT", std::string(what) + " must be a string.");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace mlxts
