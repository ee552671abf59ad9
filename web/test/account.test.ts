// My account's pure parts: user agents in a few words, last activity in words, this device
// first, and each refused password change shown where it belongs.

import { describe, expect, it } from 'vitest';
import type { LoginSession } from '../src/api/protocol';
import { ApiError } from '../src/api/rest';
import { describeUserAgent, lastActiveText, orderSessions, passwordChangeErrors, passwordMismatch, rateLimitText } from '../src/account';

describe('describeUserAgent', () => {
  it('names the browser and the system of common user agents', () => {
    const cases: [string, string][] = [
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Windows'],
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
      ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari on macOS'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 'Chrome on iOS'],
      ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
      ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 'Firefox on Android'],
      ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on ChromeOS'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', 'Opera on Linux'],
      ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/120.0.0.0 Chrome/120.0.0.0 Safari/537.36', 'Chromium on Linux'],
    ];
    for (const [ua, expected] of cases) expect(describeUserAgent(ua), ua).toBe(expected);
  });

  it('names a browser alone when the system is unknown', () => {
    expect(describeUserAgent('Firefox/133.0')).toBe('Firefox');
  });

  it('shows other clients as sent, shortened, and an empty one as unknown', () => {
    expect(describeUserAgent('curl/8.11.0')).toBe('curl/8.11.0');
    const long = `my-bot/1.0 (${'x'.repeat(100)})`;
    const shown = describeUserAgent(long);
    expect(shown).toHaveLength(60);
    expect(shown.endsWith('…')).toBe(true);
    expect(long.startsWith(shown.slice(0, -1))).toBe(true);
    expect(describeUserAgent('')).toBe('Unknown client');
    expect(describeUserAgent('   ')).toBe('Unknown client');
  });
});

describe('lastActiveText', () => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  const minutes = (n: number) => now - n * 60_000;
  const formatTime = (ms: number) => `at ${new Date(ms).toISOString()}`;

  it('says just now within the minute the server keeps, then minutes, then hours', () => {
    expect(lastActiveText(now, now, formatTime)).toBe('just now');
    expect(lastActiveText(minutes(1.9), now, formatTime)).toBe('just now');
    expect(lastActiveText(minutes(2), now, formatTime)).toBe('2 min ago');
    expect(lastActiveText(minutes(59), now, formatTime)).toBe('59 min ago');
    expect(lastActiveText(minutes(60), now, formatTime)).toBe('1 h ago');
    expect(lastActiveText(minutes(23 * 60 + 59), now, formatTime)).toBe('23 h ago');
  });

  it('gives the date and time from a day on', () => {
    expect(lastActiveText(minutes(24 * 60), now, formatTime)).toBe('at 2026-12-01T12:00:00.000Z');
  });

  it('treats a clock that runs behind the server as now', () => {
    expect(lastActiveText(now + 30_000, now, formatTime)).toBe('just now');
  });
});

describe('orderSessions', () => {
  const session = (id: string, current = false): LoginSession => ({ id, current, created_at: 0, last_used_at: 0, ip: '127.0.0.1', user_agent: '' });

  it('puts this device first and keeps the server’s order for the rest', () => {
    const ordered = orderSessions([session('3'), session('1', true), session('2')]);
    expect(ordered.map((s) => s.id)).toEqual(['1', '3', '2']);
  });
});

describe('password form errors', () => {
  it('asks for matching new passwords before calling the server', () => {
    expect(passwordMismatch('new secret 1', 'new secret 1')).toBeNull();
    expect(passwordMismatch('new secret 1', 'new secret 2')).toEqual({ confirm: 'The new passwords do not match.' });
  });

  it('puts a refused new password under the new password', () => {
    const error = new ApiError(422, { code: 'invalid_password', message: 'Passwords are 8 to 128 characters long.', field: 'new_password' });
    expect(passwordChangeErrors(error)).toEqual({ next: 'Passwords are 8 to 128 characters long.' });
  });

  it('says the current password is wrong under it', () => {
    const error = new ApiError(401, { code: 'invalid_credentials', message: 'Wrong username or password.' });
    expect(passwordChangeErrors(error)).toEqual({ current: 'The current password is wrong.' });
  });

  it('gives the rate limit with the wait the server asked for', () => {
    const error = new ApiError(429, { code: 'rate_limited', message: 'Too many attempts; try again in 42 s.' }, 41_200);
    expect(passwordChangeErrors(error)).toEqual({ form: 'Too many attempts: try again in 42 s.' });
    expect(rateLimitText(90_000)).toBe('Too many attempts: try again in 1 min 30 s.');
    expect(rateLimitText(0)).toBe('Too many attempts: try again in 1 s.');
    expect(rateLimitText(undefined)).toBe('Too many attempts: try again in a minute.');
  });

  it('shows anything else above the button in the server’s words', () => {
    expect(passwordChangeErrors(new ApiError(503, { code: 'unavailable', message: 'The database is not answering.' }))).toEqual({ form: 'The database is not answering.' });
    expect(passwordChangeErrors(new TypeError('boom'))).toEqual({ form: 'Something went wrong.' });
  });
});
