/**
 * Next-token probabilities for display: softmax(logits / T) over the whole row, computed in f64.
 * T = 0 is greedy decoding, so all probability goes to the top token.
 */

/** Ids of the k largest entries of row[0..n), largest first (ties: lower id first). */
export function topIds(row: ArrayLike<number>, k: number, n = row.length): number[] {
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = row[i];
    if (top.length === k && !(v > row[top[k - 1]])) continue;
    let j = top.length < k ? top.length : k - 1;
    top[j] = i;
    while (j > 0 && row[top[j - 1]] < v) {
      [top[j - 1], top[j]] = [top[j], top[j - 1]];
      j--;
    }
  }
  return top;
}

/** p(id) = exp((row[id] - max) / T) / sum_j exp((row[j] - max) / T) for each id; T = 0 puts 1 on the argmax. */
export function probabilities(
  row: ArrayLike<number>,
  ids: number[],
  temperature: number,
  n = row.length,
): number[] {
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < n; i++) {
    if (row[i] > max) {
      max = row[i];
      argmax = i;
    }
  }
  if (temperature === 0) return ids.map((id) => (id === argmax ? 1 : 0));
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp((row[i] - max) / temperature);
  return ids.map((id) => Math.exp((row[id] - max) / temperature) / sum);
}

/** H = -sum_i p_i log2 p_i of softmax(row / T), in bits; 0 at T = 0 (greedy: one outcome). */
export function entropyBits(row: ArrayLike<number>, temperature: number, n = row.length): number {
  if (temperature === 0) return 0;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (row[i] > max) max = row[i];
  // With z_i = (row_i - max) / T and Z = sum exp(z_i): H = log Z - sum p_i z_i (nats).
  let Z = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    const z = (row[i] - max) / temperature;
    const e = Math.exp(z);
    Z += e;
    if (e > 0) weighted += e * z;
  }
  return (Math.log(Z) - weighted / Z) / Math.LN2;
}
