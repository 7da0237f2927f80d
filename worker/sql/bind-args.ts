/** Binds facade arguments to a prepared statement, checking counts and types up front. */
import type { BindableValue, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../errors.js';
import type { BindArgs } from '../rpc.js';

export function bindArgs(sqlite3: Sqlite3Static, stmt: PreparedStatement, args: BindArgs, sql: string): void {
  const expected = stmt.parameterCount;
  if (Array.isArray(args)) {
    if (args.length !== expected) {
      throw new WalsyncError(
        'INVALID_ARGUMENT',
        `the statement has ${expected} parameter${expected === 1 ? '' : 's'} but ${args.length} value${args.length === 1 ? ' was' : 's were'} given`,
        { context: { sql, expected, given: args.length } },
      );
    }
    if (expected > 0) stmt.bind(args.map((v, i) => toBindable(v, String(i + 1), sql)));
    return;
  }
  const named = args as Readonly<Record<string, unknown>>;
  const values: BindableValue[] = [];
  for (let i = 1; i <= expected; i++) {
    const name = sqlite3.capi.sqlite3_bind_parameter_name(stmt.pointer!, i);
    if (!name) {
      throw new WalsyncError('INVALID_ARGUMENT', `parameter ${i} is positional; pass an array of values, not an object`, {
        context: { sql },
      });
    }
    const key = name.slice(1);
    if (!Object.prototype.hasOwnProperty.call(named, key)) {
      throw new WalsyncError('INVALID_ARGUMENT', `missing a value for named parameter ${name}`, { context: { sql, parameter: name } });
    }
    values.push(toBindable(named[key], name, sql));
  }
  if (expected > 0) stmt.bind(values);
}

function toBindable(v: unknown, where: string, sql: string): BindableValue {
  switch (typeof v) {
    case 'number':
    case 'bigint':
    case 'string':
      return v;
    case 'boolean':
      return v ? 1 : 0;
    case 'object':
      if (v === null) return null;
      if (v instanceof Uint8Array) return v;
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      break;
    default:
      break;
  }
  const kind = v === undefined ? 'undefined' : typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
  throw new WalsyncError(
    'INVALID_ARGUMENT',
    `parameter ${where}: cannot bind a value of type ${kind} (use null, number, bigint, string, boolean or Uint8Array)`,
    { context: { sql, parameter: where } },
  );
}
