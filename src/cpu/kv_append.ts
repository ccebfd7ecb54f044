/** CPU twin of shaders/kv_append.wgsl: copies k, v [T, D] into rows pos.. of the caches [maxCtx, D]. */
export function kv_append(
  kCache: Float32Array,
  vCache: Float32Array,
  k: Float32Array,
  v: Float32Array,
  T: number,
  D: number,
  opts: { pos: number },
): void {
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < D; i++) {
      kCache[(opts.pos + t) * D + i] = k[t * D + i];
      vCache[(opts.pos + t) * D + i] = v[t * D + i];
    }
  }
}
