/**
 * `node --import tsx bench/profile-commits.ts [storage] [rows]`: CPU-profiles walsync's worker during
 * autocommit inserts (unminified build, so names are readable) and prints where the time goes.
 * storage: opfs (default), opfs-normal, opfs-synced, opfs-sahpool-wal, opfs-sahpool-wal-normal, memory.
 */
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { HeapSampler } from './sync/heap-sampler.js';
import { summarizeProfile, type CpuProfile } from './sync/cpu-profile.js';

const storages = (process.argv[2] ?? 'opfs').split(',') as Parameters<Window['bench']['insertAutocommit']>[0][];
const profile = process.env.PROFILE !== '0';
const rows = Number(process.argv[3] ?? 3000);

const pages = await buildAndServePages({ minify: false });
const browser = await launchBenchBrowser();
try {
  const page = await browser.openPage(pages.url('bench'));
  for (const storage of storages) {
    await page.evaluate(() => window.bench.removeBenchFiles());
    const profiled: string[] = [];
    const startProfiler = async (sid: string) => {
      await sampler.sendToWorker(sid, 'Profiler.enable', {}, 5000);
      await sampler.sendToWorker(sid, 'Profiler.setSamplingInterval', { interval: 100 }, 5000);
      await sampler.sendToWorker(sid, 'Profiler.start', {}, 5000);
      profiled.push(sid);
    };
    const sampler = await HeapSampler.attach(page, profile ? startProfiler : undefined);
    if (profile) {
      // The worker prewarmed when the page imported walsync already exists: profile it too.
      await new Promise((r) => setTimeout(r, 50));
      for (const sid of sampler.workers.keys()) if (!profiled.includes(sid)) await startProfiler(sid);
    }
    const run = await page.evaluate(([s, n]) => window.bench.insertAutocommitKeepOpen(s, n), [storage, rows] as const);
    console.log(`${storage}: ${run.rows} autocommit inserts in ${run.ms.toFixed(0)} ms (${((run.ms / run.rows) * 1000).toFixed(0)} µs each)`);
    for (const sid of profiled) {
      const stopped = await sampler.sendToWorker<{ profile: CpuProfile }>(sid, 'Profiler.stop', {}, 30_000);
      if (!stopped) continue;
      const s = summarizeProfile(stopped.profile, 30);
      console.log(`worker ${sampler.workers.get(sid) ?? sid}: profiled ${s.totalMs.toFixed(0)} ms`);
      console.log('  by category: ' + s.byCategory.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(', '));
      console.log('  top self time:');
      for (const [f, ms] of s.top) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
      console.log('  top inclusive time:');
      for (const [f, ms] of s.inclusive) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
    }
    await sampler.detach();
    await page.evaluate(() => window.bench.closeKeptOpen());
  }
} finally {
  await browser.close();
  await pages.close();
}
