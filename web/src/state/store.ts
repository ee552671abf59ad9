// The app's live state as signals, and the actions the screens call. Gateway events go through
// the pure reducer in chat.ts; this module adds the effects (REST calls, timers, the gateway,
// the user's preferences applied to the voice engine, the theme and the message sound).

import { computed, effect, signal } from '@preact/signals';
import { Api, ApiError } from '../api/rest';
import { GatewayClient, GatewayError, gatewayUrl, type GatewayStatus } from '../api/gateway';
import type { ChannelChange, ChannelKind, GatewayEvent, Id, Me, Message, Preferences, User } from '../api/protocol';
import { playChime, shouldChime } from '../notificationSound';
import { applyTheme, DEFAULT_PREFERENCES, rememberedTheme, voiceTuning, withDefaults } from '../preferences';
import { emptyChat, nextToSend, reduce, type Action } from './chat';
import { newNonce, Outbox } from './outbox';
import { limitsAfterPost, limitsAfterRefusal, limitsAfterTypingRefused, limitsWithTimeout, noLimits, timeoutWait } from './posting';
import { VoiceEngine, type VoiceView } from '../voice/engine';

/** Messages per history page. */
export const PAGE_SIZE = 50;
/** Typing ops are sent at most this often while someone types. */
export const TYPING_EVERY_MS = 5_000;
/** A send attempt that has not been answered by then is abandoned and retried with the same
 * nonce, so a connection that silently died cannot hold up the queue. */
export const SEND_TIMEOUT_MS = 15_000;

export const api = new Api();
export const chat = signal(emptyChat);
export const connection = signal<GatewayStatus>('connecting');
/** `undefined` while the session is being checked at start-up. */
export const account = signal<User | null | undefined>(undefined);
export const loadingOlder = signal(false);
/** A timeout or slow-mode wait the server told this user about (see posting.ts). */
export const postingLimits = signal(noLimits);
/** The user's preferences, as applied; the defaults (and this browser's last theme) until the
 * server's arrive. */
export const preferences = signal<Preferences>({ ...DEFAULT_PREFERENCES, theme: rememberedTheme() });
/** What the login screen opens with: a notice (a password was reset, the account deleted) and
 * which form; taken, and cleared, by the screen when it appears. */
export const authIntent = signal<{ notice?: string; mode?: 'login' | 'forgot' } | null>(null);

let timeoutTimer: ReturnType<typeof setTimeout> | null = null;

/** Opens the composer again the moment a timeout runs out: the server announces an admin
 * ending it early (`timeout_update`), not its natural end. */
function armTimeoutEnd(): void {
  if (timeoutTimer !== null) clearTimeout(timeoutTimer);
  const wait = timeoutWait(postingLimits.peek(), Date.now());
  timeoutTimer =
    wait === null
      ? null
      : setTimeout(() => {
          timeoutTimer = null;
          const limits = postingLimits.peek();
          // A wait longer than a timer takes is done in steps.
          if (limits.timedOutUntil !== null && limits.timedOutUntil <= Date.now()) postingLimits.value = limitsWithTimeout(limits, null);
          else armTimeoutEnd();
        }, wait);
}

effect(() => {
  void postingLimits.value.timedOutUntil;
  armTimeoutEnd();
});
/** An admin disabled the account while it was open here: the app says so instead of the chat. */
export const accountDisabled = signal(false);

/** The voice engine and what the voice bar shows. */
export const voiceEngine = new VoiceEngine({
  me: () => account.value?.id ?? '',
  request: (op, d) => gateway?.request(op, d) ?? Promise.reject(new Error('Not connected.')),
  changed: (view) => (voiceView.value = view),
});
export const voiceView = signal<VoiceView>(voiceEngine.state);

/** Applies preferences everywhere they matter: the voice engine and the theme (the message
 * sound reads the signal when a message comes). */
function applyPreferences(next: Preferences): void {
  preferences.value = next;
  voiceEngine.setTuning(voiceTuning(next));
  applyTheme(next.theme);
}

applyTheme(preferences.peek().theme);

/** Counts preference saves: only the newest one's answer is applied, so an older answer that
 * comes late cannot undo a later change. */
let preferenceSaves = 0;

/** Changes preferences: applied here at once, then saved; the server tells the user's other
 * sessions (`preferences_update`). A refused save puts back what the server has. */
export async function savePreferences(change: Partial<Preferences>): Promise<void> {
  const save = ++preferenceSaves;
  applyPreferences({ ...preferences.peek(), ...change });
  try {
    const saved = withDefaults(await api.updatePreferences(change));
    if (save === preferenceSaves) applyPreferences(saved);
  } catch (error) {
    if (save === preferenceSaves) void loadPreferences();
    throw error;
  }
}

async function loadPreferences(): Promise<void> {
  const save = preferenceSaves;
  try {
    const loaded = withDefaults(await api.preferences());
    if (save === preferenceSaves) applyPreferences(loaded);
  } catch {
    // Kept as they are; the next `ready` brings them.
  }
}

let lastChimeAt: number | null = null;

/** Plays the message sound when the user wants it and is not looking at the channel. */
function chimeFor(message: Message): void {
  const now = Date.now();
  const chime = shouldChime({
    enabled: preferences.peek().notification_sound,
    authorId: message.author.id,
    channelId: message.channel_id,
    me: account.peek()?.id,
    current: chat.peek().current,
    hidden: typeof document !== 'undefined' && document.hidden,
    now,
    lastChimeAt,
  });
  if (!chime) return;
  lastChimeAt = now;
  playChime();
}

export const currentChannel = computed(() => chat.value.channels.find((c) => c.id === chat.value.current) ?? null);

let gateway: GatewayClient | null = null;
let typingTimer: ReturnType<typeof setInterval> | null = null;
let lastTypingSent = 0;

function dispatch(action: Action): void {
  chat.value = reduce(chat.value, action);
}

const outbox = new Outbox({
  next: () => nextToSend(chat.value),
  post: (p) => api.post(p.channelId, p.content, p.nonce, AbortSignal.timeout(SEND_TIMEOUT_MS)),
  acked: (nonce, message) => {
    dispatch({ t: 'send_acked', d: { nonce, message } });
    const channel = chat.value.channels.find((c) => c.id === message.channel_id);
    postingLimits.value = limitsAfterPost(postingLimits.value, channel, !!account.value?.admin, Date.now());
  },
  failed: (nonce, error, cause) => {
    const channelId = chat.value.pending.find((p) => p.nonce === nonce)?.channelId;
    dispatch({ t: 'send_failed', d: { nonce, error } });
    if (channelId) postingLimits.value = limitsAfterRefusal(postingLimits.value, channelId, cause, Date.now());
  },
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: Math.random,
});

/** Loads the newest page of a channel, replacing what was loaded. */
async function loadLatest(channelId: Id): Promise<void> {
  dispatch({ t: 'history_requested', d: { channelId } });
  let page: Message[];
  try {
    page = await api.history(channelId, undefined, PAGE_SIZE);
  } catch (error) {
    dispatch({ t: 'history_abandoned', d: { channelId } });
    throw error;
  }
  dispatch({ t: 'history_loaded', d: { channelId, page, limit: PAGE_SIZE, replace: true } });
}

let usersInFlight = false;
let usersStale = false;

/** Refreshes the user directory (someone new came online); one request at a time, and one
 * more afterwards if asked again meanwhile, so nobody who appeared mid-request is missed. */
function refreshUsers(): void {
  if (usersInFlight) {
    usersStale = true;
    return;
  }
  usersInFlight = true;
  void api
    .users()
    .then((users) => dispatch({ t: 'users_loaded', d: users }), () => {})
    .finally(() => {
      usersInFlight = false;
      if (usersStale) {
        usersStale = false;
        refreshUsers();
      }
    });
}

function onEvent(event: GatewayEvent): void {
  // Before the dispatch, which may mark the channel read.
  if (event.t === 'message_create') chimeFor(event.d);
  dispatch(event);
  voiceEngine.handleEvent(event.t, event.d as unknown as Record<string, unknown>);
  if (event.t === 'presence_update' && !chat.value.users[event.d.user_id]) refreshUsers();
  // The composer closes and opens as an admin times this user out or lifts it, before any post.
  if (event.t === 'timeout_update') postingLimits.value = limitsWithTimeout(postingLimits.value, event.d.until);
  if (event.t === 'preferences_update') applyPreferences(withDefaults(event.d));
  // The whole user: a display name or avatar left out was removed.
  if (event.t === 'user_update' && event.d.id === account.value?.id && !event.d.deleted) account.value = event.d;
  if (event.t === 'ready') {
    // A fresh session (first connect, resume refused, or new rights after a role change):
    // anything may have been missed, and `ready` says whether a timeout runs.
    account.value = event.d.user;
    postingLimits.value = limitsWithTimeout(postingLimits.value, event.d.timeout_until ?? null);
    if (event.d.preferences) applyPreferences(withDefaults(event.d.preferences));
    else void loadPreferences();
    refreshUsers();
    const current = chat.value.current;
    if (current) void loadLatest(current).catch(() => {});
  }
}

/** Starts the live connection once logged in. */
export function connect(user: User): void {
  account.value = user;
  accountDisabled.value = false;
  gateway?.stop();
  gateway = new GatewayClient(gatewayUrl(location), {
    event: onEvent,
    status: (status) => {
      connection.value = status;
      voiceEngine.setGatewayUp(status === 'connected');
      if (status === 'connected') outbox.reconnected();
    },
    authFailed: () => signOut(false),
    accountDisabled: () => {
      void voiceEngine.leave(false);
      outbox.reset();
      accountDisabled.value = true;
    },
  });
  gateway.start();
  typingTimer ??= setInterval(() => dispatch({ t: 'typing_expired', d: { now: Date.now() } }), 1_000);
}

/** Checks the session cookie at start-up. */
export async function restoreSession(): Promise<void> {
  try {
    connect(await api.me());
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) account.value = null;
    else setTimeout(() => void restoreSession(), 2_000);
  }
}

function signOut(callServer: boolean): void {
  void voiceEngine.leave(false);
  gateway?.stop();
  gateway = null;
  if (callServer) void api.logout().catch(() => {});
  outbox.reset();
  chat.value = emptyChat;
  postingLimits.value = noLimits;
  account.value = null;
}

/** The account's own answer after a change of profile or avatar: shown here at once (the
 * server's `user_update` follows, and changes nothing more). */
export function profileChanged(me: Me): void {
  const user: User = { id: me.id, username: me.username, admin: me.admin };
  if (me.display_name !== undefined) user.display_name = me.display_name;
  if (me.avatar !== undefined) user.avatar = me.avatar;
  account.value = user;
  dispatch({ t: 'user_update', d: user });
}

/** The account was deleted from here: its session is gone, so no logout is needed. */
export function accountDeleted(): void {
  signOut(false);
  authIntent.value = { notice: 'Your account was deleted.' };
}

/** Leaves the "account disabled" screen for the login form. */
export function backToLogin(): void {
  accountDisabled.value = false;
  signOut(false);
}

/** Logs out this browser. */
export function logout(): void {
  signOut(true);
}

/** Opens a channel and loads its history if needed. */
export async function openChannel(channelId: Id): Promise<void> {
  dispatch({ t: 'channel_opened', d: { channelId } });
  if (!chat.value.messages[channelId]) await loadLatest(channelId);
}

/** Loads the page before the oldest loaded message. */
export async function loadOlder(channelId: Id): Promise<void> {
  const loaded = chat.value.messages[channelId];
  if (loadingOlder.value || !loaded?.length || !chat.value.hasOlder[channelId]) return;
  loadingOlder.value = true;
  try {
    const page = await api.history(channelId, loaded[0].id, PAGE_SIZE);
    dispatch({ t: 'history_loaded', d: { channelId, page, limit: PAGE_SIZE, replace: false } });
  } finally {
    loadingOlder.value = false;
  }
}

/** Sends a message: it shows at once as pending and the outbox delivers it, retrying with the
 * same nonce until the server answers. */
export function send(channelId: Id, content: string): void {
  dispatch({ t: 'send_queued', d: { nonce: newNonce(), channelId, content } });
  outbox.kick();
  lastTypingSent = 0;
}

/** Tries a send the server refused once more (the user's call: it may be refused again). */
export function retrySend(nonce: string): void {
  dispatch({ t: 'send_retried', d: { nonce } });
  outbox.kick();
}

/** Drops a send the server refused. */
export function discardSend(nonce: string): void {
  dispatch({ t: 'send_discarded', d: { nonce } });
}

export async function edit(channelId: Id, messageId: Id, content: string): Promise<void> {
  dispatch({ t: 'message_upserted', d: await api.edit(channelId, messageId, content) });
}

export async function remove(channelId: Id, messageId: Id): Promise<void> {
  await api.remove(channelId, messageId);
  dispatch({ t: 'message_delete', d: { id: messageId, channel_id: channelId } });
}

/** Tells others the user types, at most every few seconds. */
export function typing(channelId: Id): void {
  const now = Date.now();
  if (now - lastTypingSent < TYPING_EVERY_MS || connection.value !== 'connected') return;
  lastTypingSent = now;
  void sendTyping(channelId);
}

/** The `typing` op, which the server refuses with `timed_out` during a timeout: a refusal
 * closes the composer too, should the `timeout_update` have been missed. */
async function sendTyping(channelId: Id): Promise<void> {
  try {
    await gateway?.request('typing', { channel_id: channelId });
  } catch (error) {
    if (error instanceof GatewayError) postingLimits.value = limitsAfterTypingRefused(postingLimits.value, error.code, error.message);
  }
}

export async function createChannel(name: string, kind: ChannelKind, isPrivate: boolean): Promise<void> {
  const channel = await api.createChannel(name, kind, isPrivate);
  dispatch({ t: 'channel_create', d: channel });
}

/** Changes a channel's rules or place (admins); everyone else hears it as `channel_update`. */
export async function updateChannel(channelId: Id, change: ChannelChange): Promise<void> {
  dispatch({ t: 'channel_update', d: await api.updateChannel(channelId, change) });
}

export { ApiError };
