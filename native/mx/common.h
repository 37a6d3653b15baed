// Shared pieces of the mx addon: the array wrapper, argument conversion, and error translation.
#pragma once

#include <napi.h>

#include <mlx/mlx.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlxts::mxb {

namespace mx = mlx::core;

// Per-environment state: the constructor of typed errors (kernel/mx's MlxError, registered by setErrorClass).
struct AddonData {
  Napi::FunctionReference error_ctor;
};

AddonData& addon_data(Napi::Env env);

// What a JS array handle owns: one mx::array. Handles are plain objects with this struct attached by
// napi_wrap (cheaper than an ObjectWrap class instance; the accessors are module functions). Its byte
// size is reported to V8 as external memory so that dropping many large temporaries makes V8 collect
// them before MLX memory grows; the finalizer runs during GC (see CMakeLists.txt: NAPI_EXPERIMENTAL).
struct ArrayHolder {
  static constexpr uint64_t kMagic = 0x6d6c782d74732d61ULL;  // tells our holders from other addons' wraps
  uint64_t magic = kMagic;
  mx::array array;
  int64_t accounted = 0;
  explicit ArrayHolder(const mx::array& a) : array(a) {}
};

// Wraps an array into a new JS handle (takes a copy of the mx::array; data is shared).
Napi::Value wrap(Napi::Env env, const mx::array& a);
Napi::Value wrap_all(Napi::Env env, const std::vector<mx::array>& arrays);
// The array behind a JS handle; throws E_BAD_ARGUMENT for anything else.
const mx::array& unwrap(const Napi::Value& v, const char* what);
std::optional<mx::array> unwrap_optional(const Napi::Value& v, const char* what);
std::vector<mx::array> unwrap_all(const Napi::Value& v, const char* what);

mx::Dtype to_dtype(const Napi::Value& v);
std::string dtype_name(mx::Dtype d);
mx::Shape to_shape(const Napi::Value& v, const char* what);
std::vector<int> to_ints(const Napi::Value& v, const char* what);
int to_int(const Napi::Value& v, const char* what);
double to_double(const Napi::Value& v, const char* what);
std::string to_string(const Napi::Value& v, const char* what);

// A C++ exception thrown on purpose with a code from kernel/engine/native-types.ts.
struct BindError : std::runtime_error {
  BindError(std::string c, const std::string& m) : std::runtime_error(m), code(std::move(c)) {}
  std::string code;
};
[[noreturn]] void bad_argument(const std::string& message);

// Builds the JS error (an MlxError when kernel/mx registered its class) for any C++ exception.
Napi::Error js_error(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error translate(Napi::Env env, const std::exception& e, const std::string& op);

// Runs a binding body, turning MLX/standard exceptions into typed JS errors instead of crashes.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* op, F&& body) {
  try {
    return body(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    // The family bindings (unary, binary, reduce, ...) name the real op in their first argument.
    bool family = std::string_view(op) == "unary" || std::string_view(op) == "binary" || std::string_view(op) == "reduce" ||
                  std::string_view(op) == "argReduce" || std::string_view(op) == "cumulative" || std::string_view(op) == "sort";
    std::string name = family && info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : op;
    throw translate(info.Env(), e, name);
  }
}

// Registers every binding of one area on the exports object.
void register_array(Napi::Env env, Napi::Object exports);
void register_creation(Napi::Env env, Napi::Object exports);
void register_ops(Napi::Env env, Napi::Object exports);
void register_nn(Napi::Env env, Napi::Object exports);
void register_runtime(Napi::Env env, Napi::Object exports);

// Shorthand for exports.name = guarded function.
template <typename F>
void def(Napi::Env env, Napi::Object exports, const char* name, F body) {
  exports.Set(name, Napi::Function::New(env, [name, body](const Napi::CallbackInfo& info) -> Napi::Value {
                return guarded(info, name, body);
              }, name));
}

}  // namespace mlxts::mxb
