/** The engine's SyncRemote over HTTP: `/pull-updates` for pages, `/v2/pipeline` for pushes. */
import { WalsyncError } from '../../contract/errors.js';
import type { RemoteEncryption } from '../../contract/worker-api.js';
import { HttpTransport, type TokenSource, type TransportLimits, WaitStopped } from './http-transport.js';
import { chainedTransaction, runBatch } from './pipeline.js';
import { decodePullHeader, pagesSelector, decodePullPage, encodePullRequest, readDelimitedMessages } from './pull-updates.js';
import type { HighWaterMark, PulledPage, PullOptions, PullResponse, PushStatement, StoppablePullOptions, SyncRemote } from './remote.js';
import { CREATE_SYNC_TABLE, SELECT_SYNC_ROW, UPSERT_SYNC_ROW } from './sync-table.js';

export class HttpSyncRemote implements SyncRemote {
  readonly #http: HttpTransport;

  constructor(url: string, token: TokenSource, limits: TransportLimits, fetchImpl?: typeof fetch, encryption?: RemoteEncryption | null) {
    // An encrypted remote (Turso Cloud) decrypts and encrypts pages itself with the key it is sent
    // on every request; pages travel in the clear with the cipher's reserved bytes, which the
    // server's page 1 announces and every pulled page carries.
    const headers: Record<string, string> = encryption ? { 'x-turso-encryption-key': encryption.key, 'x-turso-encryption-cipher': encryption.cipher } : {};
    this.#http = new HttpTransport(url, token, limits, fetchImpl, headers);
  }

  get sentBytes(): number {
    return this.#http.sentBytes;
  }

  get receivedBytes(): number {
    return this.#http.receivedBytes;
  }

  pullUpdates(clientRevision: string | null, longPollTimeoutMs: number, options: StoppablePullOptions): Promise<PullResponse | null>;
  pullUpdates(clientRevision: string | null, longPollTimeoutMs: number, options?: PullOptions): Promise<PullResponse>;
  async pullUpdates(clientRevision: string | null, longPollTimeoutMs: number, options: PullOptions & { readonly stopWaiting?: AbortSignal } = {}): Promise<PullResponse | null> {
    const body = encodePullRequest({ clientRevision, longPollTimeoutMs });
    let messages: AsyncGenerator<Uint8Array>;
    let first: IteratorResult<Uint8Array>;
    try {
      // A long poll may legitimately keep the server silent for its whole duration.
      const response = await this.#http.post('/pull-updates', body, 'application/protobuf', {
        extraMs: longPollTimeoutMs,
        ...(options.answerWithin ? { answerWithin: options.answerWithin } : {}),
        ...(options.stopWaiting ? { stopWaiting: options.stopWaiting } : {}),
      });
      const contentType = response.headers.get('content-type') ?? '';
      if (/^text\/html\b/i.test(contentType)) {
        await response.body?.cancel().catch(() => undefined);
        throw new WalsyncError('PROTOCOL_ERROR', `the /pull-updates response is an HTML page (content-type ${contentType}), not a protobuf page stream: is a proxy or captive portal in the way?`, {
          context: { contentType },
        });
      }
      messages = readDelimitedMessages(this.#http.stream(response));
      // The wait can be stopped until the first byte of the body, which this read waits for.
      first = await messages.next();
    } catch (e) {
      if (e instanceof WaitStopped) return null;
      throw e;
    }
    if (first.done) throw new WalsyncError('PROTOCOL_ERROR', 'the /pull-updates response has no header');
    const header = decodePullHeader(first.value);
    // Without a client revision the answer is the whole database: every page 1..db_size (§2.5).
    // The stream has no trailer, so a body cut cleanly at a message boundary is only detectable here.
    const seen = clientRevision ? null : new Uint8Array(Math.ceil(header.dbSizePages / 8));
    async function* pages(): AsyncGenerator<PulledPage> {
      let distinct = 0;
      for await (const message of messages) {
        const page = decodePullPage(message);
        // Pages past the database's end are not part of it (sync-protocol.md §2.4).
        if (page.pgno > header.dbSizePages) continue;
        if (seen) {
          const bit = 1 << ((page.pgno - 1) & 7);
          const at = (page.pgno - 1) >> 3;
          if ((seen[at]! & bit) === 0) distinct++;
          seen[at]! |= bit;
        }
        yield page;
      }
      if (seen && distinct < header.dbSizePages) {
        throw new WalsyncError(
          'PROTOCOL_ERROR',
          `the server's full-database (bootstrap) answer brought ${distinct} of its ${header.dbSizePages} pages; the response is truncated or incomplete`,
          { context: { revision: header.revision, pages: distinct, dbSizePages: header.dbSizePages } },
        );
      }
    }
    const cancel = async (): Promise<void> => {
      await messages.return(undefined);
    };
    return { revision: header.revision, dbSizePages: header.dbSizePages, pages: pages(), cancel };
  }

  async readFirstPage(revision: string): Promise<Uint8Array | null> {
    return (await this.readPagesAt(revision, [1])).get(1) ?? null;
  }

  async readPagesAt(revision: string, pgnos: readonly number[]): Promise<Map<number, Uint8Array>> {
    const selector = pagesSelector(pgnos.map((p) => p - 1));
    const body = encodePullRequest({ clientRevision: null, longPollTimeoutMs: 0, serverRevision: revision, pagesSelector: selector });
    const response = await this.#http.post('/pull-updates', body, 'application/protobuf');
    const messages = readDelimitedMessages(this.#http.stream(response));
    const first = await messages.next();
    if (first.done) throw new WalsyncError('PROTOCOL_ERROR', 'the /pull-updates response has no header');
    const header = decodePullHeader(first.value);
    const pages = new Map<number, Uint8Array>();
    for await (const message of messages) {
      const page = decodePullPage(message);
      if (header.dbSizePages >= 1) pages.set(page.pgno, page.data.slice());
    }
    return pages;
  }

  async readHighWater(clientId: string): Promise<HighWaterMark | null> {
    const outcome = await runBatch(this.#http, [{ sql: SELECT_SYNC_ROW, args: [clientId], wantRows: true }]);
    const error = outcome.errors[0];
    if (error) {
      // A server that never saw a push has no sync table yet.
      if (/no such table/i.test(error.message)) return null;
      throw new WalsyncError('SERVER_ERROR', `reading the push position failed: ${error.message}`);
    }
    const row = outcome.results[0]?.rows[0];
    if (!row) return null;
    const [pullGen, changeId] = row;
    if (typeof pullGen !== 'number' || typeof changeId !== 'number') {
      throw new WalsyncError('PROTOCOL_ERROR', 'the server holds a malformed push position for this client');
    }
    return { pullGen, changeId };
  }

  async push(statements: readonly PushStatement[], clientId: string, mark: HighWaterMark): Promise<void> {
    const steps = chainedTransaction([
      { sql: CREATE_SYNC_TABLE },
      ...statements,
      { sql: UPSERT_SYNC_ROW, args: [clientId, mark.pullGen, mark.changeId] },
    ]);
    const outcome = await runBatch(this.#http, steps);
    const commitStep = steps.length - 2;
    // Steps: 0 BEGIN, 1 sync-table create, 2.. the statements, then the position upsert and COMMIT.
    const ignorable = (step: number) => statements[step - 2]?.ignoreError === true;
    const failed = outcome.errors.findIndex((e, i) => e !== null && i <= commitStep && !ignorable(i));
    if (failed === -1) {
      if (!outcome.results[commitStep]) throw new WalsyncError('SERVER_ERROR', 'the server did not commit the push');
      return;
    }
    const error = outcome.errors[failed]!;
    const statementIndex = failed - 2;
    if (statementIndex >= 0 && statementIndex < statements.length) {
      throw new WalsyncError('PUSH_REJECTED', stripRuntimePrefix(error.message), {
        context: { statementIndex, serverCode: error.code },
      });
    }
    if (failed === 0 && /within a transaction/i.test(error.message)) {
      throw new WalsyncError('SERVER_ERROR', 'the server is busy with another transaction; try the push again', { context: { serverMessage: error.message } });
    }
    throw new WalsyncError('SERVER_ERROR', `the push failed on the server: ${error.message}`, { context: { step: failed } });
  }
}

/** "Runtime error: UNIQUE constraint failed: u.y (19)" → "UNIQUE constraint failed: u.y". */
function stripRuntimePrefix(message: string): string {
  return message.replace(/^(Runtime error|Parse error|Prepare error): /i, '').replace(/ \(\d+\)$/, '');
}
