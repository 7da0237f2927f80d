/** A one-row upsert as parts, so that rows of the same shape can be sent as one multi-row statement. */

/** A one-row `INSERT … VALUES (?,…) ON CONFLICT … DO UPDATE …` as its parts: `head` + row tuples + `tail`. */
export interface UpsertShape {
  readonly head: string;
  readonly tail: string;
  /** Placeholders per row. */
  readonly width: number;
}

/** `(?,?,…)` with `width` placeholders. */
export function rowTuple(width: number): string {
  return `(${new Array<string>(width).fill('?').join(',')})`;
}
