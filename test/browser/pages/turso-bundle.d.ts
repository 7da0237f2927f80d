/** The self-contained build of Turso's browser client ships no type declarations of its own. */
declare module '@tursodatabase/sync-wasm/bundle' {
  export function connect(options: { path: string; url: string; clientName?: string }): Promise<unknown>;
}
