// The address bar as a signal: screens read `route` and move with `navigate`, and the browser's
// back and forward buttons update it too.

import { computed, signal } from '@preact/signals';
import { parseRoute } from '../routes';

/** The address shown now: the path with its query (mailed links carry their token there). */
function shown(): string {
  return typeof location === 'undefined' ? '/' : location.pathname + location.search;
}

/** The current path, with its query. */
export const path = signal(shown());
export const route = computed(() => parseRoute(path.value));

/** Goes to `to`: a new history entry, or `replace` the current one (a correction, not a step). */
export function navigate(to: string, replace = false): void {
  if (to !== shown()) {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
  }
  path.value = to;
}

if (typeof addEventListener === 'function') addEventListener('popstate', () => (path.value = shown()));
