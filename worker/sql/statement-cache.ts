/** Prepared statements kept by SQL text, so a repeated `prepare(sql).run()` skips SQLite's parser. */
import type { PreparedStatement } from '@sqlite.org/sqlite-wasm';

export class StatementCache {
  readonly #limit: number;
  readonly #byText = new Map<string, PreparedStatement>();
  /** The most recently used entry: a run of the same statement skips the reordering below. */
  #newest: string | null = null;

  constructor(limit = 128) {
    this.#limit = limit;
  }

  get(sql: string): PreparedStatement | undefined {
    const stmt = this.#byText.get(sql);
    if (stmt && sql !== this.#newest) {
      this.#newest = sql;
      // Move to the back: Map iteration order doubles as recency order.
      this.#byText.delete(sql);
      this.#byText.set(sql, stmt);
    }
    return stmt;
  }

  add(sql: string, stmt: PreparedStatement): void {
    this.#byText.set(sql, stmt);
    this.#newest = sql;
    if (this.#byText.size > this.#limit) {
      const [oldestSql, oldest] = this.#byText.entries().next().value as [string, PreparedStatement];
      this.#byText.delete(oldestSql);
      oldest.finalize();
    }
  }

  clear(): void {
    for (const stmt of this.#byText.values()) stmt.finalize();
    this.#byText.clear();
    this.#newest = null;
  }
}
