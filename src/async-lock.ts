/**
 * A FIFO mutex for async work: a transaction holds it so no other call slips into its window.
 * Taking it when it is free costs no promise of its own (every statement call takes it): the work
 * starts at once, and its settling releases the lock to the next waiter, in the order they came.
 */
export class AsyncLock {
  #held = false;
  readonly #waiters: (() => void)[] = [];
  readonly #release = (): void => {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  };

  run<T>(work: () => Promise<T>): Promise<T> {
    if (!this.#held) {
      this.#held = true;
      return this.#hold(work);
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(() => this.#hold(work));
  }

  /** Runs `work` with the lock held; its settling (however it ends) releases the lock. */
  #hold<T>(work: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = Promise.resolve(work());
    } catch (e) {
      this.#release();
      return Promise.reject(e);
    }
    result.then(this.#release, this.#release);
    return result;
  }
}
