// Body of a mlx::core::fast::metal_kernel, the twin of decode_attention_partial.cu (same inputs,
// outputs, template constants T, D, G, WARPS and grid). UNVERIFIED: written to MLX's documented
// metal_kernel API; no Metal device has run it.
constexpr int E = D / 32;
const int split = threadgroup_position_in_grid.x;
const int S = threadgroups_per_grid.x;
const int kvh = threadgroup_position_in_grid.y;
const int b = threadgroup_position_in_grid.z;
const int n_kv = threadgroups_per_grid.y;
const int lane = thread_index_in_simdgroup;
const int warp = simdgroup_index_in_threadgroup;
const int Lk = k_shape[2];
const int chunk = (Lk + S - 1) / S;
const int t0 = split * chunk;
const int t1 = min(Lk, t0 + chunk);
const float sc = scale[0];

float qv[G][E];
for (int g = 0; g < G; ++g) {
  const device T* qb = q + b * q_strides[0] + (kvh * G + g) * q_strides[1] + lane * E;
  for (int e = 0; e < E; ++e) qv[g][e] = static_cast<float>(qb[e]) * sc;
}
float m[G], l[G], acc[G][E];
for (int g = 0; g < G; ++g) {
  m[g] = -INFINITY;
  l[g] = 0.f;
  for (int e = 0; e < E; ++e) acc[g][e] = 0.f;
}
const device T* kb = k + b * k_strides[0] + kvh * k_strides[1] + lane * E;
const device T* vb = v + b * v_strides[0] + kvh * v_strides[1] + lane * E;
// KV_FIRST(b): row b's first key (the header defines it: 0, or start[b] for the batch variant, whose
// extra input start [B] int32 skips each row's left padding).
for (int t = max(t0, KV_FIRST(b)) + warp; t < t1; t += WARPS) {
  float kf[E], vf[E];
  for (int e = 0; e < E; ++e) {
    kf[e] = static_cast<float>(kb[t * k_strides[2] + e]);
    vf[e] = static_cast<float>(vb[t * v_strides[2] + e]);
  }
  for (int g = 0; g < G; ++g) {
    float s = 0.f;
    for (int e = 0; e < E; ++e) s += qv[g][e] * kf[e];
    s = simd_sum(s);
    const float mn = max(m[g], s);
    const float a = fast::exp(m[g] - mn);
    const float p = fast::exp(s - mn);
    l[g] = l[g] * a + p;
    for (int e = 0; e < E; ++e) acc[g][e] = acc[g][e] * a + p * vf[e];
    m[g] = mn;
  }
}

threadgroup float sm_m[WARPS][G];
threadgroup float sm_l[WARPS][G];
threadgroup float sm_acc[WARPS][G][D];
for (int g = 0; g < G; ++g) {
  if (lane == 0) {
    sm_m[warp][g] = m[g];
    sm_l[warp][g] = l[g];
  }
  for (int e = 0; e < E; ++e) sm_acc[warp][g][lane * E + e] = acc[g][e];
}
threadgroup_barrier(mem_flags::mem_threadgroup);
const int n_q = n_kv * G;
for (uint i = thread_index_in_threadgroup; i < uint(G * D); i += threads_per_threadgroup.x) {
  const int g = i / D;
  const int d = i - g * D;
  float M = -INFINITY;
  for (int w = 0; w < WARPS; ++w) M = max(M, sm_m[w][g]);
  float Ls = 0.f, A = 0.f;
  if (M != -INFINITY) {
    for (int w = 0; w < WARPS; ++w) {
      const float f = sm_m[w][g] == -INFINITY ? 0.f : fast::exp(sm_m[w][g] - M);
      Ls += sm_l[w][g] * f;
      A += sm_acc[w][g][d] * f;
    }
  }
  const long row = (long(b) * n_q + kvh * G + g) * S + split;
  o_part[row * D + d] = A;
  if (d == 0) {
    m_part[row] = M;
    l_part[row] = Ls;
  }
}
