/** This tab's open channels, one per database key, and what this tab remembers of the ones that stopped. */
import type { WorkerChannel } from './worker-channel.js';

/** The channel (or the one being opened) of each database key in this tab. */
export const channels = new Map<string, Promise<WorkerChannel>>();
/** The channel behind each settled entry of `channels`, so a dead channel removes only itself. */
export const opened = new Map<string, WorkerChannel>();
/** When a worker of this tab last stopped, per key: its files may still be held for a moment. */
export const stoppedAt = new Map<string, number>();
/** How long after a worker of this tab stopped its files are retried when reopened, and for how long. */
export const RECENT_STOP_MS = 10_000;
export const LOCK_WAIT_AFTER_STOP_MS = 5_000;

/**
 * Marks, in this tab's sessionStorage (which survives a reload but is not shared with other tabs),
 * that this tab has `key` open: after a reload the previous page's worker may still hold the files
 * for a moment, and that wait is worth a retry; another tab holding them is not.
 */
export function markHeld(key: string, held: boolean): void {
  try {
    if (held) sessionStorage.setItem(`walsync:held:${key}`, '1');
    else sessionStorage.removeItem(`walsync:held:${key}`);
  } catch {
    // No sessionStorage (a sandboxed frame, a worker): only same-page stops are retried.
  }
}

export function heldBeforeReload(key: string): boolean {
  try {
    return sessionStorage.getItem(`walsync:held:${key}`) !== null;
  } catch {
    return false;
  }
}

/** A channel stopped: it is no longer this tab's channel for its key, and its files may be held a moment. */
export function forget(channel: WorkerChannel): void {
  stoppedAt.set(channel.key, Date.now());
  if (opened.get(channel.key) === channel) {
    opened.delete(channel.key);
    channels.delete(channel.key);
  }
}

/** True while this tab has (or is opening) the OPFS database at `path`. */
export function isOpenInThisTab(path: string): boolean {
  return channels.has(`opfs:${path}`);
}
