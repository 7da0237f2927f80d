/**
 * `npm start` stops its servers when npm is told to stop: a SIGTERM or SIGHUP to the `npm start`
 * process (what a supervisor or a closed terminal sends) must end tursodb and Vite too, though npm
 * runs the script under `sh -c`, which does not pass the signal on. (No browser: it lives here
 * because it starts the real servers.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { freeLoopbackPort } from '../../scripts/sync-server.js';
import { repoRoot } from '../../scripts/browser.js';

/** Pids of the live processes of process group `pgid`. */
function group(pgid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return []; // ps exits 1 when the group is empty
  }
}

async function startThenSignal(signal: 'SIGTERM' | 'SIGHUP'): Promise<{ before: string; survivors: number[] }> {
  const port = await freeLoopbackPort();
  // Its own process group (detached), so the test can see and clean up every process it started.
  const npm = spawn('npm', ['start', '--', '--port', String(port)], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('sync server')) {
    if (Date.now() > deadline || npm.exitCode !== null) {
      process.kill(-npm.pid!, 'SIGKILL');
      throw new Error(`npm start did not come up: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const before = execFileSync('ps', ['-o', 'comm=', '-g', String(npm.pid)], { encoding: 'utf8' });
  process.kill(npm.pid!, signal); // npm alone, as `kill <pid>` would
  const until = Date.now() + 20_000;
  while (group(npm.pid!).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  const survivors = group(npm.pid!);
  if (survivors.length > 0) process.kill(-npm.pid!, 'SIGKILL');
  return { before, survivors };
}

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} to the npm start process stops tursodb and Vite`, { timeout: 120_000 }, async () => {
    const { before, survivors } = await startThenSignal(signal);
    assert.match(before, /tursodb/);
    assert.deepEqual(survivors, [], `processes left running after ${signal}`);
  });
}

