/** How a sync url is spelled: `libsql://` and `turso://` (Turso's own spellings) mean https. */

/** `url` with a `libsql://` or `turso://` scheme as `https://`; any other url unchanged. */
export function httpSyncUrl(url: string): string {
  return url.replace(/^(libsql|turso):\/\//, 'https://');
}
