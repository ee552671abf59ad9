// The pages the address bar can name: a channel (/channels/ID), a tab of the server settings
// (/settings/TAB, admins only but for Test connection and My account), an invite link (/invite/CODE, which
// opens registration) and the connection test (/connection-test, before login too).
// The server answers every such path with the app, so links and reloads land in the same place.

import type { Id } from './api/protocol';

/** The tabs of the server settings, in the order they are shown. */
export const SETTINGS_TABS = ['people', 'invites', 'channels', 'audit', 'voice', 'connection', 'account'] as const;
export type SettingsTab = (typeof SETTINGS_TABS)[number];

/** The settings tabs members get too (everyone logged in has them). */
export const MEMBER_SETTINGS_TABS: readonly SettingsTab[] = ['connection', 'account'];

export type Route =
  | { page: 'chat'; channelId: Id | null }
  | { page: 'settings'; tab: SettingsTab }
  | { page: 'invite'; code: string }
  | { page: 'connection-test' };

/** What a path shows; anything unknown is the chat. */
export function parseRoute(pathname: string): Route {
  const channel = /^\/channels\/(\d+)\/?$/.exec(pathname);
  if (channel) return { page: 'chat', channelId: channel[1] };
  const settings = /^\/settings(?:\/([^/]*))?\/?$/.exec(pathname);
  if (settings) {
    const tab = SETTINGS_TABS.find((t) => t === settings[1]) ?? 'people';
    return { page: 'settings', tab };
  }
  if (/^\/connection-test\/?$/.test(pathname)) return { page: 'connection-test' };
  const invite = /^\/invite\/([^/]+)\/?$/.exec(pathname);
  if (invite) {
    try {
      return { page: 'invite', code: decodeURIComponent(invite[1]) };
    } catch {
      return { page: 'invite', code: invite[1] };
    }
  }
  return { page: 'chat', channelId: null };
}

export function settingsPath(tab: SettingsTab): string {
  return `/settings/${tab}`;
}

export function channelPath(channelId: Id): string {
  return `/channels/${channelId}`;
}
