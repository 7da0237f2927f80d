/** Worker of the plain sqlite-wasm baseline page: opfs-sahpool, one query, answer, done. */
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';

const init = sqlite3InitModule as unknown as (options: object) => Promise<Sqlite3Static>;
const sqlite3 = await init({ print: () => {}, printErr: () => {} });
const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-baseline-sahpool', directory: '.bench-baseline-sahpool' });
const db = new pool.OpfsSAHPoolDb('/load.db');
const one = db.selectValue('SELECT 1');
db.close();
postMessage({ one });
