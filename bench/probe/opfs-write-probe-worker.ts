/**
 * The OPFS write probe's worker (see bench/opfs-write-probe.ts): sequential writes of one WAL frame
 * (24-byte header + 4 KB page) to a sync access handle, each timed on its own, in one of three ways:
 * - append: every write extends the file (what a WAL does today, one frame per commit);
 * - prealloc: the file is first truncated to its final size (sparse: no blocks yet), so every write
 *   lands inside it;
 * - overwrite: the file's final size is first written with zeros and flushed (its blocks exist), as
 *   a log reused from its start after a checkpoint that does not truncate it;
 * - chunked: the file is grown with truncate() to the next multiple of `chunkBytes` when a write
 *   would pass its end (the truncates are counted in the write that needed them);
 * - chunked-zero: the same, but the new chunk is written with zeros instead (its blocks exist).
 */
export interface ProbeVariant {
  readonly mode: 'append' | 'prealloc' | 'overwrite' | 'chunked' | 'chunked-zero';
  readonly writes: number;
  readonly flush: boolean;
  readonly chunkBytes?: number;
  /**
   * Between writes (untimed), as between two commits of a real app: 'sleep' parks the thread in
   * Atomics.wait for `gapUs`, 'spin' keeps it busy that long (as a call server spinning for the next call).
   */
  readonly gap?: 'sleep' | 'spin';
  readonly gapUs?: number;
}

const parking = new Int32Array(new SharedArrayBuffer(4));
function between(variant: ProbeVariant): void {
  const us = variant.gapUs ?? 0;
  if (!variant.gap || us <= 0) return;
  if (variant.gap === 'sleep') {
    Atomics.wait(parking, 0, 0, us / 1000);
    return;
  }
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

const FRAME_BYTES = 24 + 4096;

async function run(variant: ProbeVariant): Promise<{ medianUs: number; p90Us: number; meanUs: number; totalMs: number }> {
  const root = await navigator.storage.getDirectory();
  const name = `probe-${variant.mode}-${Date.now()}`;
  const file = await root.getFileHandle(name, { create: true });
  const handle = await file.createSyncAccessHandle();
  try {
    const frame = new Uint8Array(FRAME_BYTES);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 31) & 0xff;
    const finalSize = 32 + variant.writes * FRAME_BYTES;
    if (variant.mode === 'prealloc') {
      handle.truncate(finalSize);
      handle.flush();
    }
    if (variant.mode === 'overwrite') {
      const zeros = new Uint8Array(1 << 20);
      for (let at = 0; at < finalSize; at += zeros.length) handle.write(zeros.subarray(0, Math.min(zeros.length, finalSize - at)), { at });
      handle.flush();
    }
    const chunk = variant.chunkBytes ?? 1 << 20;
    let physical = handle.getSize();
    const times = new Float64Array(variant.writes);
    const started = performance.now();
    let gapsMs = 0;
    for (let i = 0; i < variant.writes; i++) {
      const g0 = performance.now();
      between(variant);
      gapsMs += performance.now() - g0;
      const at = 32 + i * FRAME_BYTES;
      const t0 = performance.now();
      if (variant.mode === 'chunked' && at + FRAME_BYTES > physical) {
        physical = Math.ceil((at + FRAME_BYTES) / chunk) * chunk;
        handle.truncate(physical);
      }
      if (variant.mode === 'chunked-zero' && at + FRAME_BYTES > physical) {
        const next = Math.ceil((at + FRAME_BYTES) / chunk) * chunk;
        handle.write(new Uint8Array(next - physical), { at: physical });
        physical = next;
      }
      handle.write(frame, { at });
      if (variant.flush) handle.flush();
      times[i] = performance.now() - t0;
    }
    const totalMs = performance.now() - started - gapsMs;
    const sorted = times.slice().sort();
    return {
      medianUs: sorted[Math.floor(sorted.length / 2)]! * 1000,
      p90Us: sorted[Math.floor(sorted.length * 0.9)]! * 1000,
      meanUs: (totalMs / variant.writes) * 1000,
      totalMs,
    };
  } finally {
    handle.close();
    await root.removeEntry(name);
  }
}

self.onmessage = async (e: MessageEvent<ProbeVariant & { id: number }>) => {
  try {
    self.postMessage({ id: e.data.id, ...(await run(e.data)) });
  } catch (err) {
    self.postMessage({ id: e.data.id, error: String(err) });
  }
};
