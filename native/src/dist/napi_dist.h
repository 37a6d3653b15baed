// The addon's distributed surface (kernel/engine/shards-native.ts): distInit, and the `shards` load option.
#pragma once

#include <napi.h>

#include "dist/shard_plan.h"

namespace mlxts::dist {

// loadModel's `shards: N`: this rank's spec, once distInit made a group of N ranks; a JS error otherwise.
ShardSpec shard_spec_from_js(Napi::Env env, const Napi::Value& v);
void register_exports(Napi::Env env, Napi::Object exports);

}  // namespace mlxts::dist
