// The Voice & relay tab's pure parts: the TURN form filled in from the settings, the request built
// from it (URLs split by lines and trimmed, secrets only when typed), the configuration keys that
// lock it, and when a test counts as passed.

import { describe, expect, it } from 'vitest';
import type { IceSettingsView } from '../src/api/protocol';
import { type IceForm, iceFormFrom, iceLocks, iceRequest, splitLines, testPassed } from '../src/ui/settings/iceForm';

const coturn: IceSettingsView = {
  provider: 'coturn',
  urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
  stun_urls: ['stun:stun.example.org:3478'],
  secret_set: true,
  metered_api_url: '',
  metered_api_key_set: false,
};

const form = (change: Partial<IceForm>): IceForm => ({ ...iceFormFrom(coturn), ...change });

describe('iceFormFrom', () => {
  it('puts the URLs one per line and leaves the secrets empty even when set', () => {
    expect(iceFormFrom(coturn)).toEqual({
      provider: 'coturn',
      urls: 'turn:turn.example.org:3478?transport=udp\nturns:turn.example.org:5349',
      stunUrls: 'stun:stun.example.org:3478',
      secret: '',
      meteredApiUrl: '',
      meteredApiKey: '',
    });
  });

  it('shows the built-in relay when the server names no provider', () => {
    expect(iceFormFrom({ ...coturn, provider: '' }).provider).toBe('builtin');
  });
});

describe('splitLines', () => {
  it('trims every line and drops blank ones, whatever the line ends', () => {
    expect(splitLines('  turn:a:3478 \r\n\n   \nturn:b:3478\t\n')).toEqual(['turn:a:3478', 'turn:b:3478']);
    expect(splitLines('')).toEqual([]);
  });
});

describe('iceRequest', () => {
  it('omits the secret and the API key when they were not typed, so the server keeps its own', () => {
    const request = iceRequest(form({}));
    expect(request).toEqual({
      provider: 'coturn',
      urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
      stun_urls: ['stun:stun.example.org:3478'],
      metered_api_url: '',
    });
    expect('secret' in request).toBe(false);
    expect('metered_api_key' in request).toBe(false);
  });

  it('sends typed secrets as typed and the URLs trimmed', () => {
    const request = iceRequest(
      form({ provider: 'metered', urls: ' turn:x:1 \n\nturn:y:2 ', secret: ' s3cret', meteredApiUrl: ' https://app.metered.live ', meteredApiKey: 'key' }),
    );
    expect(request).toEqual({
      provider: 'metered',
      urls: ['turn:x:1', 'turn:y:2'],
      stun_urls: ['stun:stun.example.org:3478'],
      secret: ' s3cret',
      metered_api_url: 'https://app.metered.live',
      metered_api_key: 'key',
    });
  });

  it('sends emptied URL lists as empty lists', () => {
    expect(iceRequest(form({ urls: '\n  \n', stunUrls: '' }))).toMatchObject({ urls: [], stun_urls: [] });
  });
});

describe('iceLocks', () => {
  it('lists only the turn.* keys, in order, with where they are set', () => {
    const locked = {
      'voice.force_relay': 'environment variable CROMULENT_VOICE_FORCE_RELAY',
      'turn.urls': 'the configuration file',
      'turn.provider': 'environment variable CROMULENT_TURN_PROVIDER',
    };
    expect(iceLocks(locked)).toEqual([
      ['turn.provider', 'environment variable CROMULENT_TURN_PROVIDER'],
      ['turn.urls', 'the configuration file'],
    ]);
    expect(iceLocks({ 'voice.enabled': 'the command line' })).toEqual([]);
  });
});

describe('testPassed', () => {
  const check = (ok: boolean) => ({ name: 'TURN turn:x:1', ok, detail: '', hint: '' });

  it('needs the server to say ok and every check to pass', () => {
    expect(testPassed({ ok: true, checks: [check(true), check(true)] })).toBe(true);
    expect(testPassed({ ok: true, checks: [check(true), check(false)] })).toBe(false);
    expect(testPassed({ ok: false, checks: [check(true)] })).toBe(false);
  });
});
