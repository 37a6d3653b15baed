// JS handles of mx::arrays: creation, lookup, and the accessors (shape, dtype, repr, data without copying).
#include <sstream>

#include "common.h"

namespace mlxts::mxb {

namespace {

// Runs inside GC (a basic finalizer): frees the array and returns its bytes to V8's external count.
void finalize_holder(napi_env env, void* data, void* /*hint*/) {
  std::unique_ptr<ArrayHolder> holder(static_cast<ArrayHolder*>(data));
  if (holder->accounted > 0) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -holder->accounted, &adjusted);
  }
}

template <typename T>
Napi::Value typed_view(Napi::Env env, Napi::ArrayBuffer buffer, size_t count, napi_typedarray_type type) {
  return Napi::TypedArrayOf<T>::New(env, count, buffer, 0, type);
}

// data(handle, raw): evaluates and returns a typed array over the array's own memory (an external
// ArrayBuffer that keeps the mx::array alive). float16/bfloat16 become a Float32Array copy, or with
// raw=true a Uint16Array of the stored bits (no copy). Non-contiguous views (transposes, broadcasts)
// are made contiguous first.
Napi::Value data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool raw = info.Length() > 1 && info[1].ToBoolean().Value();
  mx::array a = unwrap(info[0], "array");
  bool half = a.dtype() == mx::float16 || a.dtype() == mx::bfloat16;
  if (half && !raw) a = mx::astype(a, mx::float32);
  if (a.dtype() == mx::complex64) bad_argument("complex64 arrays have no typed-array form.");
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
        env, ptr, a.nbytes(), [](Napi::Env, void*, mx::array* h) { std::unique_ptr<mx::array> owned(h); }, holder.get());
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
}

}  // namespace

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Value wrap(Napi::Env env, const mx::array& a) {
  Napi::Object obj = Napi::Object::New(env);
  auto holder = std::make_unique<ArrayHolder>(a);
  // nbytes() is known from shape and dtype before evaluation, so lazy graphs are accounted too.
  holder->accounted = static_cast<int64_t>(a.nbytes());
  napi_status status = napi_wrap(env, obj, holder.get(), finalize_holder, nullptr, nullptr);
  if (status != napi_ok) throw Napi::Error::New(env, "could not attach an MLX array to its JS handle");
  ArrayHolder* attached = holder.release();  // owned by the handle's finalizer from here on
  if (attached->accounted > 0) Napi::MemoryManagement::AdjustExternalMemory(env, attached->accounted);
  return obj;
}

Napi::Value wrap_all(Napi::Env env, const std::vector<mx::array>& arrays) {
  auto out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(static_cast<uint32_t>(i), wrap(env, arrays[i]));
  return out;
}

const mx::array& unwrap(const Napi::Value& v, const char* what) {
  void* data = nullptr;
  if (v.IsObject() && napi_unwrap(v.Env(), v, &data) == napi_ok && data != nullptr) {
    auto* holder = static_cast<ArrayHolder*>(data);
    if (holder->magic == ArrayHolder::kMagic) return holder->array;
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

void register_array(Napi::Env env, Napi::Object exports) {
  def(env, exports, "shape", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& a = unwrap(info[0], "array");
    auto out = Napi::Array::New(info.Env(), a.ndim());
    for (size_t i = 0; i < a.ndim(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), a.shape(static_cast<int>(i))));
    return out;
  });
  def(env, exports, "dtype", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), dtype_name(unwrap(info[0], "array").dtype()));
  });
  def(env, exports, "nbytes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(unwrap(info[0], "array").nbytes()));
  });
  def(env, exports, "repr", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::ostringstream os;
    os << unwrap(info[0], "array");  // MLX's own printer: the text Python's repr(mx.array) shows, summarised with "..."
    return Napi::String::New(info.Env(), os.str());
  });
  def(env, exports, "toTypedArray", data);
}

}  // namespace mlxts::mxb
