// Body of a mlx::core::fast::metal_kernel, the twin of decode_attention_reduce.cu. UNVERIFIED: written
// to MLX's documented metal_kernel API; no Metal device has run it.
const int d = thread_position_in_threadgroup.x;
const int h = threadgroup_position_in_grid.y;
const int b = threadgroup_position_in_grid.z;
const int n_q = threadgroups_per_grid.y;
const int S = m_part_shape[2];
const long base = (long(b) * n_q + h) * S;
float M = -INFINITY;
for (int s = 0; s < S; ++s) M = max(M, m_part[base + s]);
float Ls = 0.f, A = 0.f;
for (int s = 0; s < S; ++s) {
  const float ms = m_part[base + s];
  if (ms == -INFINITY) continue;
  const float f = fast::exp(ms - M);
  Ls += l_part[base + s] * f;
  A += o_part[(base + s) * D + d] * f;
}
out[(long(b) * n_q + h) * D + d] = static_cast<T>(A / Ls);
