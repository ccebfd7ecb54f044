/**
 * The machine under a Node benchmark (not for the page): its load average, and how much of its CPU
 * time other processes took during the run. On a software adapter (SwiftShader) the "GPU" is these
 * CPUs, so a busy machine makes every figure slower; a report says how busy it was.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { Host } from './schema';

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat, 100 ticks a second), or null. */
function machineBusySeconds(): number | null {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = ticks;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of this process (every thread, SwiftShader's included). */
function ownSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export const loadAverageText = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Starts watching; `end()` gives the Host record of the run so far. */
export function watchHost(): { end(): Host } {
  const loadAverageStart = loadavg();
  const busy = machineBusySeconds();
  const own = ownSeconds();
  const t = performance.now();
  return {
    end() {
      const busyEnd = machineBusySeconds();
      const seconds = (performance.now() - t) / 1000;
      const otherCpuShare =
        busy === null || busyEnd === null || seconds <= 0
          ? null
          : Math.max(0, busyEnd - busy - (ownSeconds() - own)) / (seconds * cpus().length);
      return { cpus: cpus().length, loadAverageStart, loadAverageEnd: loadavg(), otherCpuShare };
    },
  };
}

/** 'load average 0.42 0.80 1.10 on 2 CPUs' */
export const hostLine = (): string => `load average ${loadAverageText()} on ${cpus().length} CPUs`;

/** How busy the machine was, for the last line of a run. */
export function hostSummary(h: Host): string {
  const share = h.otherCpuShare === null ? '—' : `${(100 * h.otherCpuShare).toFixed(0)}%`;
  return `load average now ${h.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')}; other processes used ${share} of the CPUs meanwhile`;
}
