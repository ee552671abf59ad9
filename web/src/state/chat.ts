// The chat state and its pure reducer: every gateway event and local action becomes a new state.
// Pure so it can be tested without a browser, and so a replayed or repeated event is harmless.

import { compareIds, type Author, type Channel, type GatewayEvent, type Id, type Message, type User, type VoiceStateUpdate } from '../api/protocol';
import { DELETED_USER } from '../people';

/** Who is typing in one channel, by user id. */
export type TypingByUser = Record<Id, { username: string; expiresAt: number }>;

/** A message the user sent that the server has not confirmed yet. */
export interface PendingMessage {
  /** Sent with every attempt, so a retry of a send that went through is not posted twice. */
  nonce: string;
  channelId: Id;
  content: string;
  /** `sending` until the server answers, however many retries that takes; `failed` when the
   * server refused it for good. */
  status: 'sending' | 'failed';
  /** The server's reason, when `failed`. */
  error: string | null;
}

/** Everything the chat screens show. */
export interface ChatState {
  me: User | null;
  channels: Channel[];
  users: Record<Id, User>;
  online: Record<Id, true>;
  /** Loaded messages per channel, oldest first. */
  messages: Record<Id, Message[]>;
  /** Whether older messages may exist beyond the oldest loaded one. */
  hasOlder: Record<Id, boolean>;
  typing: Record<Id, TypingByUser>;
  unread: Record<Id, true>;
  current: Id | null;
  /** Who is in which voice channel, by user id. */
  voice: Record<Id, VoiceStateUpdate>;
  /** Sends not yet confirmed, in the order the user made them (all channels). */
  pending: PendingMessage[];
  /** Channels whose newest page is being read again, with the ids of the messages that arrived
   * meanwhile: the page may have been read before they were posted, so it must not drop them. */
  refreshing: Record<Id, Id[]>;
}

/** Actions that do not come from the gateway. */
export type LocalAction =
  | { t: 'users_loaded'; d: User[] }
  /** A page of history: the latest page replaces what was loaded (no gaps after a reconnect);
   * an older page is merged in front. */
  | { t: 'history_loaded'; d: { channelId: Id; page: Message[]; limit: number; replace: boolean } }
  /** The newest page of a channel is being read again (see `refreshing`). */
  | { t: 'history_requested'; d: { channelId: Id } }
  /** Reading it failed; nothing will replace the list. */
  | { t: 'history_abandoned'; d: { channelId: Id } }
  | { t: 'channel_opened'; d: { channelId: Id } }
  | { t: 'typing_expired'; d: { now: number } }
  | { t: 'message_upserted'; d: Message }
  /** The user sent a message; it shows as pending until a message with its nonce arrives:
   * the answer (`send_acked`), its `message_create` or a history page, whichever comes first. */
  | { t: 'send_queued'; d: { nonce: string; channelId: Id; content: string } }
  /** The server answered a send with its message. */
  | { t: 'send_acked'; d: { nonce: string; message: Message } }
  /** The server refused a send for a reason a retry will not change. */
  | { t: 'send_failed'; d: { nonce: string; error: string } }
  /** The user asked to try a failed send again. */
  | { t: 'send_retried'; d: { nonce: string } }
  /** The user gave up on a failed send. */
  | { t: 'send_discarded'; d: { nonce: string } };

export type Action = GatewayEvent | LocalAction;

export const emptyChat: ChatState = {
  me: null,
  channels: [],
  users: {},
  online: {},
  messages: {},
  hasOlder: {},
  typing: {},
  unread: {},
  current: null,
  voice: {},
  pending: [],
  refreshing: {},
};

/** Text channels first, then by position, then by name without case, as the server lists them. */
export function sortChannels(channels: Channel[]): Channel[] {
  return [...channels].sort((a, b) =>
    a.kind !== b.kind
      ? a.kind === 'text'
        ? -1
        : 1
      : a.position - b.position || a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
  );
}

/** Merges messages into an ordered, duplicate-free list; later copies win (edits). */
export function mergeMessages(existing: Message[], incoming: Message[]): Message[] {
  const byId = new Map(existing.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}

function firstTextChannel(channels: Channel[]): Id | null {
  return channels.find((c) => c.kind === 'text')?.id ?? null;
}

function without<T>(record: Record<Id, T>, key: Id): Record<Id, T> {
  if (!(key in record)) return record;
  const { [key]: _removed, ...rest } = record;
  return rest;
}

/** Removes one typist, dropping the channel's entry when nobody is left. */
function stopTyping(typing: Record<Id, TypingByUser>, channelId: Id, userId: Id): Record<Id, TypingByUser> {
  const here = typing[channelId];
  if (!here?.[userId]) return typing;
  const rest = without(here, userId);
  return Object.keys(rest).length > 0 ? { ...typing, [channelId]: rest } : without(typing, channelId);
}

/** Drops the pending sends that arrived messages are the copies of: a message of ours carries
 * the nonce of the send that posted it (for as long as it identifies the send), so whichever of
 * the answer, the `message_create` and a history page comes first settles the send, and the list
 * shows the message instead. A refused send is settled too: the message proves an earlier
 * attempt went through. */
function settle(pending: PendingMessage[], me: Id | undefined, arrived: Message[]): PendingMessage[] {
  if (pending.length === 0 || me === undefined) return pending;
  const sent = new Set(arrived.filter((m) => m.nonce !== undefined && m.author.id === me).map((m) => `${m.channel_id}:${m.nonce}`));
  if (sent.size === 0) return pending;
  const left = pending.filter((p) => !sent.has(`${p.channelId}:${p.nonce}`));
  return left.length === pending.length ? pending : left;
}

function updatePending(state: ChatState, nonce: string, change: (p: PendingMessage) => PendingMessage): ChatState {
  if (!state.pending.some((p) => p.nonce === nonce)) return state;
  return { ...state, pending: state.pending.map((p) => (p.nonce === nonce ? change(p) : p)) };
}

function upsertMessage(state: ChatState, message: Message, isNew: boolean): ChatState {
  const channelId = message.channel_id;
  const loaded = state.messages[channelId];
  const messages = loaded ? { ...state.messages, [channelId]: mergeMessages(loaded, [message]) } : state.messages;
  const pending = settle(state.pending, state.me?.id, [message]);
  const fromMe = state.me?.id === message.author.id;
  const unread = isNew && !fromMe && state.current !== channelId ? { ...state.unread, [channelId]: true as const } : state.unread;
  const typing = isNew ? stopTyping(state.typing, channelId, message.author.id) : state.typing;
  // An author the directory does not know yet (it is refreshed when someone comes online) is
  // named from the message meanwhile; a deleted one stays out of it.
  const author = message.author;
  const users =
    state.users[author.id] || author.deleted
      ? state.users
      : { ...state.users, [author.id]: { ...author, admin: false } };
  const arrived = state.refreshing[channelId];
  const refreshing = arrived ? { ...state.refreshing, [channelId]: [...arrived, message.id] } : state.refreshing;
  return { ...state, messages, unread, typing, users, pending, refreshing };
}

/** How messages sign for a user: a deleted account as "Deleted user", with nothing else kept. */
export function authorOf(user: User): Author {
  if (user.deleted) return { id: user.id, username: DELETED_USER, deleted: true };
  const author: Author = { id: user.id, username: user.username };
  if (user.display_name !== undefined) author.display_name = user.display_name;
  if (user.avatar !== undefined) author.avatar = user.avatar;
  return author;
}

/** Someone changed their name or avatar, or deleted their account: the directory, the messages
 * already loaded and, for a deletion, who is online, typing or in voice follow. */
function updateUser(state: ChatState, user: User): ChatState {
  const gone = user.deleted === true;
  const author = authorOf(user);
  let messages = state.messages;
  for (const [channelId, loaded] of Object.entries(state.messages)) {
    if (!loaded.some((m) => m.author.id === user.id)) continue;
    if (messages === state.messages) messages = { ...state.messages };
    messages[channelId] = loaded.map((m) => (m.author.id === user.id ? { ...m, author } : m));
  }
  let typing = state.typing;
  if (gone) for (const channelId of Object.keys(state.typing)) typing = stopTyping(typing, channelId, user.id);
  return {
    ...state,
    // The whole user each time: a display name or avatar it leaves out was removed.
    me: state.me?.id === user.id ? user : state.me,
    users: gone ? without(state.users, user.id) : { ...state.users, [user.id]: user },
    online: gone ? without(state.online, user.id) : state.online,
    voice: gone ? without(state.voice, user.id) : state.voice,
    messages,
    typing,
  };
}

/** A channel's pending sends, in the order the user made them: the list shows them after the
 * loaded messages. */
export function pendingIn(state: ChatState, channelId: Id): PendingMessage[] {
  return state.pending.filter((p) => p.channelId === channelId);
}

/** The oldest send still waiting for the server, from any channel: sends go one at a time, in order. */
export function nextToSend(state: ChatState): PendingMessage | null {
  return state.pending.find((p) => p.status === 'sending') ?? null;
}

/** Applies one event or action. */
export function reduce(state: ChatState, action: Action): ChatState {
  switch (action.t) {
    case 'ready': {
      const channels = sortChannels(action.d.channels);
      const current = channels.some((c) => c.id === state.current && c.kind === 'text') ? state.current : firstTextChannel(channels);
      const visible = new Set(channels.map((c) => c.id));
      const keep = <T,>(record: Record<Id, T>) => Object.fromEntries(Object.entries(record).filter(([id]) => visible.has(id)));
      return {
        ...state,
        me: action.d.user,
        channels,
        current,
        users: { ...state.users, [action.d.user.id]: action.d.user },
        online: Object.fromEntries(action.d.online_user_ids.map((id) => [id, true as const])),
        messages: keep(state.messages),
        hasOlder: keep(state.hasOlder),
        unread: keep(state.unread),
        typing: {},
        voice: Object.fromEntries((action.d.voice_states ?? []).map((v) => [v.user_id, v])),
        // Unconfirmed sends survive a new session; they are retried with the same nonce.
        pending: state.pending.filter((p) => visible.has(p.channelId)),
      };
    }
    case 'message_create':
      return upsertMessage(state, action.d, true);
    case 'message_update':
    case 'message_upserted':
      return upsertMessage(state, action.d, false);
    case 'message_delete': {
      const loaded = state.messages[action.d.channel_id];
      if (!loaded) return state;
      return { ...state, messages: { ...state.messages, [action.d.channel_id]: loaded.filter((m) => m.id !== action.d.id) } };
    }
    case 'channel_create':
    case 'channel_update': {
      const channels = sortChannels([...state.channels.filter((c) => c.id !== action.d.id), action.d]);
      return { ...state, channels, current: state.current ?? firstTextChannel(channels) };
    }
    case 'channel_delete': {
      const channels = state.channels.filter((c) => c.id !== action.d.id);
      const current = state.current === action.d.id ? firstTextChannel(channels) : state.current;
      return {
        ...state,
        channels,
        current,
        messages: without(state.messages, action.d.id),
        hasOlder: without(state.hasOlder, action.d.id),
        unread: without(state.unread, action.d.id),
        typing: without(state.typing, action.d.id),
        voice: Object.fromEntries(Object.entries(state.voice).filter(([, v]) => v.channel_id !== action.d.id)),
        pending: state.pending.filter((p) => p.channelId !== action.d.id),
      };
    }
    case 'presence_update': {
      const online = action.d.status === 'online' ? { ...state.online, [action.d.user_id]: true as const } : without(state.online, action.d.user_id);
      return { ...state, online };
    }
    case 'typing_start': {
      if (action.d.user_id === state.me?.id) return state;
      const here = state.typing[action.d.channel_id] ?? {};
      const entry = { username: action.d.username, expiresAt: action.d.expires_at };
      return { ...state, typing: { ...state.typing, [action.d.channel_id]: { ...here, [action.d.user_id]: entry } } };
    }
    case 'typing_expired': {
      let changed = false;
      const typing: Record<Id, TypingByUser> = {};
      for (const [channelId, users] of Object.entries(state.typing)) {
        const live = Object.fromEntries(Object.entries(users).filter(([, t]) => t.expiresAt > action.d.now));
        if (Object.keys(live).length !== Object.keys(users).length) changed = true;
        if (Object.keys(live).length > 0) typing[channelId] = live;
      }
      return changed ? { ...state, typing } : state;
    }
    case 'voice_state_update':
      return {
        ...state,
        voice: action.d.channel_id === null ? without(state.voice, action.d.user_id) : { ...state.voice, [action.d.user_id]: action.d },
      };
    case 'user_update':
      return updateUser(state, action.d);
    case 'voice_signal':
    case 'voice_session_replaced':
    case 'voice_disconnected':
    case 'timeout_update':
    case 'preferences_update':
      return state;
    case 'users_loaded':
      return { ...state, users: Object.fromEntries(action.d.map((u) => [u.id, u])) };
    case 'history_loaded': {
      const { channelId, page, limit, replace } = action.d;
      const loaded = state.messages[channelId] ?? [];
      // The newest page replaces the list, but keeps what arrived while it was being read.
      const arrived = new Set(state.refreshing[channelId] ?? []);
      const kept = replace ? loaded.filter((m) => arrived.has(m.id)) : loaded;
      return {
        ...state,
        messages: { ...state.messages, [channelId]: mergeMessages(kept, page) },
        hasOlder: { ...state.hasOlder, [channelId]: page.length >= limit },
        pending: settle(state.pending, state.me?.id, page),
        refreshing: replace ? without(state.refreshing, channelId) : state.refreshing,
      };
    }
    case 'history_requested':
      return { ...state, refreshing: { ...state.refreshing, [action.d.channelId]: [] } };
    case 'history_abandoned':
      return { ...state, refreshing: without(state.refreshing, action.d.channelId) };
    case 'channel_opened':
      return { ...state, current: action.d.channelId, unread: without(state.unread, action.d.channelId) };
    case 'send_queued': {
      if (state.pending.some((p) => p.nonce === action.d.nonce)) return state;
      return { ...state, pending: [...state.pending, { ...action.d, status: 'sending', error: null }] };
    }
    case 'send_acked': {
      const { nonce, message } = action.d;
      const pending = state.pending.filter((p) => p.nonce !== nonce);
      const loaded = state.messages[message.channel_id];
      // A copy already in the list (from the event or a history page) is at least as new as the
      // answer, and an unloaded or deleted channel has no list to add it to. The answer adds the
      // message even when its event settled the send already: a history page read before it was
      // posted may have replaced the list since.
      if (!loaded || loaded.some((m) => m.id === message.id)) return pending.length === state.pending.length ? state : { ...state, pending };
      return upsertMessage({ ...state, pending }, message, false);
    }
    case 'send_failed':
      return updatePending(state, action.d.nonce, (p) => ({ ...p, status: 'failed', error: action.d.error }));
    case 'send_retried':
      return updatePending(state, action.d.nonce, (p) => (p.status === 'failed' ? { ...p, status: 'sending', error: null } : p));
    case 'send_discarded':
      // Only a failed send can be discarded: one still sending may already be posted.
      if (!state.pending.some((p) => p.nonce === action.d.nonce && p.status === 'failed')) return state;
      return { ...state, pending: state.pending.filter((p) => p.nonce !== action.d.nonce) };
  }
}

/** "X is typing…" for up to three names, then "Several people are typing…". */
export function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return 'Several people are typing…';
}
