/**
 * The Hrana batch a push sends (worker/protocol/pipeline.ts): an all-or-nothing chain run against
 * real SQLite in Node, with the batch conditions evaluated the way the protocol defines them (a
 * step runs only if its condition holds on the steps before it); and runBatch's request and
 * response handling over an in-process fetch double.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import { type BatchStep, type HranaCondition, chainedTransaction, runBatch } from '../../worker/protocol/pipeline.js';
import { HttpTransport } from '../../worker/protocol/http-transport.js';
import { runWithValues } from '../../worker/sql/bind-args.js';
import { loadSqlite } from '../support/node-sqlite.js';

type Outcome = 'ok' | 'error' | 'skipped';

/** Runs `steps` on `db` as a Hrana batch does: returns each step's outcome. */
async function runSteps(db: Database, steps: readonly BatchStep[]): Promise<Outcome[]> {
  const { sqlite3 } = await loadSqlite();
  const outcomes: Outcome[] = [];
  const holds = (c: HranaCondition): boolean => {
    switch (c.type) {
      case 'ok':
        return outcomes[c.step] === 'ok';
      case 'error':
        return outcomes[c.step] === 'error';
      case 'not':
        return !holds(c.cond);
      case 'and':
        return c.conds.every(holds);
      case 'or':
        return c.conds.some(holds);
      case 'is_autocommit':
        return sqlite3.capi.sqlite3_get_autocommit(db.pointer!) !== 0;
    }
  };
  for (const step of steps) {
    if (step.condition && !holds(step.condition)) {
      outcomes.push('skipped');
      continue;
    }
    try {
      runWithValues(sqlite3, db, step.sql, step.args ?? []);
      outcomes.push('ok');
    } catch {
      outcomes.push('error');
    }
  }
  return outcomes;
}

async function freshDb(): Promise<Database> {
  const { sqlite3 } = await loadSqlite();
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
  return db;
}

const rows = (db: Database) => db.selectArrays('SELECT id, v FROM t ORDER BY id');

describe('chainedTransaction: all or nothing', () => {
  test('every statement succeeds: all applied, committed, no rollback', async () => {
    const db = await freshDb();
    const outcomes = await runSteps(db, chainedTransaction([
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [1, 'a'] },
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [2, 'b'] },
    ]));
    assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'skipped']);
    assert.deepEqual(rows(db), [[1, 'a'], [2, 'b']]);
  });

  test('a statement fails: the later ones and COMMIT are skipped, ROLLBACK undoes the earlier ones', async () => {
    const db = await freshDb();
    const outcomes = await runSteps(db, chainedTransaction([
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [1, 'a'] },
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [2, 'a'] }, // UNIQUE fails
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [3, 'c'] },
    ]));
    assert.deepEqual(outcomes, ['ok', 'ok', 'error', 'skipped', 'skipped', 'ok']);
    assert.deepEqual(rows(db), []);
    assert.notEqual((await loadSqlite()).sqlite3.capi.sqlite3_get_autocommit(db.pointer!), 0, 'no transaction left open');
  });

  test('an ignoreError statement may fail without stopping the chain', async () => {
    const db = await freshDb();
    const outcomes = await runSteps(db, chainedTransaction([
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [1, 'a'] },
      { sql: 'ALTER TABLE t ADD COLUMN v TEXT', ignoreError: true }, // duplicate column
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [2, 'b'] },
    ]));
    assert.deepEqual(outcomes, ['ok', 'ok', 'error', 'ok', 'ok', 'skipped']);
    assert.deepEqual(rows(db), [[1, 'a'], [2, 'b']]);
  });

  test('a failure after an ignored error still undoes everything', async () => {
    const db = await freshDb();
    await runSteps(db, chainedTransaction([
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [1, 'a'] },
      { sql: 'ALTER TABLE t ADD COLUMN v TEXT', ignoreError: true },
      { sql: 'INSERT INTO t VALUES (?, ?)', args: [1, 'dup'] },
    ]));
    assert.deepEqual(rows(db), []);
  });
});

/** A fetch double answering every request with `body` (JSON), recording what it was sent. */
function answering(body: unknown, sent: string[]): typeof fetch {
  return (async (_url: string, init?: RequestInit) => {
    const b = init?.body;
    sent.push(typeof b === 'string' ? b : new TextDecoder().decode(b as Uint8Array));
    return new Response(JSON.stringify(body), { status: 200 });
  }) as unknown as typeof fetch;
}

const limits = { silenceMs: 5000, requestMs: 5000, bootstrapWaitMs: 5000 };

describe('runBatch', () => {
  test('sends the steps with their conditions and typed values; reads rows and step errors back', async () => {
    const sent: string[] = [];
    const http = new HttpTransport('http://127.0.0.1:1', async () => null, limits, answering({
      baton: null,
      results: [{ type: 'ok', response: { type: 'batch', result: {
        step_results: [{ rows: [[{ type: 'integer', value: '9007199254740993' }, { type: 'integer', value: '7' }, { type: 'text', value: 'x' }]] }, null],
        step_errors: [null, { message: 'UNIQUE constraint failed', code: 'SQLITE_CONSTRAINT' }],
      } } }],
    }, sent));
    const outcome = await runBatch(http, [
      { sql: 'SELECT ?, ?', args: [1, 2n ** 60n], wantRows: true },
      { sql: 'INSERT', condition: { type: 'ok', step: 0 } },
    ]);
    const request = JSON.parse(sent[0]!);
    assert.deepEqual(request.requests[0].batch.steps[0].stmt.args, [{ type: 'integer', value: '1' }, { type: 'integer', value: String(2n ** 60n) }]);
    assert.deepEqual(request.requests[0].batch.steps[1].condition, { type: 'ok', step: 0 });
    assert.deepEqual(outcome.results[0]!.rows, [[9007199254740993n, 7, 'x']]);
    assert.equal(outcome.results[1], null);
    assert.deepEqual(outcome.errors, [null, { message: 'UNIQUE constraint failed', code: 'SQLITE_CONSTRAINT' }]);
  });

  test('a refused request is SERVER_ERROR; a body of another shape is PROTOCOL_ERROR', async () => {
    const refused = new HttpTransport('http://127.0.0.1:1', async () => null, limits, answering({ results: [{ type: 'error', error: { message: 'no' } }] }, []));
    await assert.rejects(runBatch(refused, [{ sql: 'SELECT 1' }]), (e) => e instanceof WalsyncError && e.code === 'SERVER_ERROR' && /no/.test(e.message));
    const odd = new HttpTransport('http://127.0.0.1:1', async () => null, limits, answering({ results: [{ type: 'ok', response: { type: 'execute' } }] }, []));
    await assert.rejects(runBatch(odd, [{ sql: 'SELECT 1' }]), (e) => e instanceof WalsyncError && e.code === 'PROTOCOL_ERROR');
  });
});
