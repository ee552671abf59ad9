// The event reducer: ready, messages, channels, presence, typing, unread, history pages and
// pending sends (shown at once, replaced by the server's message, never twice).

import { describe, expect, it } from 'vitest';
import type { Channel, Message, User } from '../src/api/protocol';
import { authorOf, emptyChat, mergeMessages, nextToSend, pendingIn, reduce, typingText, type Action, type ChatState } from '../src/state/chat';

const amy: User = { id: '1', username: 'amy', admin: false };
const rules = { write: 'everyone', position: 0, slowmode_secs: 0 } as const;
const general: Channel = { id: '10', name: 'general', kind: 'text', private: false, ...rules };
const lounge: Channel = { id: '11', name: 'Lounge', kind: 'voice', private: false, ...rules };
const random: Channel = { id: '12', name: 'random', kind: 'text', private: false, ...rules };

function message(id: string, channel = general.id, author: Message['author'] = { id: '2', username: 'bob' }, content = `m${id}`): Message {
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
    const state = run(ready, { t: 'channel_create', d: { id: '13', name: 'Alpha', kind: 'text', private: true, ...rules } }, { t: 'channel_update', d: { ...random, name: 'zed' } });
    expect(state.channels.map((c) => c.name)).toEqual(['Alpha', 'general', 'zed', 'Lounge']);
  });

  it('orders channels of a kind by position, then by name', () => {
    const state = run(ready, { t: 'channel_update', d: { ...random, position: -1 } }, { t: 'channel_update', d: { ...lounge, position: 5 } });
    expect(state.channels.map((c) => c.name)).toEqual(['random', 'general', 'Lounge']);
    const moved = reduce(state, { t: 'channel_update', d: { ...general, position: -2 } });
    expect(moved.channels.map((c) => c.name)).toEqual(['general', 'random', 'Lounge']);
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

  it('keeps the messages that arrived while the newest page was read again, and only those', () => {
    const loaded = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('4'), message('3')], limit: 50, replace: true } });
    const asked = reduce(loaded, { t: 'history_requested', d: { channelId: '10' } });
    // The page was read before message 7 was posted; its event came first.
    const arrived = reduce(asked, { t: 'message_create', d: message('7') });
    const refreshed = reduce(arrived, { t: 'history_loaded', d: { channelId: '10', page: [message('5'), message('4')], limit: 50, replace: true } });
    expect(refreshed.messages['10'].map((m) => m.id)).toEqual(['4', '5', '7']);
    expect(refreshed.refreshing['10']).toBeUndefined();
    // Without a request in flight, the next newest page replaces everything again.
    const later = reduce(refreshed, { t: 'history_loaded', d: { channelId: '10', page: [message('5')], limit: 50, replace: true } });
    expect(later.messages['10'].map((m) => m.id)).toEqual(['5']);
    const failed = reduce(reduce(later, { t: 'history_requested', d: { channelId: '10' } }), { t: 'history_abandoned', d: { channelId: '10' } });
    expect(failed.refreshing).toEqual({});
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

describe('pending sends', () => {
  const me = { id: '1', username: 'amy' };
  /** A message of amy's; with `nonce`, the copy of the send that carried it. */
  const mine = (id: string, content: string, nonce?: string, channel = general.id): Message => ({
    ...message(id, channel, me, content),
    ...(nonce === undefined ? {} : { nonce }),
  });
  const loaded = run(ready, { t: 'history_loaded', d: { channelId: '10', page: [message('5')], limit: 50, replace: true } });
  const queue = (state: ChatState, nonce: string, content: string, channelId = general.id) =>
    reduce(state, { t: 'send_queued', d: { nonce, channelId, content } });
  /** The server's answer to the send that carried the message's nonce. */
  const acked = (state: ChatState, m: Message) => reduce(state, { t: 'send_acked', d: { nonce: m.nonce ?? '', message: m } });
  const created = (state: ChatState, m: Message) => reduce(state, { t: 'message_create', d: m });

  /** Every copy of `content` the list would show: loaded messages, then pending sends. */
  function onScreen(state: ChatState, content: string): string[] {
    const real = (state.messages['10'] ?? []).filter((m) => m.content === content).map((m) => m.id);
    const pending = pendingIn(state, '10')
      .filter((p) => p.content === content)
      .map((p) => `pending:${p.nonce}`);
    return [...real, ...pending];
  }

  it('shows a send at once as pending and replaces it with the message the server answered', () => {
    const queued = queue(loaded, 'n1', 'hello');
    expect(queued.pending).toEqual([{ nonce: 'n1', channelId: '10', content: 'hello', status: 'sending', error: null }]);
    expect(onScreen(queued, 'hello')).toEqual(['pending:n1']);
    const answered = acked(queued, mine('20', 'hello', 'n1'));
    expect(answered.pending).toEqual([]);
    expect(onScreen(answered, 'hello')).toEqual(['20']);
    expect(onScreen(created(answered, mine('20', 'hello', 'n1')), 'hello')).toEqual(['20']);
  });

  it('settles a send by the event that carries its nonce, so the answer after it changes nothing', () => {
    const queued = queue(loaded, 'n1', 'hello');
    const announced = created(queued, mine('20', 'hello', 'n1'));
    expect(announced.pending).toEqual([]);
    expect(onScreen(announced, 'hello')).toEqual(['20']);
    expect(nextToSend(announced)).toBeNull();
    expect(acked(announced, mine('20', 'hello', 'n1'))).toBe(announced);
  });

  it('pairs two sends of the same text with their own messages by nonce, whatever order they arrive in', () => {
    const queued = queue(queue(loaded, 'n1', 'ok'), 'n2', 'ok');
    // The second send's message comes first (say its answer to the first was lost).
    const second = created(queued, mine('21', 'ok', 'n2'));
    expect(second.pending.map((p) => p.nonce)).toEqual(['n1']);
    expect(onScreen(second, 'ok')).toEqual(['21', 'pending:n1']);
    const answered = acked(second, mine('20', 'ok', 'n1'));
    expect(answered.pending).toEqual([]);
    expect(onScreen(answered, 'ok')).toEqual(['20', '21']);
    // Late events and answers for either add nothing.
    const replayed = acked(created(created(answered, mine('20', 'ok', 'n1')), mine('21', 'ok', 'n2')), mine('21', 'ok', 'n2'));
    expect(onScreen(replayed, 'ok')).toEqual(['20', '21']);
  });

  it('leaves a send pending beside a message of mine with the same text but another nonce, or none', () => {
    const queued = queue(loaded, 'n1', 'hi');
    // Sent from another tab, lapsed, someone else's (nonces are per sender), another channel.
    const otherTab = created(queued, mine('20', 'hi', 'n9'));
    const lapsed = created(otherTab, mine('21', 'hi'));
    const theirs = created(lapsed, { ...message('22', '10', { id: '2', username: 'bob' }, 'hi'), nonce: 'n1' });
    const elsewhere = created(theirs, mine('23', 'hi', 'n1', random.id));
    const reloaded = reduce(elsewhere, { t: 'history_loaded', d: { channelId: '10', page: [mine('21', 'hi'), mine('20', 'hi', 'n9')], limit: 50, replace: false } });
    expect(reloaded.pending).toEqual(queued.pending);
    expect(onScreen(reloaded, 'hi')).toEqual(['20', '21', '22', 'pending:n1']);
    const answered = acked(reloaded, mine('24', 'hi', 'n1'));
    expect(onScreen(answered, 'hi')).toEqual(['20', '21', '22', '24']);
  });

  it('settles a send by the history reloaded after a reconnect, when the answer was lost', () => {
    const queued = queue(loaded, 'n1', 'hello');
    const reconnected = reduce(queued, ready);
    expect(reconnected.pending).toHaveLength(1);
    const page = [mine('20', 'hello', 'n1'), message('5')];
    const reloaded = reduce(reconnected, { t: 'history_loaded', d: { channelId: '10', page, limit: 50, replace: true } });
    expect(reloaded.pending).toEqual([]);
    expect(onScreen(reloaded, 'hello')).toEqual(['20']);
    expect(onScreen(acked(reloaded, mine('20', 'hello', 'n1')), 'hello')).toEqual(['20']);
  });

  it('adds the answered message when a page read before it was posted replaced the list since its event', () => {
    const announced = created(queue(loaded, 'n1', 'hello'), mine('20', 'hello', 'n1'));
    const stale = reduce(announced, { t: 'history_loaded', d: { channelId: '10', page: [message('5')], limit: 50, replace: true } });
    expect(onScreen(stale, 'hello')).toEqual([]);
    expect(onScreen(acked(stale, mine('20', 'hello', 'n1')), 'hello')).toEqual(['20']);
  });

  it('keeps an edit that arrived before the answer', () => {
    const announced = created(queue(loaded, 'n1', 'hello'), mine('20', 'hello', 'n1'));
    const edited = reduce(announced, { t: 'message_update', d: { ...mine('20', 'hello again', 'n1'), edited_at: 21 } });
    const answered = acked(edited, mine('20', 'hello', 'n1'));
    expect(answered.messages['10'].find((m) => m.id === '20')?.content).toBe('hello again');
  });

  it('shows a refused send with the reason, and lets it be retried or discarded', () => {
    const failed = reduce(queue(loaded, 'n1', 'hello'), { t: 'send_failed', d: { nonce: 'n1', error: 'Messages are at most 4000 characters long.' } });
    expect(failed.pending).toMatchObject([{ status: 'failed', error: 'Messages are at most 4000 characters long.' }]);
    expect(onScreen(failed, 'hello')).toEqual(['pending:n1']);
    expect(nextToSend(failed)).toBeNull();
    const retried = reduce(failed, { t: 'send_retried', d: { nonce: 'n1' } });
    expect(retried.pending).toMatchObject([{ status: 'sending', error: null }]);
    expect(nextToSend(retried)?.nonce).toBe('n1');
    expect(reduce(retried, { t: 'send_discarded', d: { nonce: 'n1' } })).toBe(retried);
    expect(reduce(failed, { t: 'send_discarded', d: { nonce: 'n1' } }).pending).toEqual([]);
  });

  it('settles a refused send whose message turns up after all: an earlier attempt went through', () => {
    const failed = reduce(queue(loaded, 'n1', 'hello'), { t: 'send_failed', d: { nonce: 'n1', error: 'You cannot post here.' } });
    const found = created(failed, mine('20', 'hello', 'n1'));
    expect(found.pending).toEqual([]);
    expect(onScreen(found, 'hello')).toEqual(['20']);
  });

  it('sends in order across channels and ignores answers for sends it no longer has', () => {
    const queued = queue(queue(loaded, 'n1', 'a', random.id), 'n2', 'b');
    expect(nextToSend(queued)?.nonce).toBe('n1');
    expect(reduce(queued, { t: 'send_queued', d: { nonce: 'n1', channelId: '10', content: 'again' } })).toBe(queued);
    const deleted = reduce(queued, { t: 'channel_delete', d: { id: random.id } });
    expect(deleted.pending.map((p) => p.nonce)).toEqual(['n2']);
    expect(acked(deleted, mine('30', 'a', 'n1', random.id))).toBe(deleted);
    expect(reduce(deleted, { t: 'send_failed', d: { nonce: 'n1', error: 'gone' } })).toBe(deleted);
    const hidden = reduce(deleted, { ...ready, d: { ...(ready.d as object), channels: [random] } } as Action);
    expect(hidden.pending).toEqual([]);
  });
});

describe('user_update', () => {
  const bob: User = { id: '2', username: 'bob', admin: false };
  const loaded = (): ChatState =>
    run(
      ready,
      { t: 'users_loaded', d: [amy, bob] },
      { t: 'history_loaded', d: { channelId: '10', page: [message('5'), message('6', '10', { id: '1', username: 'amy' })], limit: 50, replace: true } },
      { t: 'history_loaded', d: { channelId: '12', page: [message('7', '12', { id: '1', username: 'amy' })], limit: 50, replace: true } },
    );

  it('renames and re-pictures someone in the directory and on the messages already loaded', () => {
    const before = loaded();
    const state = reduce(before, { t: 'user_update', d: { ...bob, display_name: 'Bobby', avatar: 'v2' } });
    expect(state.users['2']).toEqual({ ...bob, display_name: 'Bobby', avatar: 'v2' });
    expect(state.messages['10'].map((m) => m.author)).toEqual([{ id: '2', username: 'bob', display_name: 'Bobby', avatar: 'v2' }, { id: '1', username: 'amy' }]);
    // A channel without their messages keeps its list as it was.
    expect(state.messages['12']).toBe(before.messages['12']);
  });

  it('updates the account itself when it is mine', () => {
    const state = reduce(loaded(), { t: 'user_update', d: { ...amy, username: 'amelia' } });
    expect(state.me?.username).toBe('amelia');
    expect(state.messages['12'][0].author.username).toBe('amelia');
  });

  it('takes a display name or avatar the update leaves out as removed', () => {
    const named = reduce(loaded(), { t: 'user_update', d: { ...amy, display_name: 'Amy', avatar: 'v1' } });
    const plain = reduce(named, { t: 'user_update', d: amy });
    expect(plain.me).toEqual(amy);
    expect(plain.users['1']).toEqual(amy);
    expect(plain.messages['12'][0].author).toEqual({ id: '1', username: 'amy' });
  });

  it('a deleted account leaves the directory, presence, typing and voice; its messages stay, by "Deleted user"', () => {
    const typing: Action = { t: 'typing_start', d: { channel_id: '10', user_id: '2', username: 'bob', expires_at: 10_000 } };
    const voice: Action = { t: 'voice_state_update', d: { user_id: '2', channel_id: '11', muted: false, deafened: false, speaking: false } };
    const state = [typing, voice, { t: 'user_update', d: { ...bob, username: 'Deleted user', deleted: true } } as Action].reduce(reduce, loaded());
    expect(state.users['2']).toBeUndefined();
    expect(state.online['2']).toBeUndefined();
    expect(state.typing).toEqual({});
    expect(state.voice['2']).toBeUndefined();
    expect(state.messages['10'].map((m) => m.id)).toEqual(['5', '6']);
    expect(state.messages['10'][0].author).toEqual({ id: '2', username: 'Deleted user', deleted: true });
  });

  it('does not list the author of a deleted account that a new message carries', () => {
    const state = reduce(run(ready), { t: 'message_create', d: message('9', '10', { id: '3', username: 'Deleted user', deleted: true }) });
    expect(state.users['3']).toBeUndefined();
    const named = reduce(run(ready), { t: 'message_create', d: message('9', '10', { id: '4', username: 'cat', display_name: 'Cat' }) });
    expect(named.users['4']).toEqual({ id: '4', username: 'cat', display_name: 'Cat', admin: false });
  });

  it('signs for a user with only what authors carry', () => {
    expect(authorOf({ id: '2', username: 'bob', admin: true })).toEqual({ id: '2', username: 'bob' });
    expect(authorOf({ id: '2', username: 'bob', admin: false, display_name: 'B', avatar: 'a1' })).toEqual({ id: '2', username: 'bob', display_name: 'B', avatar: 'a1' });
    expect(authorOf({ id: '2', username: 'bob', admin: false, display_name: 'B', deleted: true })).toEqual({ id: '2', username: 'Deleted user', deleted: true });
  });
});
