/** A Comlink-exposed echo: the Comlink round-trip floor. */
import { expose } from 'comlink';

expose({ echo: (value: number) => value });
