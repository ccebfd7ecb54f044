/**
 * inspect (issue 12), shared by the Node suite and the Chromium page (through modelChecks): the
 * GPU captures against the CPU reference forward, the properties the explainer relies on, and that
 * inspecting changes nothing a following generation returns.
 */
import { ContextLengthError, InvalidOptionError } from '../../src/errors';
import { cpuWeights } from '../../src/model/cpu-ops';
import { cpuInspectRaw } from '../../src/model/inspect';
import { NEWER_RANDOM_MODELS } from '../../src/model/testing';
import {
  drain,
  expectClose,
  expectError,
  fail,
  type ModelCheck,
  PROMPT,
  RANDOM_MODELS,
  reference,
  withModel,
} from './checks';

// Lazy: checks.ts imports this module, so its exports are not there yet when this one is evaluated.
const MODELS: Record<string, () => Record<string, Uint8Array | string>> = {
  gpt2: () => RANDOM_MODELS.gpt2(),
  'llama GQA 4/2': () => RANDOM_MODELS['llama GQA 4/2 untied'](),
  'gemma2 (soft-capping, sliding window)': () => NEWER_RANDOM_MODELS.gemma2(),
};

export const inspectChecks: ModelCheck[] = [
  ...Object.entries(MODELS).map(([name, make]) => ({
    name: `inspect ${name}: attention, residual norms and logit lens match the CPU reference`,
    async run() {
      const files = make();
      const ref = await reference(files);
      const ids = PROMPT.slice(0, 11);
      const T = ids.length;
      const { layers: L, heads: NH } = ref.cfg;
      const raw = await cpuInspectRaw(ref.cfg, await cpuWeights(ref.stored), ids);
      await withModel(files, {}, async (m) => {
        const got = await m.inspect(ids, { attention: true, residual: true, logitLens: true, topK: 4 });
        if (got.attention?.length !== L || got.attention[0].length !== NH) fail('attention shape');
        for (let l = 0; l < L; l++) {
          for (let h = 0; h < NH; h++) {
            const p = got.attention[l][h];
            const want = raw.probs.subarray(
              l * raw.probStride + h * T * T,
              l * raw.probStride + (h + 1) * T * T,
            );
            expectClose(`attention ${l}.${h}`, p, want, 1e-5, 1e-4);
            for (let t = 0; t < T; t++) {
              let sum = 0;
              for (let s = 0; s < T; s++) {
                if (s > t && p[t * T + s] !== 0) fail(`attention ${l}.${h}[${t}, ${s}] above the diagonal`);
                sum += p[t * T + s];
              }
              if (Math.abs(sum - 1) > 1e-5) fail(`attention ${l}.${h} row ${t} sums to ${sum}`);
            }
          }
        }
        // Residual norms against the CPU snapshots' norms.
        const C = ref.cfg.hidden;
        const nrm = (k: number, t: number, minus?: number) => {
          let s = 0;
          for (let c = 0; c < C; c++) {
            const v =
              raw.snapshots[(k * T + t) * C + c] -
              (minus === undefined ? 0 : raw.snapshots[(minus * T + t) * C + c]);
            s += v * v;
          }
          return Math.sqrt(s);
        };
        const r = got.residual ?? fail('no residual');
        const wantStream = new Float32Array((L + 1) * T);
        const wantAttn = new Float32Array(L * T);
        const wantMlp = new Float32Array(L * T);
        for (let t = 0; t < T; t++) {
          wantStream[t] = nrm(0, t);
          for (let l = 0; l < L; l++) {
            wantStream[(l + 1) * T + t] = nrm(2 + 2 * l, t);
            wantAttn[l * T + t] = nrm(1 + 2 * l, t, l === 0 ? 0 : 2 * l);
            wantMlp[l * T + t] = nrm(2 + 2 * l, t, 1 + 2 * l);
          }
        }
        expectClose('residual stream', r.stream, wantStream, 1e-4, 1e-4);
        expectClose('attention updates', r.attention, wantAttn, 1e-4, 1e-4);
        expectClose('MLP updates', r.mlp, wantMlp, 1e-4, 1e-4);
        // The logit lens: each layer's top tokens as the CPU ranks them; the last layer's is the model's prediction.
        const V = ref.cfg.vocabSize;
        const lens = got.logitLens ?? fail('no logit lens');
        for (let l = 0; l < L; l++) {
          const row = raw.lens.subarray(l * V, (l + 1) * V);
          for (const tok of lens[l]) {
            if (Math.abs(tok.logit - row[tok.tokenId]) > 1e-4 * (1 + Math.abs(row[tok.tokenId]))) {
              fail(`lens ${l}: token ${tok.tokenId} logit ${tok.logit} vs CPU ${row[tok.tokenId]}`);
            }
          }
          const best = row.indexOf(Math.max(...row));
          if (lens[l][0].tokenId !== best && Math.abs(row[best] - row[lens[l][0].tokenId]) > 1e-4) {
            fail(`lens ${l}: top ${lens[l][0].tokenId}, CPU top ${best}`);
          }
        }
        const logits = await m.logits(ids);
        const last = logits.subarray((T - 1) * V, T * V);
        expectClose(
          'last layer lens vs logits()',
          Float32Array.from(lens[L - 1].map((t) => t.logit)),
          Float32Array.from(lens[L - 1].map((t) => last[t.tokenId])),
          1e-4,
          1e-4,
        );
        const top = last.indexOf(Math.max(...last));
        if (lens[L - 1][0].tokenId !== top)
          fail(`last layer lens top ${lens[L - 1][0].tokenId}, logits() top ${top}`);
      });
    },
  })),
  {
    name: 'inspect changes nothing a following generate returns; bad options are typed errors',
    async run() {
      const files = RANDOM_MODELS['llama GQA 4/2 untied']();
      await withModel(files, {}, async (m) => {
        const prompt = { ids: PROMPT.slice(0, 5) };
        const before = (await drain(m.generate(prompt, { temperature: 0, maxNewTokens: 6 }))).summary;
        // A different prompt overwrites the KV cache from position 0.
        await m.inspect(PROMPT.slice(3, 12), { attention: true });
        const follow = { ids: [...before.promptIds, ...before.tokenIds] };
        const after = (await drain(m.generate(follow, { temperature: 0, maxNewTokens: 4 }))).summary;
        if (after.reusedTokens !== 0)
          fail(`reused ${after.reusedTokens} tokens of a cache inspect overwrote`);
        const fresh = await withModel(
          files,
          {},
          async (f) => (await drain(f.generate(follow, { temperature: 0, maxNewTokens: 4 }))).summary,
        );
        if (after.tokenIds.join() !== fresh.tokenIds.join())
          fail(`after inspect ${after.tokenIds} != fresh ${fresh.tokenIds}`);
        await expectError(
          'unknown option',
          InvalidOptionError,
          ['atention', "did you mean 'attention'"],
          () => m.inspect([1, 2], { atention: true } as never),
        );
        await expectError('layer out of range', InvalidOptionError, ['layers'], () =>
          m.inspect([1, 2], { layers: [5] }),
        );
        await expectError('heads', InvalidOptionError, ['heads'], () => m.inspect([1, 2], { heads: [] }));
        await expectError('too long', ContextLengthError, [String(m.inspectMaxTokens + 1)], () =>
          m.inspect(new Array(m.inspectMaxTokens + 1).fill(1)),
        );
        const sub = await m.inspect([1, 2, 3], { attention: true, layers: [1], heads: [2, 0] });
        if (sub.layers.join() !== '1' || sub.heads.join() !== '2,0' || sub.attention?.[0].length !== 2)
          fail('subset');
      });
    },
  },
];
