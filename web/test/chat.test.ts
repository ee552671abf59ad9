// The event reducer: ready, messages, channels, presence, typing, unread and history pages.

import { describe, expect, it } from 'vitest';
import type { Channel, Message, User } from '../src/api/protocol';
import { emptyChat, mergeMessages, reduce, typingText, type Action, type ChatState } from '../src/state/chat';

const amy: User = { id: '1', username: 'amy', admin: false };
const general: Channel = { id: '10', name: 'general', kind: 'text', private: false };
const lounge: Channel = { id: '11', name: 'Lounge', kind: 'voice', private: false };
const random: Channel = { id: '12', name: 'random', kind: 'text', private: false };

function message(id: string, channel = general.id, author = { id: '2', username: 'bob' }, content = `m${id}`): Message {
  return { id, channel_id: channel, author, content, created_at: Number(id), edited_at: null };
}

function run(...actions: Action[]): ChatState {
  return actions.reduce(reduce, emptyChat);
}

const ready: Action = { t: 'ready', d: { session_id: 's', user: amy, channels: [lounge, random, general], online_user_ids: ['1', '2'] } };

describe('reduce', () => {
  it('ready sorts channels, opens the first text channel and records presence', () => {
    const state = run(ready);
    expect(state.channels.map((c) => c.name)).toEqual(['general', 'random', 'Lounge']);
    expect(state.current).toBe('10');
    expect(Object.keys(state.online).sort()).toEqual(['1', '2']);
    expect(state.me).toEqual(amy);
  });

  it('appends new messages once, in id order, even when an event repeats', () => {
    const loaded = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('5'), message('3')], limit: 50, replace: true } });
    const state = [message('9'), message('7'), message('9')].reduce((s, m) => reduce(s, { t: 'message_create', d: m }), loaded);
    expect(state.messages['10'].map((m) => m.id)).toEqual(['3', '5', '7', '9']);
    expect(state.hasOlder['10']).toBe(false);
  });

  it('orders ids numerically, not as text', () => {
    expect(mergeMessages([message('9')], [message('10'), message('100')]).map((m) => m.id)).toEqual(['9', '10', '100']);
  });

  it('marks other channels unread and clears that when opened', () => {
    const loaded = run(ready);
    const unread = reduce(loaded, { t: 'message_create', d: message('20', random.id) });
    expect(unread.unread[random.id]).toBe(true);
    const own = reduce(loaded, { t: 'message_create', d: message('21', random.id, { id: '1', username: 'amy' }) });
    expect(own.unread[random.id]).toBeUndefined();
    const here = reduce(loaded, { t: 'message_create', d: message('22', general.id) });
    expect(here.unread[general.id]).toBeUndefined();
    expect(reduce(unread, { t: 'channel_opened', d: { channelId: random.id } }).unread[random.id]).toBeUndefined();
  });

  it('applies edits and deletes to loaded messages', () => {
    const loaded = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('5')], limit: 50, replace: true } });
    const edited = reduce(loaded, { t: 'message_update', d: { ...message('5'), content: 'new', edited_at: 6 } });
    expect(edited.messages['10'][0].content).toBe('new');
    expect(edited.unread['10']).toBeUndefined();
    const deleted = reduce(edited, { t: 'message_delete', d: { id: '5', channel_id: '10' } });
    expect(deleted.messages['10']).toEqual([]);
  });

  it('moves away from a deleted or hidden channel and forgets it', () => {
    const state = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('5')], limit: 50, replace: true } }, { t: 'channel_delete', d: { id: '10' } });
    expect(state.current).toBe('12');
    expect(state.messages['10']).toBeUndefined();
    expect(state.channels.map((c) => c.id)).toEqual(['12', '11']);
  });

  it('adds and renames channels in sorted order', () => {
    const state = run(ready, { t: 'channel_create', d: { id: '13', name: 'Alpha', kind: 'text', private: true } }, { t: 'channel_update', d: { ...random, name: 'zed' } });
    expect(state.channels.map((c) => c.name)).toEqual(['Alpha', 'general', 'zed', 'Lounge']);
  });

  it('tracks presence', () => {
    const state = run(ready, { t: 'presence_update', d: { user_id: '2', status: 'offline' } }, { t: 'presence_update', d: { user_id: '3', status: 'online' } });
    expect(Object.keys(state.online).sort()).toEqual(['1', '3']);
  });

  it('shows others typing until expiry or their message, never oneself', () => {
    const typing = run(
      ready,
      { t: 'typing_start', d: { channel_id: '10', user_id: '2', username: 'bob', expires_at: 1000 } },
      { t: 'typing_start', d: { channel_id: '10', user_id: '3', username: 'cy', expires_at: 2000 } },
      { t: 'typing_start', d: { channel_id: '10', user_id: '1', username: 'amy', expires_at: 2000 } },
    );
    expect(Object.keys(typing.typing['10']).sort()).toEqual(['2', '3']);
    const expired = reduce(typing, { t: 'typing_expired', d: { now: 1500 } });
    expect(Object.keys(expired.typing['10'])).toEqual(['3']);
    const posted = reduce(expired, { t: 'message_create', d: message('30', '10', { id: '3', username: 'cy' }) });
    expect(posted.typing['10']).toBeUndefined();
    expect(reduce(posted, { t: 'typing_expired', d: { now: 1700 } })).toBe(posted);
  });

  it('replaces the latest page after a fresh session so no gap remains, and merges older pages', () => {
    const first = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('5'), message('4')], limit: 2, replace: true } });
    expect(first.hasOlder['10']).toBe(true);
    const older = reduce(first, { t: 'history_loaded', d: { channelId: '10', page: [message('3')], limit: 2, replace: false } });
    expect(older.messages['10'].map((m) => m.id)).toEqual(['3', '4', '5']);
    expect(older.hasOlder['10']).toBe(false);
    const refreshed = reduce(older, { t: 'history_loaded', d: { channelId: '10', page: [message('9'), message('8')], limit: 2, replace: true } });
    expect(refreshed.messages['10'].map((m) => m.id)).toEqual(['8', '9']);
  });
});

describe('typingText', () => {
  it('names up to three people', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['a'])).toBe('a is typing…');
    expect(typingText(['a', 'b'])).toBe('a and b are typing…');
    expect(typingText(['a', 'b', 'c'])).toBe('a, b and c are typing…');
    expect(typingText(['a', 'b', 'c', 'd'])).toBe('Several people are typing…');
  });
});
