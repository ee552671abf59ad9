// Reconnect delays grow, stay capped and are jittered.

import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, backoffDelay } from '../src/api/backoff';

describe('backoffDelay', () => {
  it('doubles from 500 ms with jitter between half and all of the ceiling', () => {
    expect(backoffDelay(0, 0)).toBe(250);
    expect(backoffDelay(0, 0.999999)).toBe(500);
    expect(backoffDelay(1, 0.5)).toBe(750);
    expect(backoffDelay(3, 1)).toBe(4000);
  });

  it('never exceeds the cap, however many attempts', () => {
    for (const attempt of [5, 10, 50, 1000]) expect(backoffDelay(attempt, 0.999)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(backoffDelay(1000, 0)).toBe(BACKOFF_MAX_MS / 2);
  });
});
