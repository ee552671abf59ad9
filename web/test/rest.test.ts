// The REST client turns answers into values and failures into typed ApiErrors.

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
