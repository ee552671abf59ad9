// The paths the app understands: channels, the settings tabs, invite links, the connection
// test, the pages mailed links open; anything else is the chat.

import { describe, expect, it } from 'vitest';
import { channelPath, parseRoute, settingsPath } from '../src/routes';

describe('parseRoute', () => {
  it('reads channels, settings tabs and invite links', () => {
    expect(parseRoute('/channels/7531164806213009408')).toEqual({ page: 'chat', channelId: '7531164806213009408' });
    expect(parseRoute('/settings/audit')).toEqual({ page: 'settings', tab: 'audit' });
    expect(parseRoute('/settings/voice')).toEqual({ page: 'settings', tab: 'voice' });
    expect(parseRoute('/settings')).toEqual({ page: 'settings', tab: 'people' });
    expect(parseRoute('/settings/nonsense')).toEqual({ page: 'settings', tab: 'people' });
    expect(parseRoute('/invite/Ab3_x-9QzK1m')).toEqual({ page: 'invite', code: 'Ab3_x-9QzK1m' });
    expect(parseRoute('/invite/a%2Bb')).toEqual({ page: 'invite', code: 'a+b' });
    expect(parseRoute('/settings/connection')).toEqual({ page: 'settings', tab: 'connection' });
    expect(parseRoute('/settings/profile')).toEqual({ page: 'settings', tab: 'profile' });
    expect(parseRoute('/settings/audio')).toEqual({ page: 'settings', tab: 'audio' });
    // My account's old address lands on its first tab.
    expect(parseRoute('/settings/account')).toEqual({ page: 'settings', tab: 'profile' });
    expect(parseRoute('/connection-test')).toEqual({ page: 'connection-test' });
    expect(parseRoute('/connection-test/')).toEqual({ page: 'connection-test' });
  });

  it('reads the token of a mailed link from the query', () => {
    expect(parseRoute('/reset-password?token=abc-DEF_123')).toEqual({ page: 'reset-password', token: 'abc-DEF_123' });
    expect(parseRoute('/verify-email?token=x%2By&utm=1')).toEqual({ page: 'verify-email', token: 'x+y' });
    expect(parseRoute('/reset-password')).toEqual({ page: 'reset-password', token: '' });
    expect(parseRoute('/channels/42?token=abc')).toEqual({ page: 'chat', channelId: '42' });
  });

  it('takes anything else for the chat', () => {
    expect(parseRoute('/')).toEqual({ page: 'chat', channelId: null });
    expect(parseRoute('/channels/abc')).toEqual({ page: 'chat', channelId: null });
    expect(parseRoute('/invite/')).toEqual({ page: 'chat', channelId: null });
  });

  it('round-trips the paths it builds', () => {
    expect(parseRoute(settingsPath('invites'))).toEqual({ page: 'settings', tab: 'invites' });
    expect(parseRoute(channelPath('42'))).toEqual({ page: 'chat', channelId: '42' });
  });
});
