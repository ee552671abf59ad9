// My account's pure parts: a session's client in a few words ("Firefox on Windows") from its
// user agent, how long ago it was last active, the order the sessions are listed in, and where
// a refused password change shows its error.

import type { LoginSession } from './api/protocol';
import { ApiError } from './api/rest';
import { formatWait } from './state/posting';
import { formatTimestamp } from './time';

/** Shown once the server changed the password. */
export const PASSWORD_CHANGED = 'Password changed. You stay logged in here; every other session was logged out.';

/** A user agent that names no browser we know is shown as sent, cut to this many characters. */
export const RAW_USER_AGENT_CHARS = 60;

// Order matters: Edge and Opera also say Chrome, Chrome also says Safari, and an old Chromium
// says Chrome too.
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\bChromium\//, 'Chromium'],
  [/\b(?:HeadlessChrome|Chrome|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

// iPhones say "like Mac OS X" and Android says Linux, so those come first.
const SYSTEMS: [RegExp, string][] = [
  [/\bWindows\b/, 'Windows'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\b(?:Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

const first = (table: [RegExp, string][], text: string) => table.find(([pattern]) => pattern.test(text))?.[1] ?? null;

/** "Chrome on Linux", "Safari on iOS", "Firefox"; anything else as sent, shortened. */
export function describeUserAgent(userAgent: string): string {
  const ua = userAgent.trim();
  if (ua === '') return 'Unknown client';
  const browser = first(BROWSERS, ua);
  if (browser === null) return ua.length > RAW_USER_AGENT_CHARS ? `${ua.slice(0, RAW_USER_AGENT_CHARS - 1)}…` : ua;
  const system = first(SYSTEMS, ua);
  return system === null ? browser : `${browser} on ${system}`;
}

/** "just now", "5 min ago", "3 h ago", then the date and time. The server keeps the last use
 * to the minute, so anything under two minutes is now. */
export function lastActiveText(lastUsedAt: number, now: number, formatTime: (unixMs: number) => string = formatTimestamp): string {
  const minutes = Math.floor((now - lastUsedAt) / 60_000);
  if (minutes < 2) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return formatTime(lastUsedAt);
}

/** This device first, then the others as the server sent them (most recently used first). */
export function orderSessions(sessions: LoginSession[]): LoginSession[] {
  return [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
}

/** Errors of the password form, by field; `form` goes above the button. */
export interface PasswordErrors {
  current?: string;
  next?: string;
  confirm?: string;
  form?: string;
}

/** What the form says before asking the server: the two new passwords must match. */
export function passwordMismatch(next: string, confirm: string): PasswordErrors | null {
  return next === confirm ? null : { confirm: 'The new passwords do not match.' };
}

/** The message for too many attempts, with the wait the server asked for. */
export function rateLimitText(retryAfterMs: number | undefined): string {
  const wait = retryAfterMs === undefined ? 'a minute' : formatWait(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return `Too many attempts: try again in ${wait}.`;
}

/** Where a refused password change shows, and in which words. */
export function passwordChangeErrors(error: unknown): PasswordErrors {
  if (!(error instanceof ApiError)) return { form: 'Something went wrong.' };
  if (error.status === 429) return { form: rateLimitText(error.retryAfterMs) };
  if (error.code === 'invalid_credentials') return { current: 'The current password is wrong.' };
  if (error.field === 'new_password') return { next: error.message };
  if (error.field === 'current_password') return { current: error.message };
  return { form: error.message };
}
