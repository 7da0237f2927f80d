/**
 * The shared-memory round-trip floor: gets a SharedArrayBuffer, then answers every request written
 * into it (blocked in Atomics.wait between requests), the way walsync's worker serves calls.
 */
addEventListener('message', (event: MessageEvent<SharedArrayBuffer>) => {
  const ctrl = new Int32Array(event.data);
  postMessage('ready');
  for (;;) {
    Atomics.wait(ctrl, 0, 0);
    if (Atomics.load(ctrl, 0) === 3) return; // done
    ctrl[1] = ctrl[1]! + 1; // the "answer": the request's value plus one
    Atomics.store(ctrl, 0, 0);
    Atomics.store(ctrl, 2, 1);
    Atomics.notify(ctrl, 2);
  }
});
