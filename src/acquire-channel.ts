/**
 * Opening a channel: acquireChannel() gives this tab's channel for a database, or opens one, alone
 * (its own worker) or shared with the other tabs (leading, or following the leader and queuing to
 * take over); releaseChannel() lets go of it.
 */
import { WalsyncError } from '../contract/errors.js';
import { installErrorTransfer } from '../contract/error-transfer.js';
import type { OpenRequest, SyncCallbacks } from '../contract/worker-api.js';
import { type HeldLock, type SharedOptions, acquireLock, lockManager, randomId } from './tab-links.js';
import { WorkerChannel } from './worker-channel.js';
import { LOCK_WAIT_AFTER_STOP_MS, RECENT_STOP_MS, channels, forget, heldBeforeReload, markHeld, opened, stoppedAt } from './open-channels.js';

let memoryCounter = 0;

/** The options every tab must open a shared database with (see optionsConflict). */
function sharedOptionsOf(request: OpenRequest): SharedOptions {
  const sync = request.sync;
  return {
    synchronous: request.synchronous,
    sync: sync
      ? { url: sync.url, clientName: sync.clientName, tablesIgnore: [...sync.tablesIgnore], hasTransform: sync.hasTransform, hasFetch: sync.hasFetch }
      : null,
  };
}

/** Can this database be shared with other tabs (one leader, followers)? OPFS databases, where Web Locks and BroadcastChannel exist. */
function shareable(request: OpenRequest): boolean {
  return request.storage === 'opfs' && lockManager() !== null && typeof BroadcastChannel !== 'undefined';
}

/** A database only this tab uses (`:memory:`, or OPFS where Web Locks or BroadcastChannel are missing): its own worker, as always. */
async function openAlone(key: string, request: OpenRequest, callbacks: SyncCallbacks | undefined): Promise<WorkerChannel> {
  // Retry files still held only when our own worker for this path just stopped, in this page or
  // before a reload of this tab (the browser releases a stopped worker's files asynchronously).
  const stopped = stoppedAt.get(key);
  const recent = stopped !== undefined ? Date.now() - stopped < RECENT_STOP_MS : heldBeforeReload(key);
  const lockWaitMs = recent && request.storage !== 'memory' ? LOCK_WAIT_AFTER_STOP_MS : 0;
  const channel = new WorkerChannel(key, false);
  try {
    await channel.lead(request, callbacks, lockWaitMs);
  } catch (e) {
    channel.terminate();
    throw e;
  }
  if (channel.alive) {
    opened.set(key, channel);
    if (request.storage !== 'memory') markHeld(key, true);
  }
  return channel;
}

/**
 * A database every tab of the origin shares: this tab leads if the election lock is free (it opens
 * the database in its own worker and serves the other tabs), else it follows the leader and queues
 * for the lock, to take over when the leader's tab goes away.
 */
async function openShared(key: string, request: OpenRequest, callbacks: SyncCallbacks | undefined): Promise<WorkerChannel> {
  const channel = new WorkerChannel(key, true);
  const bus = new BroadcastChannel(`walsync:bus:${key}`);
  channel.onStop(() => bus.close());
  const options = sharedOptionsOf(request);
  const following = new AbortController();
  const electionLock = `walsync:leader:${key}`;
  const becomeLeader = async (held: HeldLock): Promise<void> => {
    following.abort();
    // Let go of the lock only once the worker is stopped (the channel's cleanups run after that).
    channel.onStop(() => held.release());
    // The leader before us may be gone a moment before the browser releases its files.
    await channel.lead(request, callbacks, LOCK_WAIT_AFTER_STOP_MS);
    channel.serveFollowers(bus, options);
  };
  try {
    const held = await acquireLock(electionLock, { ifAvailable: true });
    if (held) {
      await becomeLeader(held);
    } else {
      // Held for this channel's life: the leader's worker ends our session when it comes free.
      const sessionLock = `walsync:session:${key}:${randomId()}`;
      const session = (await acquireLock(sessionLock))!;
      channel.onStop(() => session.release());
      const queue = new AbortController();
      channel.onStop(() => queue.abort());
      acquireLock(electionLock, { signal: queue.signal }).then(
        async (lock) => {
          if (!lock) return;
          if (!channel.alive) return lock.release();
          try {
            await becomeLeader(lock);
          } catch (e) {
            channel.terminate(e instanceof WalsyncError ? e : new WalsyncError('DATABASE_CLOSED', String((e as Error)?.message ?? e), { cause: e }));
          }
        },
        () => undefined,
      );
      await Promise.race([channel.follow(bus, options, sessionLock, following.signal), channel.linkGeneration()]);
    }
  } catch (e) {
    channel.terminate(e instanceof WalsyncError ? e : undefined);
    throw e;
  }
  if (channel.alive) opened.set(key, channel);
  return channel;
}

/** Returns the channel for `request.path`: this tab's, or a new one (leading or following). */
export async function acquireChannel(request: OpenRequest, callbacks?: SyncCallbacks): Promise<WorkerChannel> {
  installErrorTransfer();
  const key = request.storage === 'memory' ? `:memory:#${++memoryCounter}` : `${request.storage}:${request.path}`;
  let pending = channels.get(key);
  if (!pending) {
    pending = shareable(request) ? openShared(key, request, callbacks) : openAlone(key, request, callbacks);
    channels.set(key, pending);
    const settled = pending;
    settled.catch(() => {
      if (channels.get(key) === settled) channels.delete(key);
    });
  }
  const channel = await pending;
  if (!channel.alive) {
    // The worker died between opening and now: the caller gets a fresh one.
    if (channels.get(key) === pending) channels.delete(key);
    return acquireChannel(request, callbacks);
  }
  channel.refs++;
  return channel;
}

/** Drops one reference; the last one closes the database (or this tab's session of it) and stops the channel. */
export async function releaseChannel(channel: WorkerChannel): Promise<void> {
  channel.refs--;
  if (channel.refs > 0) return;
  forget(channel);
  try {
    await channel.close();
  } finally {
    if (!channels.has(channel.key)) markHeld(channel.key, false);
  }
}
