// The address bar as a signal: screens read `route` and move with `navigate`, and the browser's
// back and forward buttons update it too.

import { computed, signal } from '@preact/signals';
import { parseRoute } from '../routes';

/** The current path. */
export const path = signal(typeof location === 'undefined' ? '/' : location.pathname);
export const route = computed(() => parseRoute(path.value));

/** Goes to `to`: a new history entry, or `replace` the current one (a correction, not a step). */
export function navigate(to: string, replace = false): void {
  if (to !== location.pathname) {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
  }
  path.value = to;
}

if (typeof addEventListener === 'function') addEventListener('popstate', () => (path.value = location.pathname));
