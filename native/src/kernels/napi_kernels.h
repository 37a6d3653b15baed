// kernelsConfigure / kernelsSetMode / kernelsStatus / kernelsBench (kernel/engine/kernels.ts).
#pragma once

#include <napi.h>

namespace mlxts::kernels {

void register_exports(Napi::Env env, Napi::Object exports);

}  // namespace mlxts::kernels
