// The Voice & relay tab's pure parts: the TURN provider form as the settings fill it in, the
// request built from it (URLs one per line, secrets only when typed), which configuration keys
// lock it, and whether a test passed.

import type { IceSettingsChange, IceSettingsView, IceTestResult } from '../../api/protocol';

/** The providers an admin can pick, with their labels. */
export const ICE_PROVIDERS: { value: string; label: string }[] = [
  { value: 'builtin', label: 'Built-in relay' },
  { value: 'coturn', label: 'coturn' },
  { value: 'metered', label: 'Metered' },
  { value: 'none', label: 'STUN only' },
];

/** The form's fields as typed: URLs as text, one per line; secrets empty until typed. */
export interface IceForm {
  provider: string;
  urls: string;
  stunUrls: string;
  secret: string;
  meteredApiUrl: string;
  meteredApiKey: string;
}

/** The form for the settings in effect; secrets stay empty (the server never shows them). */
export function iceFormFrom(ice: IceSettingsView): IceForm {
  return {
    provider: ice.provider || 'builtin',
    urls: ice.urls.join('\n'),
    stunUrls: ice.stun_urls.join('\n'),
    secret: '',
    meteredApiUrl: ice.metered_api_url,
    meteredApiKey: '',
  };
}

/** The non-empty lines of `text`, trimmed. */
export function splitLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The request for the form: every field, except secrets that were not typed (the server keeps
 * the ones it has). */
export function iceRequest(form: IceForm): IceSettingsChange {
  const request: IceSettingsChange = {
    provider: form.provider,
    urls: splitLines(form.urls),
    stun_urls: splitLines(form.stunUrls),
    metered_api_url: form.meteredApiUrl.trim(),
  };
  if (form.secret !== '') request.secret = form.secret;
  if (form.meteredApiKey !== '') request.metered_api_key = form.meteredApiKey;
  return request;
}

/** The `turn.*` keys the configuration sets, with where, which make the form read-only. */
export function iceLocks(locked: Record<string, string>): [key: string, where: string][] {
  return Object.entries(locked)
    .filter(([key]) => key.startsWith('turn.'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether every check of a test passed. */
export function testPassed(result: IceTestResult): boolean {
  return result.ok && result.checks.every((check) => check.ok);
}
