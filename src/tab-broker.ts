/**
 * The SharedWorker that hands MessagePorts between tabs of one origin (a BroadcastChannel cannot
 * carry a port). Each tab registers its id; a follower sends `{ to, payload, port }` and the broker
 * forwards the payload with the port to that tab, which gives the port to its database worker: from
 * then on the follower talks to the leader's worker directly, without the broker or the leader tab.
 */
interface BrokerMessage {
  readonly register?: string;
  readonly to?: string;
  readonly payload?: unknown;
}

const tabs = new Map<string, MessagePort>();

(globalThis as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event: MessageEvent) => {
  const port = event.ports[0]!;
  port.onmessage = (message: MessageEvent) => {
    const data = message.data as BrokerMessage;
    if (typeof data.register === 'string') {
      tabs.set(data.register, port);
    } else if (typeof data.to === 'string') {
      // A tab that is gone keeps its entry; the message is lost and the follower asks the next leader.
      tabs.get(data.to)?.postMessage(data.payload, [...message.ports]);
    }
  };
  port.start();
};
