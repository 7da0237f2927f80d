/**
 * `POST /v2/pipeline` (Hrana over HTTP, sync-protocol.md §3): value conversion and one-batch
 * requests. Every call is a self-contained stream (baton null); a transaction opened in a batch is
 * closed in the same batch.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { SqlValue } from '../../contract/worker-api.js';
import { type EngineValue, Real, ValueKind, blobBytes, narrowInteger, unbindableError, utf8Decoder, valueKind } from '../../contract/sql-value.js';
import { floatText } from './float-text.js';
import { inlineNonFinite, isNonFinite } from './non-finite-args.js';
import type { HttpTransport } from './http-transport.js';

export type HranaValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string };

export type HranaCondition =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: HranaCondition }
  | { type: 'and'; conds: HranaCondition[] }
  | { type: 'or'; conds: HranaCondition[] }
  | { type: 'is_autocommit' };

export interface BatchStep {
  readonly sql: string;
  readonly args?: readonly EngineValue[];
  readonly condition?: HranaCondition;
  readonly wantRows?: boolean;
}

export interface StepError {
  readonly message: string;
  readonly code: string;
}

export interface StepResult {
  readonly rows: SqlValue[][];
}

export interface BatchOutcome {
  /** Per step: its result, or null if it failed or was skipped. */
  readonly results: (StepResult | null)[];
  /** Per step: its error, or null. */
  readonly errors: (StepError | null)[];
}

/**
 * A value as Hrana sends it. A `Real` (a REAL read from SQLite) is always a float, 2.0 included; a
 * plain number is an integer only if walsync would bind it as one (a safe integer other than -0).
 */
export function toHranaValue(v: EngineValue, index = 0): HranaValue {
  if (v === null) return { type: 'null' };
  if (typeof v === 'bigint') return { type: 'integer', value: v.toString() };
  if (typeof v === 'number' || v instanceof Real) {
    const n = typeof v === 'number' ? v : v.value;
    if (typeof v === 'number' && Number.isSafeInteger(n) && !Object.is(n, -0)) return { type: 'integer', value: String(n) };
    if (!Number.isFinite(n)) throw new WalsyncError('INVALID_ARGUMENT', `cannot send ${n} to the server (not a finite number)`);
    return { type: 'float', value: n };
  }
  if (typeof v === 'string') return { type: 'text', value: v };
  // Values from the transform hook are the app's: check them as a local bind would.
  switch (valueKind(v)) {
    case ValueKind.Blob:
      return { type: 'blob', base64: toBase64(blobBytes(v)) };
    case ValueKind.Boolean:
      return { type: 'integer', value: v ? '1' : '0' };
    default:
      throw unbindableError(v, index + 1);
  }
}

export function fromHranaValue(v: unknown): SqlValue {
  const value = v as { type?: string; value?: unknown; base64?: unknown };
  switch (value?.type) {
    case 'null':
      return null;
    case 'integer': {
      return narrowInteger(BigInt(String(value.value)));
    }
    case 'float':
      return Number(value.value);
    case 'text':
      return String(value.value);
    case 'blob':
      return fromBase64(String(value.base64));
    default:
      throw new WalsyncError('PROTOCOL_ERROR', `the server sent a value of unknown type ${JSON.stringify(value?.type)}`);
  }
}

/** Sends one batch and returns its per-step outcome. Transport and shape errors throw. */
export async function runBatch(http: HttpTransport, givenSteps: readonly BatchStep[]): Promise<BatchOutcome> {
  const steps = givenSteps.map((s) => (s.args?.some(isNonFinite) ? { ...s, ...inlineNonFinite(s.sql, s.args) } : s));
  const request = {
    baton: null,
    requests: [
      {
        type: 'batch',
        batch: {
          steps: steps.map((s) => ({
            ...(s.condition ? { condition: s.condition } : {}),
            stmt: { sql: s.sql, args: (s.args ?? []).map(toHranaValue), named_args: [], want_rows: s.wantRows ?? false },
          })),
        },
      },
    ],
  };
  const hasFloat = steps.some((s) => s.args?.some((v) => v instanceof Real || (typeof v === 'number' && !Number.isSafeInteger(v))));
  const response = await http.post('/v2/pipeline', toRequestJson(request, hasFloat), 'application/json');
  const text = utf8Decoder.decode(await http.readAll(response));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WalsyncError('PROTOCOL_ERROR', 'the /v2/pipeline response is not valid JSON', { context: { body: text.slice(0, 200) } });
  }
  const result = (parsed as { results?: unknown[] })?.results?.[0] as
    | { type: 'ok'; response?: { type?: string; result?: { step_results?: unknown[]; step_errors?: unknown[] } } }
    | { type: 'error'; error?: { message?: string; code?: string } }
    | undefined;
  if (!result) throw new WalsyncError('PROTOCOL_ERROR', 'the /v2/pipeline response has no result');
  if (result.type === 'error') {
    throw new WalsyncError('SERVER_ERROR', `the server refused the request: ${result.error?.message ?? 'unknown error'}`, {
      context: { code: result.error?.code ?? null },
    });
  }
  const batch = result.type === 'ok' ? result.response?.result : undefined;
  if (result.type !== 'ok' || result.response?.type !== 'batch' || !batch || !Array.isArray(batch.step_results) || !Array.isArray(batch.step_errors)) {
    throw new WalsyncError('PROTOCOL_ERROR', 'the /v2/pipeline response does not have the shape of a batch result');
  }
  const results = steps.map((_, i) => {
    const r = batch.step_results![i] as { rows?: unknown[][] } | null | undefined;
    if (!r) return null;
    return { rows: (r.rows ?? []).map((row) => row.map(fromHranaValue)) };
  });
  const errors = steps.map((_, i) => {
    const e = batch.step_errors![i] as { message?: string; code?: string } | null | undefined;
    return e ? { message: String(e.message ?? 'unknown error'), code: String(e.code ?? '') } : null;
  });
  return { results, errors };
}

/**
 * The steps of an all-or-nothing transaction: each step runs only if the last step before it that
 * must succeed did succeed; a statement marked `ignoreError` may fail without stopping the chain.
 */
export function chainedTransaction(statements: readonly { sql: string; args?: readonly EngineValue[]; ignoreError?: boolean }[]): BatchStep[] {
  const steps: BatchStep[] = [{ sql: 'BEGIN IMMEDIATE' }];
  let mustSucceed = 0;
  for (const s of statements) {
    steps.push({ sql: s.sql, args: s.args ?? [], condition: { type: 'ok', step: mustSucceed } });
    if (!s.ignoreError) mustSucceed = steps.length - 1;
  }
  steps.push({ sql: 'COMMIT', condition: { type: 'ok', step: mustSucceed } });
  // Only when something failed is the transaction still open; close it so nothing half-done stays.
  steps.push({ sql: 'ROLLBACK', condition: { type: 'not', cond: { type: 'is_autocommit' } } });
  return steps;
}

/** A float whose JSON text walsync writes itself, marked while serializing (`\u0000walsync:<index>\u0000`). */
const FLOAT_MARK = /\{"type":"float","value":"\\u0000walsync:(\d+)\\u0000"\}/g;

/**
 * The request as JSON, each float written so that the server reads back exactly its double:
 * JSON.stringify writes -0 as `0` (read as +0), and its shortest digits are misread by the server
 * for many doubles (float-text.ts). A replacer costs time on every key of a large push, so it runs
 * only when the caller saw a float among the values.
 */
export function toRequestJson(request: unknown, hasFloat: boolean): string {
  if (!hasFloat) return JSON.stringify(request);
  const texts: string[] = [];
  const json = JSON.stringify(request, function (this: unknown, key, value: unknown) {
    if (key !== 'value' || typeof value !== 'number' || (this as { type?: unknown }).type !== 'float') return value;
    const text = floatText(value);
    return text === null ? value : `\u0000walsync:${texts.push(text) - 1}\u0000`;
  });
  // Only a float value object can have this exact text: inside a JSON string its quotes are escaped.
  return texts.length === 0 ? json : json.replace(FLOAT_MARK, (_, index: string) => `{"type":"float","value":${texts[Number(index)]}}`);
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
  const s = atob(padded);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
