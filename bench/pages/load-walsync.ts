/**
 * The smallest walsync app: connect, run one query. Its download size is what the "bytes" row
 * reports for walsync (everything a user ships to get a first result).
 */
import { connect } from '../../src/index.js';
import { announceLoaded } from './load-signal.js';

const db = await connect({ path: 'walsync-bench/load.db' });
const row = await db.prepare('SELECT 1 AS one').get();
await db.close();
announceLoaded(row?.one === 1);
