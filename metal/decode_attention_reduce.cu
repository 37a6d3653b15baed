// Body of a mlx::core::fast::cuda_kernel: inputs const float* o_part [B, Hq, S, D], m_part and l_part
// [B, Hq, S] (decode_attention_partial's outputs); output T* out [B, Hq, 1, D]. Template constants:
// T (dtype), D (head dim). Grid (threads): (D, Hq, B); block (D, 1, 1). Combines the splits' partial
// softmax (flash-decoding, second pass).
const int d = threadIdx.x;
const int h = blockIdx.y;
const int b = blockIdx.z;
const int n_q = gridDim.y;
const int S = m_part_shape[2];
const long base = (static_cast<long>(b) * n_q + h) * S;
float M = -INFINITY;
for (int s = 0; s < S; ++s) M = fmaxf(M, m_part[base + s]);
float Ls = 0.f, A = 0.f;
for (int s = 0; s < S; ++s) {
  const float ms = m_part[base + s];
  if (ms == -INFINITY) continue;
  const float f = __expf(ms - M);
  Ls += l_part[base + s] * f;
  A += o_part[(base + s) * D + d] * f;
}
out[(static_cast<long>(b) * n_q + h) * D + d] = static_cast<T>(A / Ls);
