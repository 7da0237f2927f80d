/**
 * A one-shot failure that calls race against (a worker link lost, a channel closed for good).
 *
 * `Promise.race([work, neverSettling])` leaves a reaction on `neverSettling` for every call, and that
 * reaction holds the race's promise and so the call's result: a long session (a watch re-running on
 * every change) would keep every result it ever got until the link breaks. A tripwire keeps only
 * the calls still in flight.
 */
export class Tripwire {
  #tripped = false;
  #reason: unknown;
  readonly #waiting = new Set<(reason: unknown) => void>();

  get tripped(): boolean {
    return this.#tripped;
  }

  /** Calls racing now (settled ones are forgotten). */
  get racing(): number {
    return this.#waiting.size;
  }

  /** Fails every call racing now and every later one with `reason` (the first trip wins). */
  trip(reason: unknown): void {
    if (this.#tripped) return;
    this.#tripped = true;
    this.#reason = reason;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const reject of waiting) reject(reason);
  }

  /** `work`'s outcome, or a rejection as soon as any of `wires` trips; forgets the call once settled. */
  static race<T>(work: Promise<T>, ...wires: Tripwire[]): Promise<T> {
    const tripped = wires.find((w) => w.#tripped);
    if (tripped) {
      work.catch(() => undefined);
      return Promise.reject(tripped.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      // Once settled (or failed by a trip), the call leaves every wire it raced on.
      const forget = (): void => {
        for (const w of wires) w.#waiting.delete(fail);
      };
      const fail = (reason: unknown): void => (forget(), reject(reason));
      for (const w of wires) w.#waiting.add(fail);
      work.then(
        (value) => (forget(), resolve(value)),
        (error: unknown) => fail(error),
      );
    });
  }
}
