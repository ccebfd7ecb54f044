import { it } from 'vitest';
import { Gpu } from '../src/gpu/gpu';
import { variants } from './kernels/matmul.cases';
it('times', async () => {
  const gpu = await Gpu.create();
  const byKey: Record<string, number> = {};
  for (const v of variants) {
    const t = performance.now();
    await gpu.pipeline('matmul', v);
    const ms = performance.now() - t;
    const fmt = Object.entries(v).filter(([k, x]) => x === true && /^(Q|F16)/.test(k) && k !== 'QUANT').map(([k]) => k).join('') || 'f32';
    const kind = ['TILE', 'GEMV', 'COOP', 'SUBGROUP', 'REDUCE', 'SPLITK'].filter((k) => (v as Record<string, unknown>)[k]).join('+');
    const key = `${kind} ${fmt}`;
    byKey[key] = (byKey[key] ?? 0) + ms;
  }
  console.log(Object.entries(byKey).map(([k, ms]) => `${k}: ${ms.toFixed(0)}`).join('\n'));
  gpu.destroy();
}, 600000);
