// Wire types of the REST API and gateway, mirroring crates/proto (see docs/protocol.md).

export type Id = string;

export interface User {
  id: Id;
  username: string;
  admin: boolean;
  /** The name to show instead of the username (1–32 characters); absent when unset. */
  display_name?: string;
  /** The avatar's version: it changes with every upload, so image URLs that carry it can be
   * cached for good (see `avatarUrl`); absent without an avatar. */
  avatar?: string;
  /** Present (and true) only for an account that was deleted. */
  deleted?: true;
}

/** The caller's own account (`GET /users/@me`, and what its changes answer). */
export interface Me extends User {
  email: string | null;
  email_verified: boolean;
}

/** What `PATCH /users/@me` changes; fields left out stay, `null` removes. */
export interface MeChange {
  username?: string;
  email?: string | null;
  display_name?: string | null;
}

/** Who wrote a message; a deleted account's messages stay, by `{id, username: "Deleted user", deleted: true}`. */
export interface Author {
  id: Id;
  username: string;
  display_name?: string;
  avatar?: string;
  deleted?: true;
}

/** The user's settings that follow them from device to device (`/users/@me/preferences`). */
export interface Preferences {
  voice_mode: 'vad' | 'ptt';
  /** A `KeyboardEvent.code`, e.g. `KeyV`. */
  ptt_key: string;
  /** 0–100: how quiet a voice still counts as speaking; higher picks up quieter speech. */
  input_sensitivity: number;
  /** Whether a new message in a channel that is not open plays a short sound. */
  notification_sound: boolean;
  theme: 'dark' | 'light';
}

/** What the server can do before login (`GET /auth/options`). */
export interface AuthOptions {
  /** The server can send mail, so "Forgot password?" can mail a link. */
  password_reset: boolean;
  /** Registering needs an email address, confirmed by a mailed link before the first login. */
  email_verification: boolean;
}

/** `POST /auth/register` while email verification is on: no session until the address is confirmed. */
export interface VerificationSent {
  email_verification_sent: true;
}

/** One place the account is logged in (`GET /users/@me/sessions`); tokens are never shown. */
export interface LoginSession {
  id: Id;
  /** The session making the request: this browser. */
  current: boolean;
  /** Unix ms. */
  created_at: number;
  /** Unix ms, kept to the minute. */
  last_used_at: number;
  /** The address it was opened from (a reverse proxy's, behind one). */
  ip: string;
  /** What the client sent as its `User-Agent` (at most 256 characters; may be empty). */
  user_agent: string;
}

export type ChannelKind = 'text' | 'voice';

/** Who may post in a channel: `admins` makes it an announcement channel members only read. */
export type WriteAccess = 'everyone' | 'admins';

export interface Channel {
  id: Id;
  name: string;
  kind: ChannelKind;
  private: boolean;
  write: WriteAccess;
  /** Place in the sidebar among channels of its kind (ascending; ties by name). */
  position: number;
  /** Seconds a member waits between messages here (0: no slow mode; admins are exempt). */
  slowmode_secs: number;
}

/** What `PATCH /channels/{id}` changes; fields left out stay as they are. */
export interface ChannelChange {
  name?: string;
  private?: boolean;
  write?: WriteAccess;
  position?: number;
  slowmode_secs?: number;
}

export interface Message {
  id: Id;
  channel_id: Id;
  author: Author;
  content: string;
  created_at: number;
  edited_at: number | null;
  /** The nonce its sender posted it with, for the ten minutes it identifies the send (absent
   * without one, or once it lapsed): the sender knows its own message by it, whichever of the
   * answer, the event and a history page comes first. */
  nonce?: string;
}

export interface AuthResponse {
  token: string;
  user: User;
}

export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** Who may register: anyone, only with an invite code, or nobody. */
export type Registration = 'open' | 'invite' | 'closed';

/** `GET /settings` (admins). */
export interface ServerSettings {
  registration: Registration;
  registration_open: boolean;
  members_can_invite: boolean;
}

/** An invite code and its limits. */
export interface Invite {
  code: string;
  /** The link to hand out; it opens the registration form with the code filled in. */
  url: string;
  uses: number;
  max_uses: number | null;
  expires_at: number | null;
  creator_id: Id;
  created_at: number;
}

/** An account as admins see it (`GET /admin/users`). */
export interface AdminUser {
  id: Id;
  username: string;
  admin: boolean;
  display_name?: string;
  avatar?: string;
  /** Banned by an admin. */
  disabled: boolean;
  /** Until when the account may read but not post, type or speak; only while that runs. */
  timeout_until: number | null;
  created_at: number;
}

/** `PATCH /admin/users/{id}`. */
export interface AdminUserChange {
  admin?: boolean;
  disabled?: boolean;
  reason?: string;
  /** With a ban: delete the account's messages of the last this many hours (0–168). */
  delete_messages_hours?: number;
}

/** One entry of the audit log (`GET /admin/audit`). */
export interface AuditEntry {
  id: Id;
  at: number;
  actor_id: Id;
  /** e.g. `user.disable`. */
  action: string;
  /** What it was done to: a user id for `user.*` and `voice.*` actions. */
  target: string | null;
  reason: string | null;
  detail: string | null;
}

export interface VoiceStateUpdate {
  user_id: Id;
  channel_id: Id | null;
  session_id?: string;
  muted: boolean;
  deafened: boolean;
  speaking: boolean;
  /** An admin muted them: their client sends nothing and cannot unmute (absent when false). */
  server_muted?: boolean;
}

/** Why the server took this connection out of voice (`voice_disconnected`). */
export type VoiceDisconnectReason = 'moderator' | 'timed_out' | 'voice_disabled';

export interface Ready {
  session_id: string;
  user: User;
  channels: Channel[];
  online_user_ids: Id[];
  voice_states?: VoiceStateUpdate[];
  /** When an admin's timeout of this user ends (unix ms); present only while one runs. */
  timeout_until?: number;
  /** The user's preferences (servers from before they existed leave them out). */
  preferences?: Preferences;
}

export interface TypingStart {
  channel_id: Id;
  user_id: Id;
  username: string;
  expires_at: number;
}

export interface PresenceUpdate {
  user_id: Id;
  status: 'online' | 'offline';
}

/** ICE servers and policy, as `voice_join` and `voice_refresh_ice` reply (`IceServers` in proto). */
export interface IceConfig {
  ice_servers: RTCIceServer[];
  ice_transport_policy: 'all' | 'relay';
  expires_at: number | null;
  ice_degraded: boolean;
}

/** Reply to `voice_join` (`VoiceJoined` in proto). */
export interface JoinReply extends IceConfig {
  channel_id: Id;
  session_id: string;
  participants: { user_id: Id }[];
}

/** Events the gateway dispatches, by frame type. */
export type GatewayEvent =
  | { t: 'ready'; d: Ready }
  | { t: 'message_create'; d: Message }
  | { t: 'message_update'; d: Message }
  | { t: 'message_delete'; d: { id: Id; channel_id: Id } }
  | { t: 'channel_create'; d: Channel }
  | { t: 'channel_update'; d: Channel }
  | { t: 'channel_delete'; d: { id: Id } }
  | { t: 'presence_update'; d: PresenceUpdate }
  | { t: 'typing_start'; d: TypingStart }
  | { t: 'voice_state_update'; d: VoiceStateUpdate }
  | { t: 'voice_signal'; d: { from: Id; signal: unknown } }
  | { t: 'voice_session_replaced'; d: { channel_id: Id } }
  /** An admin took this connection out of voice, timed its user out, or turned voice off. */
  | { t: 'voice_disconnected'; d: { channel_id: Id; reason: VoiceDisconnectReason } }
  /** An admin timed this user out (`until`, unix ms) or lifted the timeout (`null`). */
  | { t: 'timeout_update'; d: { until: number | null } }
  /** Someone changed their username, display name or avatar, or deleted their account. */
  | { t: 'user_update'; d: User }
  /** This user changed their preferences (on any device). */
  | { t: 'preferences_update'; d: Preferences };

/** Any frame the server sends. */
export interface ServerFrame {
  t: string;
  s: number;
  id?: string | number;
  d: unknown;
}

/** Gateway close codes with a meaning for the client. */
export const CloseCode = {
  NotAuthenticated: 4001,
  AuthenticationFailed: 4004,
  HeartbeatTimeout: 4009,
  SlowConsumer: 4010,
  SessionEnded: 4011,
  TooManySessions: 4012,
  AccountDisabled: 4013,
  RoleChanged: 4014,
  RateLimited: 4029,
} as const;

/** Orders decimal id strings numerically without losing precision. */
export function compareIds(a: Id, b: Id): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where calls get their STUN/TURN servers (`turn.provider`): the relay built into the server, an
 * external coturn, Metered's managed TURN, or STUN servers only. */
export type IceProvider = 'builtin' | 'coturn' | 'metered' | 'none';

/** The ICE settings in `GET /settings`; secrets are write-only, shown only as set or not. */
export interface IceSettingsView {
  provider: string;
  urls: string[];
  stun_urls: string[];
  secret_set: boolean;
  metered_api_url: string;
  metered_api_key_set: boolean;
}

/** A change to the ICE settings (`PATCH /settings {ice}`) or a trial (`POST /admin/ice/test`);
 * fields left out keep what is in effect. */
export interface IceSettingsChange {
  provider?: string;
  urls?: string[];
  stun_urls?: string[];
  secret?: string;
  metered_api_url?: string;
  metered_api_key?: string;
}

/** `GET /settings` with the voice switches: `locked` names the settings the server's
 * configuration sets (key → where, e.g. "environment variable CROMULENT_VOICE_FORCE_RELAY"). */
export interface VoiceServerSettings extends ServerSettings {
  voice_enabled: boolean;
  force_relay: boolean;
  locked: Record<string, string>;
  ice: IceSettingsView;
}

/** `PATCH /settings` for the voice switches and the TURN provider. */
export interface VoiceSettingsChange {
  voice_enabled?: boolean;
  force_relay?: boolean;
  ice?: IceSettingsChange;
}

/** One step of `POST /admin/ice/test`: what was tried, whether it worked, and what to do if not. */
export interface IceCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure; null (or absent) when there is nothing to say. */
  hint?: string | null;
}

/** `POST /admin/ice/test`. */
export interface IceTestResult {
  ok: boolean;
  checks: IceCheck[];
}
