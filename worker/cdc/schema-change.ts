/**
 * Schema changes (DDL): telling them apart, seeing which objects a statement changed, and the
 * idempotent forms in which they are pushed and replayed. Triggers cannot fire on `sqlite_schema`,
 * so the capture compares the schema before and after each statement that looks like DDL.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { isInternalTable } from './table-info.js';

const LEADING_NOISE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/** The statement without leading white space and comments (the text that is logged and pushed). */
export function stripLeadingComments(sql: string): string {
  return sql.replace(LEADING_NOISE, '').trim();
}

/** True for statements that may change the schema; cheap, so it can run before every statement. */
export function looksLikeSchemaChange(sql: string): boolean {
  return /^(?:CREATE|ALTER|DROP)\b/i.test(stripLeadingComments(sql));
}

/**
 * For `PRAGMA user_version = …` / `application_id = …`: the setting's name. They live in the
 * database header, which a pull replaces with the server's; apps use user_version for their
 * migrations, so walsync keeps them as local-only changes, replayed by every pull.
 */
export function headerSettingOf(sql: string): 'user_version' | 'application_id' | null {
  const m = /^PRAGMA\s+(?:main\s*\.\s*)?(user_version|application_id)\s*=/i.exec(stripLeadingComments(sql));
  return m ? (m[1]!.toLowerCase() as 'user_version' | 'application_id') : null;
}

export interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly tblName: string;
}

/** Every object of the main schema with its SQL, keyed by type and name. */
export function readSchemaSnapshot(db: Database): Map<string, string> {
  const rows = db.selectArrays('SELECT type, name, tbl_name, sql FROM main.sqlite_schema') as [string, string, string, string | null][];
  return new Map(rows.map(([type, name, tblName, sql]) => [JSON.stringify([type, name, tblName]), sql ?? '']));
}

/** The objects created, dropped or redefined between two snapshots. */
export function changedSchemaObjects(before: Map<string, string>, after: Map<string, string>): SchemaObject[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const changed: SchemaObject[] = [];
  for (const key of keys) {
    if (before.get(key) === after.get(key)) continue;
    const [type, name, tblName] = JSON.parse(key) as [string, string, string];
    changed.push({ type, name, tblName });
  }
  return changed;
}

/** The objects whose change is logged: not walsync's, Turso's or SQLite's own. */
export function userSchemaObjects(objects: readonly SchemaObject[]): SchemaObject[] {
  return objects.filter((o) => !isInternalTable(o.name) && !isInternalTable(o.tblName));
}

/**
 * Schema changes that stay on this device: the user's triggers. Like Turso's clients, walsync does
 * not push triggers (on the server a trigger would fire again for rows whose effects the client
 * pushes itself); they are kept locally by replaying their DDL on every pull.
 */
export function isLocalOnlySchemaChange(objects: readonly SchemaObject[]): boolean {
  return objects.every((o) => o.type === 'trigger');
}

const CREATE_HEAD = /^(CREATE\s+(?:(?:TEMP|TEMPORARY|UNIQUE|VIRTUAL)\s+)*(?:TABLE|INDEX|VIEW|TRIGGER)\s+)(?!IF\s+NOT\s+EXISTS\b)/i;
const DROP_HEAD = /^(DROP\s+(?:TABLE|INDEX|VIEW|TRIGGER)\s+)(?!IF\s+EXISTS\b)/i;

/**
 * The form in which a logged DDL statement is sent and replayed: CREATE … IF NOT EXISTS and
 * DROP … IF EXISTS, so the same change arriving twice (from another client, or a resent push)
 * is harmless.
 */
export function idempotentDdl(ddl: string): string {
  return ddl.replace(CREATE_HEAD, '$1IF NOT EXISTS ').replace(DROP_HEAD, '$1IF EXISTS ');
}

const NAME = String.raw`("(?:[^"]|"")*"|\[[^\]]*\]|\x60(?:[^\x60]|\x60\x60)*\x60|[^\s(.]+)`;
const ADD_COLUMN = new RegExp(String.raw`^ALTER\s+TABLE\s+(?:${NAME}\s*\.\s*)?${NAME}\s+ADD\s+(?:COLUMN\s+)?${NAME}`, 'i');

/** For `ALTER TABLE t ADD [COLUMN] c …`: the table and column names; null for other statements. */
export function parseAddColumn(ddl: string): { table: string; column: string } | null {
  const m = ADD_COLUMN.exec(ddl);
  if (!m) return null;
  return { table: unquote(m[2]!), column: unquote(m[3]!) };
}

function unquote(name: string): string {
  const first = name[0];
  if (first === '"') return name.slice(1, -1).replaceAll('""', '"');
  if (first === '`') return name.slice(1, -1).replaceAll('``', '`');
  if (first === '[') return name.slice(1, -1);
  return name;
}
