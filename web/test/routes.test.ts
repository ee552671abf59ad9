// The paths the app understands: channels, the settings tabs, invite links, the connection
// test; anything else is the chat.

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
    expect(parseRoute('/settings/account')).toEqual({ page: 'settings', tab: 'account' });
    expect(parseRoute('/connection-test')).toEqual({ page: 'connection-test' });
    expect(parseRoute('/connection-test/')).toEqual({ page: 'connection-test' });
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
