/** Colour scales and canvas drawing for the explainer: heat strips and attention heatmaps. */

/** White to blue for a value in [0, 1] (probabilities, norms over their maximum). */
export function sequential(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const r = Math.round(255 - t * (255 - 29));
  const g = Math.round(255 - t * (255 - 78));
  const b = Math.round(255 - t * (255 - 216));
  return `rgb(${r},${g},${b})`;
}

/** Blue (negative) through white to red (positive) for a value in [-1, 1]. */
export function diverging(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  if (t >= 0) {
    const f = Math.round(255 * (1 - t));
    return `rgb(255,${Math.round(255 - t * 190)},${f})`;
  }
  const f = Math.round(255 * (1 + t));
  return `rgb(${f},${Math.round(255 + t * 150)},255)`;
}

/** One cell per value, coloured by value / max|value|: a vector at a glance. Returns max|value|. */
export function drawHeatStrip(canvas: HTMLCanvasElement, values: Float32Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  canvas.width = values.length;
  canvas.height = 1;
  const ctx = canvas.getContext('2d')!;
  for (let i = 0; i < values.length; i++) {
    ctx.fillStyle = diverging(max > 0 ? values[i] / max : 0);
    ctx.fillRect(i, 0, 1, 1);
  }
  return max;
}

/**
 * A T x T attention map, one pixel (or `cell` pixels) per (query, key): darker is more. The square
 * root of the probability is shown so small weights stay visible; `row` outlines one query.
 */
export function drawAttention(
  canvas: HTMLCanvasElement,
  probs: Float32Array,
  T: number,
  cell = 1,
  row?: number,
): void {
  canvas.width = T * cell;
  canvas.height = T * cell;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(T, T);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < T; s++) {
      const p = Math.sqrt(Math.max(0, probs[t * T + s]));
      const o = 4 * (t * T + s);
      image.data[o] = Math.round(255 - p * (255 - 29));
      image.data[o + 1] = Math.round(255 - p * (255 - 78));
      image.data[o + 2] = Math.round(255 - p * (255 - 216));
      image.data[o + 3] = 255;
    }
  }
  if (cell === 1) {
    ctx.putImageData(image, 0, 0);
  } else {
    // Scale up without smoothing through a T x T scratch canvas.
    const scratch = document.createElement('canvas');
    scratch.width = T;
    scratch.height = T;
    scratch.getContext('2d')!.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, T * cell, T * cell);
  }
  if (row !== undefined && cell > 1) {
    ctx.strokeStyle = '#e8590c';
    ctx.lineWidth = 2;
    ctx.strokeRect(1, row * cell + 1, T * cell - 2, cell - 2);
  }
}

/** Per row t: the sum of probs[t, 0..T), and the largest value above the diagonal (s > t). */
export function attentionChecks(
  probs: Float32Array,
  T: number,
): { rowSums: number[]; aboveDiagonal: number } {
  const rowSums: number[] = [];
  let aboveDiagonal = 0;
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let s = 0; s < T; s++) {
      const p = probs[t * T + s];
      sum += p;
      if (s > t) aboveDiagonal = Math.max(aboveDiagonal, Math.abs(p));
    }
    rowSums.push(sum);
  }
  return { rowSums, aboveDiagonal };
}

export function percent(p: number): string {
  if (!Number.isFinite(p)) return '–';
  if (p === 0) return '0%';
  if (p < 0.001) return '<0.1%';
  return `${(100 * p).toFixed(1)}%`;
}
