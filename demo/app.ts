/**
 * The demo app: a shared task list on one "device" (one walsync database in this browser's OPFS).
 * Open it as app.html?device=A; index.html shows two devices side by side.
 */
import { connect, deleteDatabase, isWalsyncError, type Database, type Row, type SyncStatus } from '../src/index.js';
import {
  databasePath,
  deviceFrom,
  formatTime,
  registerServiceWorker,
  serverKey,
  serverUrlFrom,
  storageKeys,
} from './shared.js';

interface Task {
  id: string;
  title: string;
  done: boolean;
  /** Who edited last and when: from the `edited` column, "<device>@<unix ms>". */
  updatedBy: string;
  updatedAt: number;
}

interface LogEntry {
  at: number;
  kind: 'push' | 'pull' | 'error' | 'info';
  text: string;
}

/*
 * Random text ids, so two devices never pick the same key offline. `edited` says who changed the row
 * last and when, in one value ("B@1764031234567"). It is one column on purpose: sync merges rows per
 * column and sends only the columns whose value changed, so a separate "updated_by" column would
 * keep an older author when the same device edits twice.
 */
const SCHEMA = `CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  edited TEXT NOT NULL
)`;
const AUTO_SYNC_MS = 3000;
const LOG_LIMIT = 40;

const params = new URLSearchParams(location.search);
const device = deviceFrom(params);
const serverUrl = serverUrlFrom(params);
const path = databasePath(device);
const keys = storageKeys(device);

const state = {
  db: null as Database | null,
  tasks: [] as Task[],
  offline: localStorage.getItem(keys.offline) === '1',
  autoSync: localStorage.getItem(keys.autoSync) !== '0',
  busy: false,
  reachable: null as boolean | null,
  pending: 0,
  lastPush: null as number | null,
  lastPull: null as number | null,
  editing: null as string | null,
  /** The title being typed while editing: a re-render (auto-sync, a pull) must not lose it. */
  draft: '',
  flash: new Set<string>(),
  log: loadLog(),
  fatal: null as string | null,
};

// ── database ────────────────────────────────────────────────────────────────────────────────────

/** Every database call of the app runs through this queue, so a pull's before/after view is exact. */
let tail: Promise<unknown> = Promise.resolve();
function queued<T>(op: (db: Database) => Promise<T>): Promise<T> {
  const run = tail.then(() => {
    if (!state.db) throw new Error('the database is not open');
    return op(state.db);
  });
  tail = run.catch(() => undefined);
  return run;
}

async function open(): Promise<Database> {
  // A reloaded page can find its previous worker still letting go of the files: retry a little.
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect(
        serverUrl
          ? {
              path,
              url: () => (state.offline ? null : serverUrl),
              clientName: `demo-${device}`,
              // Hears the first visit's download of the server's database (before connect() resolves), then every status.
              onSyncStatus: (s) => {
                showBootstrap(s);
                if (state.db) onSyncStatus(s);
              },
            }
          : { path },
      );
    } catch (e) {
      if (!isWalsyncError(e, 'DATABASE_LOCKED') || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function readTasks(db: Database): Promise<Task[]> {
  const rows = await db.prepare('SELECT id, title, done, edited FROM tasks ORDER BY created_at, id').all();
  return rows.map(toTask);
}

function toTask(r: Row): Task {
  const edited = String(r.edited);
  const at = edited.lastIndexOf('@');
  return {
    id: String(r.id),
    title: String(r.title),
    done: Number(r.done) !== 0,
    updatedBy: at > 0 ? edited.slice(0, at) : edited,
    updatedAt: at > 0 ? Number(edited.slice(at + 1)) : 0,
  };
}

async function refresh(db: Database): Promise<void> {
  state.tasks = await readTasks(db);
  const stats = await db.stats();
  state.pending = stats.cdcOperations;
  state.lastPush = stats.lastPushUnixTime;
  state.lastPull = stats.lastPullUnixTime;
}

/** Runs a local edit, then re-reads the list. `edited` is the value for the row's edited column. */
function edit(op: (db: Database, edited: string) => Promise<unknown>): Promise<void> {
  return queued(async (db) => {
    await op(db, `${device}@${Date.now()}`);
    await refresh(db);
  })
    .catch(report)
    .finally(render);
}

const addTask = (title: string) =>
  edit((db, edited) =>
    db
      .prepare('INSERT INTO tasks(id, title, done, created_at, edited) VALUES (?, ?, 0, ?, ?)')
      .run(crypto.randomUUID(), title, Date.now(), edited),
  );
const renameTask = (id: string, title: string) =>
  edit((db, edited) => db.prepare('UPDATE tasks SET title = ?, edited = ? WHERE id = ?').run(title, edited, id));
const setDone = (id: string, done: boolean) =>
  edit((db, edited) => db.prepare('UPDATE tasks SET done = ?, edited = ? WHERE id = ?').run(done ? 1 : 0, edited, id));
const deleteTask = (id: string) => edit((db) => db.prepare('DELETE FROM tasks WHERE id = ?').run(id));

// ── sync ────────────────────────────────────────────────────────────────────────────────────────

type SyncAction = 'push' | 'pull' | 'sync';
let syncRounds = 0;
/** A button's sync is running: it logs its own push and pull (the background loop's are logged from the status and the live list). */
let manualSync = false;

function runSync(action: SyncAction, quiet = false): Promise<void> {
  if (!serverUrl || state.offline || !state.db) return Promise.resolve();
  state.busy = true;
  manualSync = true;
  render();
  return queued(async (db) => {
    if (action !== 'pull') {
      const pending = (await db.stats()).cdcOperations;
      await db.push();
      if (pending > 0 || !quiet) addLog('push', pending > 0 ? `pushed ${plural(pending, 'change')}` : 'pushed: nothing to send');
    }
    if (action !== 'push') {
      const before = await readTasks(db);
      const changed = await db.pull();
      const after = await readTasks(db);
      const summary = describePull(before, after);
      if (changed || !quiet) addLog('pull', summary ?? (changed ? 'pulled: no change to the tasks' : 'pulled: nothing new'));
    }
    state.reachable = true;
    await refresh(db);
  })
    .catch((e) => {
      if (isWalsyncError(e, 'NETWORK_ERROR')) {
        const first = state.reachable !== false;
        state.reachable = false;
        if (first || !quiet) addLog('error', `${action}: server unreachable (${e.message})`);
      } else {
        report(e, action);
      }
      return queued(refresh).catch(() => undefined);
    })
    .finally(() => {
      state.busy = false;
      manualSync = false;
      // How many sync rounds have finished (for tests, and for the curious in devtools).
      document.body.dataset.syncRounds = String(++syncRounds);
      render();
    });
}

/** The background loop's work, as the status reports it: counters, reachability, errors, rounds. */
let lastLoopError: unknown = null;
function onSyncStatus(s: SyncStatus): void {
  state.pending = s.pendingChanges;
  if (s.lastPushAt !== null) state.lastPush = Math.floor(s.lastPushAt / 1000);
  if (s.lastPullAt !== null) state.lastPull = Math.floor(s.lastPullAt / 1000);
  if (!manualSync && s.loop !== 'off') {
    if (s.lastError && s.lastError !== lastLoopError) {
      if (isWalsyncError(s.lastError, 'NETWORK_ERROR')) {
        if (state.reachable !== false) addLog('error', `auto-sync: server unreachable (${s.lastError.message})`);
        state.reachable = false;
      } else if (!isWalsyncError(s.lastError, 'SYNC_PAUSED')) {
        report(s.lastError, s.loop === 'stopped' ? 'auto-sync stopped' : 'auto-sync');
      }
    }
    if (s.connection === 'connected') state.reachable = true;
    // A background round ends with its pull.
    if (!s.downloading && wasDownloading) document.body.dataset.syncRounds = String(++syncRounds);
  }
  lastLoopError = s.lastError;
  wasDownloading = s.downloading;
  state.busy = manualSync || s.uploading || s.downloading;
  render();
}
let wasDownloading = false;

/**
 * The first visit's bootstrap: a progress bar while connect() downloads the server's database. The
 * page's body says how it went (`data-bootstrap`: "downloading", then "done"; absent when the
 * database was already here) and the bar keeps its last value, of the database's size.
 */
const bootstrap = { reports: 0, over: false };
function showBootstrap(s: SyncStatus): void {
  if (bootstrap.over) return;
  const box = $('#bootstrap');
  const bar = $<HTMLProgressElement>('#bootstrap-bar');
  if (s.downloading && s.download) {
    const { receivedBytes, totalBytes } = s.download;
    bootstrap.reports++;
    bar.max = Math.max(totalBytes ?? receivedBytes, 1);
    bar.value = receivedBytes;
    $('#bootstrap-text').textContent = `Downloading the server’s tasks… ${formatBytes(receivedBytes)}${totalBytes !== null ? ` of ${formatBytes(totalBytes)}` : ''}`;
    box.hidden = false;
    document.body.dataset.bootstrap = 'downloading';
    document.body.dataset.bootstrapReports = String(bootstrap.reports);
    return;
  }
  // The first snapshot that is not a download: the bootstrap is over, or there was none.
  bootstrap.over = true;
  if (bootstrap.reports === 0) return;
  document.body.dataset.bootstrap = 'done';
  addLog('info', `downloaded the server’s database (${formatBytes(bar.max)})`);
  setTimeout(() => (box.hidden = true), 1500);
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The live task list: every commit and pull that changes it re-renders; a background pull is logged. */
let backgroundPullSeen = false;
function watchTasks(db: Database): void {
  db.onTablesChanged((_tables, source) => {
    if (source === 'pull' && !manualSync) backgroundPullSeen = true;
  });
  db.watch('SELECT id, title, done, edited FROM tasks ORDER BY created_at, id', [], (rows) => {
    const tasks = rows.map(toTask);
    if (backgroundPullSeen) {
      backgroundPullSeen = false;
      const summary = describePull(state.tasks, tasks);
      if (summary) addLog('pull', summary);
    }
    state.tasks = tasks;
    render();
  });
}

/** What a pull changed in the list, in words; its rows flash in the list. */
function describePull(before: Task[], after: Task[]): string | null {
  const old = new Map(before.map((t) => [t.id, t]));
  const now = new Map(after.map((t) => [t.id, t]));
  const parts: string[] = [];
  state.flash.clear();
  for (const t of after) {
    const was = old.get(t.id);
    if (!was) {
      parts.push(`added “${t.title}” (by ${t.updatedBy})`);
      state.flash.add(t.id);
    } else if (was.title !== t.title || was.done !== t.done) {
      const what: string[] = [];
      if (was.title !== t.title) what.push(`“${was.title}” → “${t.title}”`);
      if (was.done !== t.done) what.push(`“${t.title}” ${t.done ? 'completed' : 'reopened'}`);
      parts.push(`${what.join(', ')} (by ${t.updatedBy})`);
      state.flash.add(t.id);
    }
  }
  for (const t of before) if (!now.has(t.id)) parts.push(`removed “${t.title}”`);
  if (state.flash.size > 0) setTimeout(() => (state.flash.clear(), render()), 4000);
  return parts.length > 0 ? `pulled: ${parts.join('; ')}` : null;
}

/** Auto-sync is walsync's background loop: pushes right after edits, pulls every 3 s, backs off on errors. */
function scheduleAutoSync(): void {
  const db = state.db;
  if (!db) return;
  if (state.autoSync && !state.offline && serverUrl) db.startSync({ intervalMs: AUTO_SYNC_MS });
  else db.stopSync();
}

function setOffline(offline: boolean): void {
  state.offline = offline;
  localStorage.setItem(keys.offline, offline ? '1' : '0');
  addLog('info', offline ? 'went offline: changes stay on this device' : 'back online');
  if (!offline) state.reachable = null;
  // Back online with auto-sync on, the loop restarts and syncs at once.
  scheduleAutoSync();
  render();
}

function setAutoSync(on: boolean): void {
  state.autoSync = on;
  localStorage.setItem(keys.autoSync, on ? '1' : '0');
  scheduleAutoSync();
  render();
}

// ── reset (asked by the two-device page) ────────────────────────────────────────────────────────

/** Closes the database and deletes its OPFS files and its sync metadata; the page reloads after. */
async function resetLocal(): Promise<void> {
  const db = state.db;
  db?.stopSync();
  state.db = null;
  await tail;
  await db?.close();
  await deleteLocalDatabase();
  for (const key of Object.values(keys)) localStorage.removeItem(key);
}

/** Deletes this device's database files (OPFS) and sync metadata (IndexedDB); it must be closed. */
function deleteLocalDatabase(): Promise<void> {
  return deleteDatabase(path);
}

/**
 * A local database belongs to the server it synced with. `npm start` starts a fresh server each
 * time (new port, new database); a copy synced with the old one would never line up with it, so the
 * device starts over instead.
 */
async function forgetOtherServer(): Promise<void> {
  const current = serverKey(serverUrl);
  const previous = localStorage.getItem(keys.server);
  if (previous !== null && previous !== current) {
    await deleteLocalDatabase();
    addLog('info', 'new sync server: this device’s copy from the previous one was deleted');
  }
  localStorage.setItem(keys.server, current);
}

window.addEventListener('message', (event: MessageEvent) => {
  if (event.origin !== location.origin || (event.data as { type?: string } | null)?.type !== 'walsync-demo:reset') return;
  resetLocal().then(
    () => event.source?.postMessage({ type: 'walsync-demo:reset-done', device }, { targetOrigin: location.origin }),
    (e: unknown) =>
      event.source?.postMessage({ type: 'walsync-demo:reset-done', device, error: String(e) }, { targetOrigin: location.origin }),
  );
});

// ── activity log ────────────────────────────────────────────────────────────────────────────────

function loadLog(): LogEntry[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(keys.log) ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as LogEntry[]) : [];
  } catch {
    return [];
  }
}

function addLog(kind: LogEntry['kind'], text: string): void {
  state.log.unshift({ at: Date.now(), kind, text });
  state.log.length = Math.min(state.log.length, LOG_LIMIT);
  localStorage.setItem(keys.log, JSON.stringify(state.log));
}

function report(e: unknown, action = 'error'): void {
  console.error(e);
  const message = isWalsyncError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  addLog('error', `${action}: ${message}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ── view ────────────────────────────────────────────────────────────────────────────────────────

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string | boolean>> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

function statusText(): { text: string; tone: 'ok' | 'off' | 'warn' | 'local' } {
  if (!serverUrl) return { text: 'local only (no sync server)', tone: 'local' };
  if (state.offline) return { text: 'offline', tone: 'off' };
  if (state.reachable === false) return { text: 'online · server unreachable', tone: 'warn' };
  return { text: 'online', tone: 'ok' };
}

/** True while render() swaps the DOM: a field it removes may fire blur, which is not the user leaving it. */
let rendering = false;

function render(): void {
  rendering = true;
  try {
    renderNow();
  } finally {
    rendering = false;
  }
}

function renderNow(): void {
  const status = statusText();
  const badge = $('#status');
  badge.textContent = status.text;
  badge.dataset.tone = status.tone;
  $('#pending').textContent = plural(state.pending, 'change');
  $('#last-push').textContent = formatTime(state.lastPush);
  $('#last-pull').textContent = formatTime(state.lastPull);
  $<HTMLInputElement>('#offline').checked = state.offline;
  $<HTMLInputElement>('#offline').disabled = !serverUrl;
  $<HTMLInputElement>('#auto-sync').checked = state.autoSync;
  $<HTMLInputElement>('#auto-sync').disabled = !serverUrl;
  const canSync = !!serverUrl && !state.offline && !!state.db;
  for (const id of ['#push', '#pull', '#sync']) $<HTMLButtonElement>(id).disabled = !canSync || state.busy;
  document.body.classList.toggle('busy', state.busy);
  document.body.classList.toggle('offline', state.offline);

  const list = $('#tasks');
  const focusedEdit = state.editing;
  list.replaceChildren(
    ...state.tasks.map((t) => {
      const check = h('input', { type: 'checkbox', class: 'done', 'aria-label': `Complete “${t.title}”`, checked: t.done });
      check.addEventListener('change', () => void setDone(t.id, check.checked));
      const meta = h('span', { class: 'meta' }, `${t.updatedBy} · ${new Date(t.updatedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`);
      let body: HTMLElement;
      if (state.editing === t.id) {
        const input = h('input', { class: 'edit-title', value: state.draft, 'aria-label': 'Task title' });
        input.addEventListener('input', () => (state.draft = input.value));
        const save = () => {
          const title = input.value.trim();
          state.editing = null;
          if (title && title !== t.title) void renameTask(t.id, title);
          else render();
        };
        input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') save();
          if (e.key === 'Escape') (state.editing = null), render();
        });
        // Leaving the field saves; a re-render replacing it (see `rendering`) does not.
        input.addEventListener('blur', () => !rendering && state.editing === t.id && save());
        body = input;
      } else {
        body = h('span', { class: 'title' }, t.title);
        body.addEventListener('dblclick', () => startEditing(t));
      }
      const editBtn = h('button', { class: 'icon edit', title: 'Edit', 'aria-label': `Edit “${t.title}”` }, '✎');
      editBtn.addEventListener('click', () => startEditing(t));
      const delBtn = h('button', { class: 'icon delete', title: 'Delete', 'aria-label': `Delete “${t.title}”` }, '✕');
      delBtn.addEventListener('click', () => void deleteTask(t.id));
      return h(
        'li',
        { class: ['task', t.done ? 'is-done' : '', state.flash.has(t.id) ? 'flash' : ''].join(' ').trim(), 'data-id': t.id },
        check,
        h('div', { class: 'body' }, body, meta),
        editBtn,
        delBtn,
      );
    }),
  );
  if (state.tasks.length === 0) list.append(h('li', { class: 'empty' }, state.db ? 'No tasks yet.' : 'Opening…'));
  const editor = focusedEdit ? list.querySelector<HTMLInputElement>('.edit-title') : null;
  if (editor && document.activeElement !== editor) {
    editor.focus();
    editor.setSelectionRange(editor.value.length, editor.value.length);
  }

  $('#log').replaceChildren(
    ...state.log.map((entry) =>
      h(
        'li',
        { class: `log-${entry.kind}` },
        h('time', {}, new Date(entry.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })),
        ' ',
        entry.text,
      ),
    ),
  );
  if (state.fatal) $('#fatal').textContent = state.fatal;
  $('#fatal').hidden = !state.fatal;
}

function startEditing(t: Task): void {
  state.editing = t.id;
  state.draft = t.title;
  render();
}

function wire(): void {
  document.title = `Tasks · device ${device}`;
  $('#device').textContent = device;
  $('#server').textContent = serverUrl ?? 'none';
  const form = $<HTMLFormElement>('#add');
  const input = $<HTMLInputElement>('#new-title');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const title = input.value.trim();
    if (!title || !state.db) return;
    input.value = '';
    void addTask(title);
  });
  $('#push').addEventListener('click', () => void runSync('push'));
  $('#pull').addEventListener('click', () => void runSync('pull'));
  $('#sync').addEventListener('click', () => void runSync('sync'));
  $<HTMLInputElement>('#offline').addEventListener('change', (e) => setOffline((e.target as HTMLInputElement).checked));
  $<HTMLInputElement>('#auto-sync').addEventListener('change', (e) => setAutoSync((e.target as HTMLInputElement).checked));
}

async function main(): Promise<void> {
  wire();
  render();
  if (window.top === window) void registerServiceWorker();
  try {
    await forgetOtherServer();
    const db = await open();
    const exists = await db.prepare("SELECT 1 AS x FROM sqlite_schema WHERE type = 'table' AND name = 'tasks'").get();
    if (!exists) await db.exec(SCHEMA);
    state.db = db;
    await queued(refresh);
    watchTasks(db);
  } catch (e) {
    state.fatal = `Could not open the database: ${isWalsyncError(e) ? `${e.code}: ${e.message}` : String(e)}`;
    report(e, 'open');
  }
  document.body.dataset.ready = state.db ? 'true' : 'failed';
  render();
  scheduleAutoSync();
}

void main();
