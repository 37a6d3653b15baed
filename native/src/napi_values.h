// Conversions between our C++ values and JS values, and JS errors carrying `.code`.
#pragma once

#include <napi.h>

#include <string>

#include "config.h"
#include "errors.h"
#include "loaded_model.h"

namespace mlxts {

Napi::Error to_js_error(Napi::Env env, const std::string& code, const std::string& message);
inline Napi::Error to_js_error(Napi::Env env, const NativeError& e) { return to_js_error(env, e.code(), e.what()); }

// Argument readers that throw E_BAD_ARGUMENT JS errors naming the argument.
double number_arg(const Napi::Env& env, const Napi::Value& v, const char* what);
std::string string_arg(const Napi::Env& env, const Napi::Value& v, const char* what);

// NativeModelConfig (kernel/engine/native-types.ts) -> ModelConfig; E_BAD_ARGUMENT names a mistyped key.
ModelConfig config_from_js(Napi::Env env, const Napi::Value& v);
// {group_size, bits, mode}, as config.json writes a quantization spec.
Napi::Object quant_spec_to_js(Napi::Env env, const QuantSpec& q);
// config.json "quantization": the common spec plus per-module entries (a spec, or false).
Napi::Object quant_layout_to_js(Napi::Env env, const QuantLayout& q);
// JSON.stringify(value, null, 4) into path (top-level keys sorted when sort_keys, as mlx-lm's save_config).
void write_json_file(Napi::Env env, const std::string& path, const Napi::Object& value, bool sort_keys);

}  // namespace mlxts
