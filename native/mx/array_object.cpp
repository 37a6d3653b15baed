// The JS wrapper around one mx::array: shape, dtype, repr and data access without copying.
#include <sstream>

#include "common.h"

namespace mlxts::mxb {

Napi::Function ArrayObject::define(Napi::Env env) {
  return DefineClass(env, "NativeArray",
                     {
                         InstanceMethod<&ArrayObject::shape>("shape"),
                         InstanceMethod<&ArrayObject::dtype>("dtype"),
                         InstanceMethod<&ArrayObject::nbytes>("nbytes"),
                         InstanceMethod<&ArrayObject::repr>("repr"),
                         InstanceMethod<&ArrayObject::data>("data"),
                     });
}

ArrayObject::ArrayObject(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<ArrayObject>(info), array_(0.0f), env_(info.Env()) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw js_error(info.Env(), "E_BAD_ARGUMENT", "NativeArray cannot be constructed from JavaScript; use the mx functions (mx.array, mx.zeros, ...).");
  }
  array_ = *info[0].As<Napi::External<mx::array>>().Data();
  // nbytes() is known from shape and dtype before evaluation, so lazy graphs are accounted too.
  accounted_ = static_cast<int64_t>(array_.nbytes());
  if (accounted_ > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_);
}

ArrayObject::~ArrayObject() {
  if (accounted_ > 0) {
    int64_t change_in_bytes = 0;
    napi_adjust_external_memory(env_, -accounted_, &change_in_bytes);
  }
}

Napi::Value ArrayObject::shape(const Napi::CallbackInfo& info) {
  auto out = Napi::Array::New(info.Env(), array_.ndim());
  for (size_t i = 0; i < array_.ndim(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), array_.shape(static_cast<int>(i))));
  return out;
}

Napi::Value ArrayObject::dtype(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_name(array_.dtype())); }

Napi::Value ArrayObject::nbytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(array_.nbytes())); }

Napi::Value ArrayObject::repr(const Napi::CallbackInfo& info) {
  return guarded(info, "repr", [this](const Napi::CallbackInfo& i) -> Napi::Value {
    std::ostringstream os;
    os << array_;  // MLX's own printer: the same text Python's repr(mx.array) shows, summarised with "..."
    return Napi::String::New(i.Env(), os.str());
  });
}

namespace {

template <typename T>
Napi::Value typed_view(Napi::Env env, Napi::ArrayBuffer buffer, size_t count, napi_typedarray_type type) {
  return Napi::TypedArrayOf<T>::New(env, count, buffer, 0, type);
}

}  // namespace

// data(raw): evaluates and returns a typed array over the array's own memory (an external ArrayBuffer that
// keeps the mx::array alive). float16/bfloat16 become a Float32Array copy, or with raw=true a Uint16Array of
// the stored bits (no copy). Non-contiguous views (transposes, broadcasts) are made contiguous first.
Napi::Value ArrayObject::data(const Napi::CallbackInfo& info) {
  return guarded(info, "toTypedArray", [this](const Napi::CallbackInfo& i) -> Napi::Value {
    Napi::Env env = i.Env();
    bool raw = i.Length() > 0 && i[0].ToBoolean().Value();
    mx::array a = array_;
    bool half = a.dtype() == mx::float16 || a.dtype() == mx::bfloat16;
    if (half && !raw) a = mx::astype(a, mx::float32);
    if (a.dtype() == mx::complex64) bad_argument("complex64 arrays have no typed-array form; take mx.real/mx.imag first.");
    mx::eval(a);
    if (!a.flags().row_contiguous || a.data_size() != a.size()) {
      a = mx::contiguous(a);
      mx::eval(a);
    }
    size_t count = a.size();
    Napi::ArrayBuffer buffer;
    if (a.nbytes() == 0) {
      buffer = Napi::ArrayBuffer::New(env, 0);
    } else {
      auto holder = std::make_unique<mx::array>(a);
      void* ptr = holder->data<uint8_t>();
      buffer = Napi::ArrayBuffer::New(
          env, ptr, a.nbytes(), [](Napi::Env, void*, mx::array* h) { std::unique_ptr<mx::array> owned(h); },
          holder.get());
      holder.release();  // now owned by the ArrayBuffer's finalizer
    }
    switch (a.dtype()) {
      case mx::bool_: return typed_view<uint8_t>(env, buffer, count, napi_uint8_array);
      case mx::uint8: return typed_view<uint8_t>(env, buffer, count, napi_uint8_array);
      case mx::uint16: return typed_view<uint16_t>(env, buffer, count, napi_uint16_array);
      case mx::uint32: return typed_view<uint32_t>(env, buffer, count, napi_uint32_array);
      case mx::uint64: return typed_view<uint64_t>(env, buffer, count, napi_biguint64_array);
      case mx::int8: return typed_view<int8_t>(env, buffer, count, napi_int8_array);
      case mx::int16: return typed_view<int16_t>(env, buffer, count, napi_int16_array);
      case mx::int32: return typed_view<int32_t>(env, buffer, count, napi_int32_array);
      case mx::int64: return typed_view<int64_t>(env, buffer, count, napi_bigint64_array);
      case mx::float16:
      case mx::bfloat16: return typed_view<uint16_t>(env, buffer, count, napi_uint16_array);
      case mx::float32: return typed_view<float>(env, buffer, count, napi_float32_array);
      case mx::float64: return typed_view<double>(env, buffer, count, napi_float64_array);
      default: bad_argument("arrays of dtype " + dtype_name(a.dtype()) + " have no typed-array form.");
    }
  });
}

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Value wrap(Napi::Env env, const mx::array& a) {
  mx::array copy = a;
  return addon_data(env).array_ctor.New({Napi::External<mx::array>::New(env, &copy)});
}

Napi::Value wrap_all(Napi::Env env, const std::vector<mx::array>& arrays) {
  auto out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(static_cast<uint32_t>(i), wrap(env, arrays[i]));
  return out;
}

const mx::array& unwrap(const Napi::Value& v, const char* what) {
  if (v.IsObject()) {
    Napi::Object o = v.As<Napi::Object>();
    if (o.InstanceOf(addon_data(v.Env()).array_ctor.Value())) return ArrayObject::Unwrap(o)->array();
  }
  bad_argument(std::string(what) + " must be an mx array (make one with mx.array(...)).");
}

std::optional<mx::array> unwrap_optional(const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return unwrap(v, what);
}

std::vector<mx::array> unwrap_all(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) bad_argument(std::string(what) + " must be a list of mx arrays.");
  Napi::Array list = v.As<Napi::Array>();
  std::vector<mx::array> out;
  out.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) out.push_back(unwrap(list.Get(i), what));
  return out;
}

}  // namespace mlxts::mxb
