// llama.cpp's GGUF tensor names -> the HF names the architectures load. One table for every
// architecture (llama.cpp names tensors by role, not by model); an architecture passes the roles it
// adds and does its own fix-ups (llama's Q/K row order) after.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "weights.h"

namespace mlxts {

// Per-block roles: {"attn_q", "self_attn.q_proj"} maps blk.N.attn_q.<suffix> to model.layers.N.self_attn.q_proj.<suffix>.
using GgufRoles = std::vector<std::pair<std::string, std::string>>;

// The roles of a llama-style decoder block (attention, norms, dense SwiGLU MLP).
const GgufRoles& gguf_decoder_roles();

// Renames every tensor. Tensors llama.cpp keeps that mlx-lm does not use (rope_freqs) are dropped; a
// block tensor with no role in `roles` is E_UNSUPPORTED_ARCH naming it ("not supported yet").
void rename_gguf_tensors(WeightMap& weights, const GgufRoles& roles, const std::string& source);

}  // namespace mlxts
