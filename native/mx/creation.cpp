// Array creation: from JS typed arrays and scalars, constant fills, ranges, and random numbers.
#include "common.h"

namespace mlxts::mxb {

namespace {

template <typename T>
mx::array from_typed(const Napi::TypedArray& ta, const mx::Shape& shape, mx::Dtype dtype) {
  auto view = ta.As<Napi::TypedArrayOf<T>>();
  const T* begin = view.Data();
  // The iterator constructor copies and converts element by element into `dtype`.
  return mx::array(begin, shape, dtype);
}

size_t shape_size(const mx::Shape& shape) {
  size_t n = 1;
  for (auto d : shape) {
    if (d < 0) bad_argument("shape dimensions must be >= 0.");
    n *= static_cast<size_t>(d);
  }
  return n;
}

mx::Dtype dtype_or(const Napi::Value& v, mx::Dtype fallback) { return v.IsUndefined() || v.IsNull() ? fallback : to_dtype(v); }

}  // namespace

void register_creation(Napi::Env env, Napi::Object exports) {
  // fromTypedArray(data, shape, dtype): copies the data into a new MLX array of that dtype.
  def(env, exports, "fromTypedArray", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (!info[0].IsTypedArray()) bad_argument("data must be a typed array.");
    auto ta = info[0].As<Napi::TypedArray>();
    mx::Shape shape = to_shape(info[1], "shape");
    mx::Dtype dtype = to_dtype(info[2]);
    if (shape_size(shape) != ta.ElementLength()) {
      bad_argument("shape holds " + std::to_string(shape_size(shape)) + " elements but the data has " + std::to_string(ta.ElementLength()) + ".");
    }
    switch (ta.TypedArrayType()) {
      case napi_int8_array: return wrap(info.Env(), from_typed<int8_t>(ta, shape, dtype));
      case napi_uint8_array:
      case napi_uint8_clamped_array: return wrap(info.Env(), from_typed<uint8_t>(ta, shape, dtype));
      case napi_int16_array: return wrap(info.Env(), from_typed<int16_t>(ta, shape, dtype));
      case napi_uint16_array: return wrap(info.Env(), from_typed<uint16_t>(ta, shape, dtype));
      case napi_int32_array: return wrap(info.Env(), from_typed<int32_t>(ta, shape, dtype));
      case napi_uint32_array: return wrap(info.Env(), from_typed<uint32_t>(ta, shape, dtype));
      case napi_float32_array: return wrap(info.Env(), from_typed<float>(ta, shape, dtype));
      case napi_float64_array: return wrap(info.Env(), from_typed<double>(ta, shape, dtype));
      case napi_bigint64_array: return wrap(info.Env(), from_typed<int64_t>(ta, shape, dtype));
      case napi_biguint64_array: return wrap(info.Env(), from_typed<uint64_t>(ta, shape, dtype));
      default: bad_argument("unsupported typed array type.");
    }
  });
  // fromRawBits(uint16 data, shape, dtype): float16/bfloat16 arrays from their stored bits.
  def(env, exports, "fromRawBits", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) bad_argument("raw half-precision data must be a Uint16Array.");
    auto ta = info[0].As<Napi::Uint16Array>();
    mx::Shape shape = to_shape(info[1], "shape");
    mx::Dtype dtype = to_dtype(info[2]);
    if (dtype != mx::float16 && dtype != mx::bfloat16) bad_argument("raw bits are only for float16 and bfloat16.");
    if (shape_size(shape) != ta.ElementLength()) bad_argument("shape does not match the number of elements.");
    mx::array bits(ta.Data(), shape, mx::uint16);
    return wrap(info.Env(), mx::view(bits, dtype));
  });
  def(env, exports, "scalar", [](const Napi::CallbackInfo& info) -> Napi::Value {
    mx::Dtype dtype = to_dtype(info[1]);
    if (info[0].IsBoolean()) return wrap(info.Env(), mx::array(info[0].As<Napi::Boolean>().Value(), dtype));
    if (info[0].IsBigInt()) {
      bool lossless = false;
      int64_t v = info[0].As<Napi::BigInt>().Int64Value(&lossless);
      if (!lossless) bad_argument("BigInt value does not fit in int64.");
      return wrap(info.Env(), mx::array(v, dtype));
    }
    return wrap(info.Env(), mx::array(to_double(info[0], "value"), dtype));
  });
  def(env, exports, "zeros", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::zeros(to_shape(info[0], "shape"), dtype_or(info[1], mx::float32)));
  });
  def(env, exports, "ones", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::ones(to_shape(info[0], "shape"), dtype_or(info[1], mx::float32)));
  });
  // full(shape, valueArray, dtype?): the fill value is an array so that it broadcasts.
  def(env, exports, "full", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const mx::array& v = unwrap(info[1], "value");
    if (info[2].IsUndefined() || info[2].IsNull()) return wrap(info.Env(), mx::full(to_shape(info[0], "shape"), v));
    return wrap(info.Env(), mx::full(to_shape(info[0], "shape"), v, to_dtype(info[2])));
  });
  def(env, exports, "arange", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::arange(to_double(info[0], "start"), to_double(info[1], "stop"), to_double(info[2], "step"), to_dtype(info[3])));
  });
  def(env, exports, "linspace", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::linspace(to_double(info[0], "start"), to_double(info[1], "stop"), to_int(info[2], "num"), true,
                                         dtype_or(info[3], mx::float32)));
  });
  def(env, exports, "eye", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::eye(to_int(info[0], "n"), to_int(info[1], "m"), to_int(info[2], "k"), dtype_or(info[3], mx::float32)));
  });

  // Random numbers use MLX's global key sequence (mx.random.seed makes them reproducible), or an explicit key.
  def(env, exports, "randomSeed", [](const Napi::CallbackInfo& info) -> Napi::Value {
    double s = to_double(info[0], "seed");
    if (s < 0) bad_argument("seed must be >= 0.");
    mx::random::seed(static_cast<uint64_t>(s));
    return info.Env().Undefined();
  });
  def(env, exports, "randomKey", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::random::key(static_cast<uint64_t>(to_double(info[0], "seed"))));
  });
  def(env, exports, "randomSplit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::random::split(unwrap(info[0], "key"), to_int(info[1], "num")));
  });
  // randomNormal(shape, dtype, loc, scale, key?)
  def(env, exports, "randomNormal", [](const Napi::CallbackInfo& info) -> Napi::Value {
    mx::Dtype dtype = dtype_or(info[1], mx::float32);
    return wrap(info.Env(), mx::random::normal(to_shape(info[0], "shape"), dtype, static_cast<float>(to_double(info[2], "loc")),
                                               static_cast<float>(to_double(info[3], "scale")), unwrap_optional(info[4], "key")));
  });
  // randomUniform(low, high, shape, dtype, key?): low/high are arrays so they may broadcast.
  def(env, exports, "randomUniform", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::random::uniform(unwrap(info[0], "low"), unwrap(info[1], "high"), to_shape(info[2], "shape"),
                                                dtype_or(info[3], mx::float32), unwrap_optional(info[4], "key")));
  });
  def(env, exports, "randomRandint", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::random::randint(unwrap(info[0], "low"), unwrap(info[1], "high"), to_shape(info[2], "shape"),
                                                dtype_or(info[3], mx::int32), unwrap_optional(info[4], "key")));
  });
  def(env, exports, "randomCategorical", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), mx::random::categorical(unwrap(info[0], "logits"), to_int(info[1], "axis"), unwrap_optional(info[2], "key")));
  });
}

}  // namespace mlxts::mxb
