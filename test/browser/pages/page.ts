/** Test page: exposes the library on `window` for Playwright's page.evaluate(). */
import * as walsync from '../../../src/index.js';

declare global {
  interface Window {
    walsync: typeof walsync;
    walsyncReady: boolean;
  }
}

window.walsync = walsync;
window.walsyncReady = true;
