/**
 * Makes WalsyncError survive Comlink: its default "throw" handler keeps only message, name and stack.
 * Both sides (worker and facade) install this, each into its own copy of Comlink.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { deserializeError, serializeError, type SerializedWalsyncError } from './errors.js';

interface ThrownValue {
  value: unknown;
}

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const original = transferHandlers.get('throw') as TransferHandler<ThrownValue, unknown>;
  const handler: TransferHandler<ThrownValue, { walsync: SerializedWalsyncError } | unknown> = {
    canHandle: (value: unknown): value is ThrownValue => original.canHandle(value),
    serialize(thrown) {
      return [{ walsync: serializeError(thrown.value) }, []];
    },
    deserialize(serialized) {
      const s = serialized as { walsync?: SerializedWalsyncError };
      if (s && typeof s === 'object' && s.walsync) throw deserializeError(s.walsync);
      return original.deserialize(serialized);
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}
