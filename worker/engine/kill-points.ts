/**
 * Crash injection for tests: a named step where the worker can be made to stop dead, as if the tab
 * were killed there. Armed only through the worker API's test hook; unarmed it costs one comparison.
 * At an armed point the worker tells the facade to terminate it and spins until it does, so nothing
 * after the point runs — exactly what a crash looks like to the files. The message also carries the
 * metadata record as it was before its last write, so a test can put it back and play a power loss
 * that the browser's IndexedDB did not survive (the OPFS files being flushed).
 */
import { metadataBeforeLastWrite } from './metadata.js';

export type KillPoint =
  | 'bootstrap:pages-written'
  | 'pull:downloaded'
  | 'pull:intent-saved'
  | 'pull:applied'
  | 'pull:revert-cleared'
  | 'pull:replayed'
  | 'pull:finished'
  | 'push:sent'
  | 'push:before-metadata'
  | 'checkpoint:revert-saved'
  | 'checkpoint:checkpointed';

export const KILL_MESSAGE = 'walsync:kill-point';

let armed: KillPoint | null = null;

export function armKillPoint(point: KillPoint | null): void {
  armed = point;
}

export function killPoint(point: KillPoint): void {
  if (armed !== point) return;
  const lastWrite = metadataBeforeLastWrite();
  const metadataBeforeLastWriteJson = lastWrite ? JSON.stringify(lastWrite) : null;
  (globalThis as unknown as { postMessage(m: unknown): void }).postMessage({ type: KILL_MESSAGE, point, metadataBeforeLastWriteJson });
  for (;;) {
    // Busy-wait until terminated: a crash runs nothing after it.
  }
}
