// The pages the address bar can name: a channel (/channels/ID), a settings tab (/settings/TAB:
// the user's own tabs for everyone, the server's for admins only), an invite link
// (/invite/CODE, which opens registration), the connection test (/connection-test, before login
// too), and the two pages mailed links open before login: /reset-password?token=… and
// /verify-email?token=….
// The server answers every such path with the app, so links and reloads land in the same place.

import type { Id } from './api/protocol';

/** The tabs about the user's own account and browser, in the order they are shown; everyone
 * logged in has them. */
export const USER_SETTINGS_TABS = ['profile', 'password', 'sessions', 'audio', 'notifications', 'appearance', 'connection'] as const;

/** The tabs of the server's settings, for admins, in the order they are shown. */
export const SERVER_SETTINGS_TABS = ['people', 'invites', 'channels', 'audit', 'voice'] as const;

export const SETTINGS_TABS = [...SERVER_SETTINGS_TABS, ...USER_SETTINGS_TABS] as const;
export type SettingsTab = (typeof SETTINGS_TABS)[number];

/** The settings tabs members get too (everyone logged in has them). */
export const MEMBER_SETTINGS_TABS: readonly SettingsTab[] = USER_SETTINGS_TABS;

/** Addresses of tabs that were renamed, so old links and bookmarks still land. */
const OLD_TABS: Record<string, SettingsTab> = { account: 'profile' };

export type Route =
  | { page: 'chat'; channelId: Id | null }
  | { page: 'settings'; tab: SettingsTab }
  | { page: 'invite'; code: string }
  | { page: 'connection-test' }
  | { page: 'reset-password'; token: string }
  | { page: 'verify-email'; token: string };

/** What a path (with its query, if any) shows; anything unknown is the chat. */
export function parseRoute(address: string): Route {
  const [pathname, query = ''] = address.split('?', 2);
  const channel = /^\/channels\/(\d+)\/?$/.exec(pathname);
  if (channel) return { page: 'chat', channelId: channel[1] };
  const settings = /^\/settings(?:\/([^/]*))?\/?$/.exec(pathname);
  if (settings) {
    const tab = SETTINGS_TABS.find((t) => t === settings[1]) ?? OLD_TABS[settings[1] ?? ''] ?? 'people';
    return { page: 'settings', tab };
  }
  if (/^\/connection-test\/?$/.test(pathname)) return { page: 'connection-test' };
  const mailed = /^\/(reset-password|verify-email)\/?$/.exec(pathname);
  if (mailed) return { page: mailed[1] as 'reset-password' | 'verify-email', token: new URLSearchParams(query).get('token') ?? '' };
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
