// The chat state and its pure reducer: every gateway event and local action becomes a new state.
// Pure so it can be tested without a browser, and so a replayed or repeated event is harmless.

import { compareIds, type Channel, type GatewayEvent, type Id, type Message, type User, type VoiceStateUpdate } from '../api/protocol';

/** Who is typing in one channel, by user id. */
export type TypingByUser = Record<Id, { username: string; expiresAt: number }>;

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
}

/** Actions that do not come from the gateway. */
export type LocalAction =
  | { t: 'users_loaded'; d: User[] }
  /** A page of history: the latest page replaces what was loaded (no gaps after a reconnect);
   * an older page is merged in front. */
  | { t: 'history_loaded'; d: { channelId: Id; page: Message[]; limit: number; replace: boolean } }
  | { t: 'channel_opened'; d: { channelId: Id } }
  | { t: 'typing_expired'; d: { now: number } }
  | { t: 'message_upserted'; d: Message };

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
};

/** Text channels first, then by name without case, as the server lists them. */
export function sortChannels(channels: Channel[]): Channel[] {
  return [...channels].sort((a, b) =>
    a.kind !== b.kind ? (a.kind === 'text' ? -1 : 1) : a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
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

function upsertMessage(state: ChatState, message: Message, isNew: boolean): ChatState {
  const channelId = message.channel_id;
  const loaded = state.messages[channelId];
  const messages = loaded ? { ...state.messages, [channelId]: mergeMessages(loaded, [message]) } : state.messages;
  const fromMe = state.me?.id === message.author.id;
  const unread = isNew && !fromMe && state.current !== channelId ? { ...state.unread, [channelId]: true as const } : state.unread;
  const typing = isNew ? stopTyping(state.typing, channelId, message.author.id) : state.typing;
  const users = state.users[message.author.id]
    ? state.users
    : { ...state.users, [message.author.id]: { id: message.author.id, username: message.author.username, admin: false } };
  return { ...state, messages, unread, typing, users };
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
    case 'voice_signal':
    case 'voice_session_replaced':
      return state;
    case 'users_loaded':
      return { ...state, users: Object.fromEntries(action.d.map((u) => [u.id, u])) };
    case 'history_loaded': {
      const { channelId, page, limit, replace } = action.d;
      const merged = mergeMessages(replace ? [] : (state.messages[channelId] ?? []), page);
      return {
        ...state,
        messages: { ...state.messages, [channelId]: merged },
        hasOlder: { ...state.hasOlder, [channelId]: page.length >= limit },
      };
    }
    case 'channel_opened':
      return { ...state, current: action.d.channelId, unread: without(state.unread, action.d.channelId) };
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
