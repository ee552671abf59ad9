// The REST client turns answers into values and failures into typed ApiErrors, and calls the
// admin, invite, channel-rule, own-account, preference and mailed-link routes as documented;
// an avatar goes as the raw file, not JSON.

import { describe, expect, it } from 'vitest';
import { Api, ApiError, parseRetryAfter } from '../src/api/rest';

function answering(status: number, body: unknown, seen: Request[] = []): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(new Request(new URL(String(input), 'http://test'), init));
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}

describe('Api', () => {
  it('sends JSON with the cookie and returns the parsed body', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(201, { id: '7', content: 'hi' }, seen));
    const message = await api.post('10', 'hi');
    expect(message).toEqual({ id: '7', content: 'hi' });
    expect(seen[0].method).toBe('POST');
    expect(new URL(seen[0].url).pathname).toBe('/api/v1/channels/10/messages');
    expect(seen[0].headers.get('content-type')).toBe('application/json');
    expect(seen[0].credentials).toBe('same-origin');
    expect(await seen[0].json()).toEqual({ content: 'hi' });
  });

  it('sends the nonce with a message when given one', async () => {
    const seen: Request[] = [];
    await new Api(answering(200, { id: '7' }, seen)).post('10', 'hi', 'f00d');
    expect(await seen[0].json()).toEqual({ content: 'hi', nonce: 'f00d' });
  });

  it('reads Retry-After from a rate-limited answer', async () => {
    const limited = (async () =>
      new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'Slow down.' } }), {
        status: 429,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '3' },
      })) as typeof fetch;
    const error = await new Api(limited).post('10', 'hi', 'n').catch((e) => e);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 3000 });
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('Wed, 02 Dec 2026 07:00:10 GMT', Date.parse('Wed, 02 Dec 2026 07:00:00 GMT'))).toBe(10_000);
  });

  it('builds history queries', async () => {
    const seen: Request[] = [];
    await new Api(answering(200, [], seen)).history('10', '99', 25);
    expect(new URL(seen[0].url).search).toBe('?limit=25&before=99');
  });

  it('sends an invite code with a registration only when there is one', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(201, { token: 't', user: { id: '1', username: 'amy', admin: false } }, seen));
    await api.register('amy', 'password1', undefined, 'Ab3_x-9QzK1m');
    await api.register('bob', 'password1');
    expect(await seen[0].json()).toEqual({ username: 'amy', password: 'password1', invite: 'Ab3_x-9QzK1m' });
    expect(await seen[1].json()).toEqual({ username: 'bob', password: 'password1' });
  });

  it('calls the admin routes with the documented methods, paths and bodies', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(200, {}, seen));
    await api.updateAccount('5', { disabled: true, reason: 'spam', delete_messages_hours: 1 });
    await api.timeOut('5', 1_800_000_000_000, 'cool off');
    await api.endTimeout('5');
    await api.auditLog('77', 50);
    await api.updateChannel('10', { write: 'admins', slowmode_secs: 30 });
    await api.createInvite({ max_uses: 1 });
    await api.deleteInvite('Ab3_x-9QzK1m');
    const calls = seen.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`);
    expect(calls).toEqual([
      'PATCH /api/v1/admin/users/5',
      'POST /api/v1/admin/users/5/timeout',
      'DELETE /api/v1/admin/users/5/timeout',
      'GET /api/v1/admin/audit?limit=50&before=77',
      'PATCH /api/v1/channels/10',
      'POST /api/v1/invites',
      'DELETE /api/v1/invites/Ab3_x-9QzK1m',
    ]);
    expect(await seen[0].json()).toEqual({ disabled: true, reason: 'spam', delete_messages_hours: 1 });
    expect(await seen[1].json()).toEqual({ until: 1_800_000_000_000, reason: 'cool off' });
    expect(await seen[4].json()).toEqual({ write: 'admins', slowmode_secs: 30 });
  });

  it('calls the own-account routes with the documented methods, paths and bodies', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(204, undefined, seen));
    await api.changePassword('old secret', 'new secret 123');
    await api.sessions();
    await api.endSession('7531164806213009408');
    await api.endOtherSessions();
    const calls = seen.map((r) => `${r.method} ${new URL(r.url).pathname}`);
    expect(calls).toEqual([
      'POST /api/v1/users/@me/password',
      'GET /api/v1/users/@me/sessions',
      'DELETE /api/v1/users/@me/sessions/7531164806213009408',
      'DELETE /api/v1/users/@me/sessions',
    ]);
    expect(await seen[0].json()).toEqual({ current_password: 'old secret', new_password: 'new secret 123' });
  });

  it('calls the profile, avatar and preference routes, sending the avatar as the raw file', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(200, {}, seen));
    await api.me();
    await api.updateMe({ display_name: null, email: 'amy@example.org' });
    const png = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' });
    await api.uploadAvatar(png);
    await api.removeAvatar();
    await api.deleteAccount('my password');
    await api.preferences();
    await api.updatePreferences({ theme: 'light' });
    const calls = seen.map((r) => `${r.method} ${new URL(r.url).pathname}`);
    expect(calls).toEqual([
      'GET /api/v1/users/@me',
      'PATCH /api/v1/users/@me',
      'PUT /api/v1/users/@me/avatar',
      'DELETE /api/v1/users/@me/avatar',
      'DELETE /api/v1/users/@me',
      'GET /api/v1/users/@me/preferences',
      'PUT /api/v1/users/@me/preferences',
    ]);
    expect(await seen[1].json()).toEqual({ display_name: null, email: 'amy@example.org' });
    expect(seen[2].headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await seen[2].arrayBuffer())]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(await seen[4].json()).toEqual({ password: 'my password' });
    expect(await seen[6].json()).toEqual({ theme: 'light' });
  });

  it('calls the routes before login that mailed links need', async () => {
    const seen: Request[] = [];
    const api = new Api(answering(202, undefined, seen));
    await api.authOptions();
    await api.requestPasswordReset('amy@example.org');
    await api.confirmPasswordReset('tok', 'new secret 123');
    await api.verifyEmail('tok2');
    await api.resendVerification('amy@example.org');
    const calls = seen.map((r) => `${r.method} ${new URL(r.url).pathname}`);
    expect(calls).toEqual([
      'GET /api/v1/auth/options',
      'POST /api/v1/auth/password-reset',
      'POST /api/v1/auth/password-reset/confirm',
      'POST /api/v1/auth/verify-email',
      'POST /api/v1/auth/verify-email/resend',
    ]);
    expect(await seen[2].json()).toEqual({ token: 'tok', new_password: 'new secret 123' });
    expect(await seen[3].json()).toEqual({ token: 'tok2' });
  });

  it('raises the server error with its code and field', async () => {
    const api = new Api(answering(409, { error: { code: 'username_taken', message: 'That username is taken.', field: 'username' } }));
    const error = await api.register('amy', 'password1').catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'username_taken', field: 'username', message: 'That username is taken.' });
  });

  it('treats 204 as no content and odd failures as typed errors', async () => {
    expect(await new Api(answering(204, undefined)).logout()).toBeUndefined();
    const odd = await new Api(answering(502, 'not json')).me().catch((e) => e);
    expect(odd).toMatchObject({ status: 502, code: 'http_502' });
    const down = await new Api((async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch)
      .me()
      .catch((e) => e);
    expect(down).toMatchObject({ status: 0, code: 'network' });
  });
});
