// REST client: typed calls under /api/v1 that throw ApiError with the server's code and field.
// The browser authenticates with the HttpOnly session cookie, so no token is ever held in JS.

import type {
  AdminUser,
  AdminUserChange,
  AuditEntry,
  AuthOptions,
  AuthResponse,
  Channel,
  ChannelChange,
  ChannelKind,
  ErrorBody,
  IceSettingsChange,
  IceTestResult,
  Id,
  Invite,
  LoginSession,
  Me,
  MeChange,
  Message,
  Preferences,
  ServerSettings,
  User,
  VerificationSent,
  VoiceServerSettings,
  VoiceSettingsChange,
} from './protocol';

/** The largest avatar the server takes. */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

/** The avatar sizes the server renders, in pixels. */
export type AvatarSize = 32 | 128;

/** Where someone's avatar image is. The version in the query changes with every upload, which
 * is what lets the server tell browsers to keep the image for good. */
export function avatarUrl(userId: Id, avatar: string, size: AvatarSize, base = '/api/v1'): string {
  return `${base}/users/${userId}/avatar?size=${size}&v=${encodeURIComponent(avatar)}`;
}

/** A failed call: HTTP status plus the server's typed error. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  /** How long the server asked us to wait before trying again (`Retry-After`), if it said. */
  readonly retryAfterMs?: number;

  constructor(status: number, body: ErrorBody, retryAfterMs?: number) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.retryAfterMs = retryAfterMs;
  }
}

/** `Retry-After` as milliseconds from `now`: either delay-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type Fetch = typeof fetch;

/** Calls the REST API with JSON bodies and same-origin cookies. */
export class Api {
  private readonly fetch: Fetch;
  private readonly base: string;

  constructor(fetchImpl: Fetch = globalThis.fetch.bind(globalThis), base = '/api/v1') {
    this.fetch = fetchImpl;
    this.base = base;
  }

  /** Calls the API with `body` as JSON, or as it is when it is a file (a Blob). */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const raw = typeof Blob !== 'undefined' && body instanceof Blob;
    let response: Response;
    try {
      response = await this.fetch(this.base + path, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'Content-Type': raw ? body.type || 'application/octet-stream' : 'application/json' },
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
        signal,
      });
    } catch {
      throw new ApiError(0, { code: 'network', message: 'Cannot reach the server.' });
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: ErrorBody } | undefined)?.error;
      throw new ApiError(
        response.status,
        error ?? { code: 'http_' + response.status, message: `The server answered ${response.status}.` },
        parseRetryAfter(response.headers.get('Retry-After')),
      );
    }
    return parsed as T;
  }

  /** Registers; `invite` is the code from an invite link, needed while registration is `invite`.
   * A server that confirms addresses first answers without a session (`VerificationSent`). */
  register(username: string, password: string, email?: string, invite?: string): Promise<AuthResponse | VerificationSent> {
    return this.request('POST', '/auth/register', { username, password, ...(email ? { email } : {}), ...(invite ? { invite } : {}) });
  }

  /** What the server offers before login: password reset by mail, required email confirmation. */
  authOptions(): Promise<AuthOptions> {
    return this.request('GET', '/auth/options');
  }

  /** Mails a reset link to the account with this address, if there is one (the answer is the
   * same either way, so nobody learns which addresses have accounts). */
  requestPasswordReset(email: string): Promise<void> {
    return this.request('POST', '/auth/password-reset', { email });
  }

  /** Sets a new password with the token from a reset link. */
  confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    return this.request('POST', '/auth/password-reset/confirm', { token, new_password: newPassword });
  }

  /** Confirms an address with the token from a verification link. */
  verifyEmail(token: string): Promise<void> {
    return this.request('POST', '/auth/verify-email', { token });
  }

  /** Mails the verification link again. */
  resendVerification(email: string): Promise<void> {
    return this.request('POST', '/auth/verify-email/resend', { email });
  }

  login(username: string, password: string): Promise<AuthResponse> {
    return this.request('POST', '/auth/login', { username, password });
  }

  logout(): Promise<void> {
    return this.request('POST', '/auth/logout');
  }

  me(): Promise<Me> {
    return this.request('GET', '/users/@me');
  }

  users(): Promise<User[]> {
    return this.request('GET', '/users');
  }

  // The caller's own account.

  /** Changes the username, email or display name (`null` removes the last two). */
  updateMe(change: MeChange): Promise<Me> {
    return this.request('PATCH', '/users/@me', change);
  }

  /** Deletes the account for good (its messages stay, by "Deleted user"); the session ends. */
  deleteAccount(password: string): Promise<void> {
    return this.request('DELETE', '/users/@me', { password });
  }

  /** Uploads an image file as the avatar, as the raw request body. */
  uploadAvatar(image: Blob): Promise<Me> {
    return this.request('PUT', '/users/@me/avatar', image);
  }

  removeAvatar(): Promise<Me> {
    return this.request('DELETE', '/users/@me/avatar');
  }

  preferences(): Promise<Preferences> {
    return this.request('GET', '/users/@me/preferences');
  }

  /** Changes some preferences; the answer is all of them. */
  updatePreferences(change: Partial<Preferences>): Promise<Preferences> {
    return this.request('PUT', '/users/@me/preferences', change);
  }

  /** Changes the caller's password; every other session of the account ends, this one stays. */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.request('POST', '/users/@me/password', { current_password: currentPassword, new_password: newPassword });
  }

  /** Where the account is logged in, most recently used first. */
  sessions(): Promise<LoginSession[]> {
    return this.request('GET', '/users/@me/sessions');
  }

  /** Logs out one of the account's sessions (its gateway connections close with 4011). */
  endSession(sessionId: Id): Promise<void> {
    return this.request('DELETE', `/users/@me/sessions/${sessionId}`);
  }

  /** Logs out every session of the account but this one. */
  endOtherSessions(): Promise<void> {
    return this.request('DELETE', '/users/@me/sessions');
  }

  createChannel(name: string, kind: ChannelKind, isPrivate: boolean): Promise<Channel> {
    return this.request('POST', '/channels', { name, kind, private: isPrivate });
  }

  /** Changes a channel (admins): name, privacy, who may post, position, slow mode. */
  updateChannel(channelId: Id, change: ChannelChange): Promise<Channel> {
    return this.request('PATCH', `/channels/${channelId}`, change);
  }

  /** Newest first, as the server returns them. */
  history(channelId: Id, before?: Id, limit = 50): Promise<Message[]> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', before);
    return this.request('GET', `/channels/${channelId}/messages?${query}`);
  }

  /** Posts a message. With a `nonce`, a repeat of the same send returns the first message
   * instead of posting again, so a send whose answer was lost can be retried safely. */
  post(channelId: Id, content: string, nonce?: string, signal?: AbortSignal): Promise<Message> {
    return this.request('POST', `/channels/${channelId}/messages`, nonce === undefined ? { content } : { content, nonce }, signal);
  }

  edit(channelId: Id, messageId: Id, content: string): Promise<Message> {
    return this.request('PATCH', `/channels/${channelId}/messages/${messageId}`, { content });
  }

  remove(channelId: Id, messageId: Id): Promise<void> {
    return this.request('DELETE', `/channels/${channelId}/messages/${messageId}`);
  }

  // Server settings and invites.

  settings(): Promise<ServerSettings> {
    return this.request('GET', '/settings');
  }

  updateSettings(change: Partial<Pick<ServerSettings, 'registration' | 'members_can_invite'>>): Promise<ServerSettings> {
    return this.request('PATCH', '/settings', change);
  }

  /** Newest first. */
  invites(): Promise<Invite[]> {
    return this.request('GET', '/invites');
  }

  /** Without limits the invite works until deleted. */
  createInvite(limits: { max_uses?: number; expires_in_secs?: number }): Promise<Invite> {
    return this.request('POST', '/invites', limits);
  }

  deleteInvite(code: string): Promise<void> {
    return this.request('DELETE', `/invites/${encodeURIComponent(code)}`);
  }

  // People and moderation (admins).

  adminUsers(): Promise<AdminUser[]> {
    return this.request('GET', '/admin/users');
  }

  createAccount(account: { username: string; password: string; email?: string; admin: boolean }): Promise<AdminUser> {
    const { email, ...rest } = account;
    return this.request('POST', '/admin/users', email ? { ...rest, email } : rest);
  }

  /** Promotes, demotes, bans (with a reason and optionally deleting recent messages) or unbans. */
  updateAccount(userId: Id, change: AdminUserChange): Promise<AdminUser> {
    return this.request('PATCH', `/admin/users/${userId}`, change);
  }

  /** Times someone out until `until` (unix ms): they read but do not post, type or speak. */
  timeOut(userId: Id, until: number, reason?: string): Promise<AdminUser> {
    return this.request('POST', `/admin/users/${userId}/timeout`, reason ? { until, reason } : { until });
  }

  endTimeout(userId: Id): Promise<AdminUser> {
    return this.request('DELETE', `/admin/users/${userId}/timeout`);
  }

  /** Sets someone's password; their sessions end. */
  setPassword(userId: Id, password: string): Promise<void> {
    return this.request('POST', `/admin/users/${userId}/password`, { password });
  }

  disconnectFromVoice(userId: Id): Promise<void> {
    return this.request('POST', '/admin/voice/disconnect', { user_id: userId });
  }

  /** Server-mutes someone (`muted`), or lifts it: their client stops sending and cannot unmute. */
  serverMute(userId: Id, muted: boolean): Promise<void> {
    return this.request('POST', '/admin/voice/mute', { user_id: userId, muted });
  }

  /** Newest first; `before` (an entry id) pages back. */
  auditLog(before?: Id, limit = 50): Promise<AuditEntry[]> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', before);
    return this.request('GET', `/admin/audit?${query}`);
  }

  /** The settings with the voice switches, the locked keys and the ICE settings. */
  voiceSettings(): Promise<VoiceServerSettings> {
    return this.request('GET', '/settings');
  }

  /** Turns voice or forced relay on or off, or changes the TURN provider (over what is in effect). */
  updateVoiceSettings(change: VoiceSettingsChange): Promise<VoiceServerSettings> {
    return this.request('PATCH', '/settings', change);
  }

  /** Tries ICE settings (over the running ones) as a browser would, without saving them. */
  testIce(settings: IceSettingsChange): Promise<IceTestResult> {
    return this.request('POST', '/admin/ice/test', settings);
  }
}
