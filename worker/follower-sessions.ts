/**
 * Follower tabs' sessions of the worker host: each follower reaches the host's WorkerApi over a
 * MessagePort, as a session of its one queue (see session-queue.ts), and hears its notices.
 */
import { type Endpoint, expose } from 'comlink';
import type { SessionAttach, WorkerApi } from '../contract/worker-api.js';
import type { StatementApi } from '../contract/statement-calls.js';
import type { LocalDatabase } from './local-database.js';
import { type Session, type SessionQueue, safeIsAutocommit } from './session-queue.js';
import { serveStatementCalls, withoutStatementCalls } from './statement-server.js';

/** Where notices (table changes, progress) go: the home tab (the worker's global) and every follower port. */
export interface NoticeSink {
  postMessage(message: unknown): void;
}

/** @internal What follower sessions share with the host: its queue, its notice sinks, its open database. */
export interface SessionHost {
  readonly queue: SessionQueue;
  readonly sinks: Set<NoticeSink>;
  database(): LocalDatabase | null;
}

/** The WorkerApi methods a follower session may call (open and the crash-test hook stay with the home tab). */
const SESSION_METHODS = [
  'holdLivenessLock', 'pullDownload', 'stopPullWait', 'pullApply', 'pushBegin', 'pushPrepare', 'pushSend', 'pushFinish',
  'resetSyncBegin', 'resetSyncPrepare', 'resetSyncSend', 'resetSyncFinish', 'stats', 'pendingChanges',
  'discardChanges', 'exec', 'all', 'get', 'run', 'columns', 'batch', 'isAutocommit', 'checkpoint',
  'enableTableChangeNotices', 'watchQuery', 'localStats',
] as const satisfies readonly (keyof WorkerApi)[];

/**
 * @internal Serves a follower tab on `port`: `api`'s methods, bound to a new session, over Comlink.
 * The follower holds the Web Lock `attach.lockName` for its life; the lock comes to us when its
 * tab closes or crashes (or it closes the database), and then its open transaction is rolled
 * back, so the other sessions go on. The first message on the port is `attach.welcome`.
 */
export function serveFollowerSession(target: WorkerApi, host: SessionHost, port: MessagePort, attach: SessionAttach): void {
  const session: Session = { id: attach.sessionId, dead: false };
  const api: Record<string, unknown> = {};
  for (const name of SESSION_METHODS) {
    const method = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    api[name] = (...args: unknown[]) => host.queue.runAs(session, () => method.apply(target, args));
  }
  api.close = () => endSession(host, session, port);
  const sink: NoticeSink = { postMessage: (message) => port.postMessage(message) };
  host.sinks.add(sink);
  (session as { sink?: NoticeSink }).sink = sink;
  port.postMessage({ type: 'walsync:welcome', ...attach.welcome });
  // Statement calls take the compact protocol; Comlink serves the rest. Its wrapper of the port
  // has no start(), so the port is started here, once both listen.
  serveStatementCalls(port, api as unknown as StatementApi);
  expose(api, withoutStatementCalls(port) as unknown as Endpoint);
  port.start();
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  locks?.request(attach.lockName, () => endSession(host, session, port)).catch(() => undefined);
}

/** A follower session ends (closed, or its tab is gone): its open transaction is rolled back. */
function endSession(host: SessionHost, session: Session, port: MessagePort): Promise<void> {
  if (session.dead) return Promise.resolve();
  const sink = (session as { sink?: NoticeSink }).sink;
  if (sink) host.sinks.delete(sink);
  if (host.queue.owner !== session) {
    session.dead = true;
    port.close();
    return Promise.resolve();
  }
  return host.queue.serial(() => {
    session.dead = true;
    port.close();
    const db = host.database();
    if (db && !safeIsAutocommit(db)) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // Nothing more to undo: SQLite already ended the transaction.
      }
    }
  }, session);
}
