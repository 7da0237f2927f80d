/** connect() options and their validation: bad options fail fast, before any worker starts. */
import { WalsyncError } from '../worker/errors.js';

export interface ConnectOptions {
  /**
   * Where the database lives: a file name in the Origin Private File System (e.g. `"app.db"`, or
   * `"folder/app.db"`), or `":memory:"` for a temporary in-memory database.
   */
  path: string;
  /**
   * Durability of commits. `"full"` (default) flushes the WAL to disk on every commit, so a commit
   * survives even an OS crash. `"normal"` flushes only at checkpoints: commits survive a tab or
   * worker crash but the last ones may be lost on power loss, in exchange for faster small writes.
   */
  durability?: 'full' | 'normal';
}

export interface ResolvedConnectOptions {
  readonly path: string;
  readonly memory: boolean;
  readonly durability: 'full' | 'normal';
}

const KNOWN_OPTIONS = new Set(['path', 'durability']);

export function resolveConnectOptions(options: unknown): ResolvedConnectOptions {
  if (typeof options !== 'object' || options === null) {
    throw new WalsyncError('INVALID_ARGUMENT', 'connect() needs an options object, e.g. connect({ path: "app.db" })');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new WalsyncError('INVALID_ARGUMENT', `connect(): unknown option "${key}"`, { context: { option: key } });
    }
  }
  if (typeof o.path !== 'string' || o.path.trim() === '') {
    throw new WalsyncError('INVALID_ARGUMENT', 'connect(): "path" must be a non-empty string such as "app.db" or ":memory:"');
  }
  const memory = o.path === ':memory:';
  if (!memory) {
    const parts = o.path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0 || parts.includes('..')) {
      throw new WalsyncError('INVALID_ARGUMENT', `connect(): invalid path ${JSON.stringify(o.path)}`, { context: { path: o.path } });
    }
  }
  const durability = o.durability ?? 'full';
  if (durability !== 'full' && durability !== 'normal') {
    throw new WalsyncError('INVALID_ARGUMENT', 'connect(): "durability" must be "full" or "normal"', {
      context: { durability: String(durability) },
    });
  }
  return { path: o.path, memory, durability };
}
