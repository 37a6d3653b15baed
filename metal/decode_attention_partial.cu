// Body of a mlx::core::fast::cuda_kernel (MLX writes the signature: const T* q, k, v, scale, their
// _shape/_strides, then float* o_part, m_part, l_part). Template constants: T (dtype), D (head dim,
// 64 or 128), G (query heads per KV head, 1-8), WARPS (warps per block).
// Grid (threads): (S * WARPS * 32, n_kv_heads, B); block (WARPS * 32, 1, 1). Block (split, kv head, b)
// reads keys [split * chunk, (split + 1) * chunk) once for all G query heads of that KV head and writes
// their unnormalised partial output with its running max and sum (flash-decoding, first pass).
constexpr int E = D / 32;
const int split = blockIdx.x;
const int S = gridDim.x;
const int kvh = blockIdx.y;
const int b = blockIdx.z;
const int n_kv = gridDim.y;
const int lane = threadIdx.x & 31;
const int warp = threadIdx.x >> 5;
const int Lk = k_shape[2];
const int chunk = (Lk + S - 1) / S;
const int t0 = split * chunk;
const int t1 = min(Lk, t0 + chunk);
const float sc = scale[0];

float qv[G][E];
#pragma unroll
for (int g = 0; g < G; ++g) {
  const T* qb = q + b * q_strides[0] + (kvh * G + g) * q_strides[1] + lane * E;
#pragma unroll
  for (int e = 0; e < E; ++e) qv[g][e] = static_cast<float>(qb[e]) * sc;
}
float m[G], l[G], acc[G][E];
#pragma unroll
for (int g = 0; g < G; ++g) {
  m[g] = -INFINITY;
  l[g] = 0.f;
#pragma unroll
  for (int e = 0; e < E; ++e) acc[g][e] = 0.f;
}
const T* kb = k + b * k_strides[0] + kvh * k_strides[1] + lane * E;
const T* vb = v + b * v_strides[0] + kvh * v_strides[1] + lane * E;
// KV_FIRST(b): row b's first key (the header defines it: 0, or start[b] for the batch variant, whose
// extra input start [B] int32 skips each row's left padding).
for (int t = max(t0, KV_FIRST(b)) + warp; t < t1; t += WARPS) {
  float kf[E], vf[E];
#pragma unroll
  for (int e = 0; e < E; ++e) {
    kf[e] = static_cast<float>(kb[t * k_strides[2] + e]);
    vf[e] = static_cast<float>(vb[t * v_strides[2] + e]);
  }
#pragma unroll
  for (int g = 0; g < G; ++g) {
    float s = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) s += qv[g][e] * kf[e];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    const float mn = fmaxf(m[g], s);
    const float a = __expf(m[g] - mn);
    const float p = __expf(s - mn);
    l[g] = l[g] * a + p;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[g][e] = acc[g][e] * a + p * vf[e];
    m[g] = mn;
  }
}

__shared__ float sm_m[WARPS][G];
__shared__ float sm_l[WARPS][G];
__shared__ float sm_acc[WARPS][G][D];
#pragma unroll
for (int g = 0; g < G; ++g) {
  if (lane == 0) {
    sm_m[warp][g] = m[g];
    sm_l[warp][g] = l[g];
  }
#pragma unroll
  for (int e = 0; e < E; ++e) sm_acc[warp][g][lane * E + e] = acc[g][e];
}
__syncthreads();
const int n_q = n_kv * G;
for (int i = threadIdx.x; i < G * D; i += blockDim.x) {
  const int g = i / D;
  const int d = i - g * D;
  float M = -INFINITY;
  for (int w = 0; w < WARPS; ++w) M = fmaxf(M, sm_m[w][g]);
  float Ls = 0.f, A = 0.f;
  if (M != -INFINITY) {
    for (int w = 0; w < WARPS; ++w) {
      const float f = sm_m[w][g] == -INFINITY ? 0.f : __expf(sm_m[w][g] - M);
      Ls += sm_l[w][g] * f;
      A += sm_acc[w][g][d] * f;
    }
  }
  const long row = (static_cast<long>(b) * n_q + kvh * G + g) * S + split;
  o_part[row * D + d] = A;
  if (d == 0) {
    m_part[row] = M;
    l_part[row] = Ls;
  }
}
