/** Answers every message with its own data: the bare postMessage round-trip floor. */
addEventListener('message', (event: MessageEvent) => postMessage(event.data));
