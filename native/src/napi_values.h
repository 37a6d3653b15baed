// Conversions between our C++ values and JS values, and JS errors carrying `.code`.
#pragma once

#include <napi.h>

#include "errors.h"
#include "json.h"
#include "loader.h"

namespace mlxts {

Napi::Value to_js(Napi::Env env, const Json& j);
Napi::Object to_js(Napi::Env env, const GgufMetadata& m);
Napi::Error to_js_error(Napi::Env env, const std::string& code, const std::string& message);
inline Napi::Error to_js_error(Napi::Env env, const NativeError& e) { return to_js_error(env, e.code(), e.what()); }

// Argument readers that throw E_BAD_ARGUMENT JS errors naming the argument.
double number_arg(const Napi::Env& env, const Napi::Value& v, const char* what);
std::string string_arg(const Napi::Env& env, const Napi::Value& v, const char* what);

}  // namespace mlxts
