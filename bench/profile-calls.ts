/**
 * `node --import tsx bench/profile-calls.ts [transport] [storage] [gets] [runs] [batch] [autocommits]`: CPU-profiles
 * the page and walsync's worker while statement calls run (unminified build, so names are readable):
 * `gets` awaited point selects by primary key, then `runs` awaited run() inserts in one transaction,
 * then one db.batch() of `batch` inserts, then `autocommits` awaited autocommit run() inserts (0 skips a part), and prints where each side's time goes. transport: shared (default) or port;
 * storage: opfs (default) or memory.
 */
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { HeapSampler } from './sync/heap-sampler.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './sync/cpu-profile.js';

const transport = (process.argv[2] ?? 'shared') as 'shared' | 'port';
const storage = (process.argv[3] ?? 'opfs') as 'opfs' | 'memory';
const gets = Number(process.argv[4] ?? 10_000);
const runs = Number(process.argv[5] ?? 30_000);
const batch = Number(process.argv[6] ?? 100_000);
const autocommits = Number(process.argv[7] ?? 0);
const TOP = Number(process.env.TOP ?? 25);

function print(title: string, s: ProfileSummary): void {
  console.log(`${title}: profiled ${s.totalMs.toFixed(0)} ms`);
  console.log('  by category: ' + s.byCategory.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(', '));
  console.log('  top self time:');
  for (const [f, ms] of s.top) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
  console.log('  top inclusive time:');
  for (const [f, ms] of s.inclusive) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
}

const pages = await buildAndServePages({ minify: false });
const browser = await launchBenchBrowser();
try {
  const page = await browser.openPage(pages.url('bench'));
  await page.evaluate(() => window.bench.removeBenchFiles());
  const sampler = await HeapSampler.attach(page);
  await page.evaluate(([t, s, n]) => window.bench.callsOpenForProfile(t, s, n), [transport, storage, gets] as const);
  for (const [kind, count] of [['get', gets], ['run-in-tx', runs], ['batch', batch], ['run-autocommit', autocommits]] as const) {
    if (count <= 0) continue;
    const workers = [...sampler.workers.keys()];
    await sampler.cdp.send('Profiler.enable');
    await sampler.cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await sampler.cdp.send('Profiler.start');
    for (const sid of workers) {
      await sampler.sendToWorker(sid, 'Profiler.enable', {}, 5000);
      await sampler.sendToWorker(sid, 'Profiler.setSamplingInterval', { interval: 100 }, 5000);
      await sampler.sendToWorker(sid, 'Profiler.start', {}, 5000);
    }
    const ms = await page.evaluate(([k, n]) => window.bench.callsProfileLoop(k, n), [kind, count] as const);
    console.log(`\n== ${count} ${kind} over ${transport} (${storage}): ${ms.toFixed(0)} ms, ${((ms / count) * 1000).toFixed(1)} µs per call`);
    const { profile } = (await sampler.cdp.send('Profiler.stop')) as { profile: CpuProfile };
    print('page', summarizeProfile(profile, TOP));
    for (const sid of workers) {
      const stopped = await sampler.sendToWorker<{ profile: CpuProfile }>(sid, 'Profiler.stop', {}, 30_000);
      if (stopped) print(`worker ${sampler.workers.get(sid) ?? sid}`, summarizeProfile(stopped.profile, TOP));
    }
  }
  await sampler.detach();
  await page.evaluate(() => window.bench.callsCloseProfiled());
} finally {
  await browser.close();
  await pages.close();
}
