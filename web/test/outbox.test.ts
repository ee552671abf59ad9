// The outbox against a scripted server and clock: one send at a time in order, retries with the
// same nonce after a backoff or a reconnect, Retry-After honoured, refusals marked failed.

import { beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../src/api/protocol';
import { ApiError } from '../src/api/rest';
import { emptyChat, nextToSend, reduce, type Action, type ChatState, type PendingMessage } from '../src/state/chat';
import { classifySendFailure, newNonce, Outbox } from '../src/state/outbox';

interface Attempt {
  nonce: string;
  content: string;
  answer(message: Message): Promise<void>;
  fail(error: ApiError): Promise<void>;
}

interface Timer {
  fn: () => void;
  ms: number;
  cleared: boolean;
}

let state: ChatState;
let attempts: Attempt[];
let timers: Timer[];
let outbox: Outbox;

const flush = () => new Promise<void>((done) => setTimeout(done, 0));
const dispatch = (action: Action) => (state = reduce(state, action));
const unreachable = () => new ApiError(0, { code: 'network', message: 'Cannot reach the server.' });
/** Timers neither cleared nor fired yet. */
const live = () => timers.filter((t) => !t.cleared);
const fire = (timer: Timer) => {
  timer.cleared = true;
  timer.fn();
};

function queue(nonce: string, content: string) {
  dispatch({ t: 'send_queued', d: { nonce, channelId: '10', content } });
  outbox.kick();
}

function messageFor(attempt: Attempt, id: string): Message {
  return { id, channel_id: '10', author: { id: '1', username: 'amy' }, content: attempt.content, created_at: 1, edited_at: null, nonce: attempt.nonce };
}

beforeEach(() => {
  state = reduce(emptyChat, {
    t: 'ready',
    d: { session_id: 's', user: { id: '1', username: 'amy', admin: false }, channels: [{ id: '10', name: 'general', kind: 'text', private: false, write: 'everyone', position: 0, slowmode_secs: 0 }], online_user_ids: [] },
  });
  attempts = [];
  timers = [];
  outbox = new Outbox({
    next: () => nextToSend(state),
    post: (p: PendingMessage) =>
      new Promise<Message>((resolve, reject) => {
        attempts.push({
          nonce: p.nonce,
          content: p.content,
          answer: (m) => (resolve(m), flush()),
          fail: (e) => (reject(e), flush()),
        });
      }),
    acked: (nonce, message) => dispatch({ t: 'send_acked', d: { nonce, message } }),
    failed: (nonce, error) => dispatch({ t: 'send_failed', d: { nonce, error } }),
    setTimeout: (fn, ms) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => ((handle as Timer).cleared = true),
    random: () => 0,
  });
});

describe('classifySendFailure', () => {
  it('retries what may succeed later and gives up on what the server will refuse again', () => {
    expect(classifySendFailure(unreachable())).toEqual({ retry: true, afterMs: null });
    expect(classifySendFailure(new ApiError(503, { code: 'unavailable', message: 'down' }))).toEqual({ retry: true, afterMs: null });
    expect(classifySendFailure(new ApiError(500, { code: 'internal', message: 'oops' }))).toEqual({ retry: true, afterMs: null });
    expect(classifySendFailure(new ApiError(429, { code: 'rate_limited', message: 'slow down' }, 3000))).toEqual({ retry: true, afterMs: 3000 });
    const tooLong = new ApiError(422, { code: 'message_too_long', message: 'Messages are at most 4000 characters long.' });
    expect(classifySendFailure(tooLong)).toEqual({ retry: false, message: 'Messages are at most 4000 characters long.' });
    expect(classifySendFailure(new ApiError(403, { code: 'forbidden', message: 'No.' }))).toEqual({ retry: false, message: 'No.' });
    expect(classifySendFailure(new ApiError(404, { code: 'not_found', message: 'Channel not found.' }))).toMatchObject({ retry: false });
    expect(classifySendFailure(new TypeError('bug'))).toMatchObject({ retry: false });
  });

  it('gives up on posting rules, in words people use, instead of waiting or retrying', () => {
    const slowmode = new ApiError(429, { code: 'slowmode', message: 'Slow mode.' }, 8000);
    expect(classifySendFailure(slowmode)).toEqual({ retry: false, message: 'Slow mode: wait 8 s before posting again.' });
    const readOnly = new ApiError(403, { code: 'read_only', message: 'Only admins post in this channel.' });
    expect(classifySendFailure(readOnly)).toEqual({ retry: false, message: 'Only admins can post in this channel.' });
    const timedOut = new ApiError(403, { code: 'timed_out', message: 'An admin timed you out; you can read but not post, type or speak until 1795569827762 (unix ms).' });
    expect(classifySendFailure(timedOut)).toMatchObject({ retry: false, message: expect.stringMatching(/^You are timed out until .+\.$/) });
  });
});

describe('newNonce', () => {
  it('is 32 hex digits, within the server limit of 64, and different every time', () => {
    const nonces = Array.from({ length: 100 }, newNonce);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(100);
  });
});

describe('Outbox', () => {
  it('sends one message at a time, in the order they were sent', async () => {
    queue('n1', 'first');
    queue('n2', 'second');
    expect(attempts.map((a) => a.nonce)).toEqual(['n1']);
    await attempts[0].answer(messageFor(attempts[0], '20'));
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n2']);
    await attempts[1].answer(messageFor(attempts[1], '21'));
    expect(state.pending).toEqual([]);
    expect(timers).toEqual([]);
  });

  it('keeps an unreachable send pending and retries it with the same nonce after a backoff', async () => {
    queue('n1', 'hello');
    await attempts[0].fail(unreachable());
    expect(state.pending).toMatchObject([{ nonce: 'n1', status: 'sending' }]);
    expect(live().map((t) => t.ms)).toEqual([250]);
    fire(live()[0]);
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n1']);
    await attempts[1].fail(new ApiError(503, { code: 'unavailable', message: 'down' }));
    expect(live().map((t) => t.ms)).toEqual([500]);
  });

  it('retries at once when the gateway reconnects, instead of waiting out the backoff', async () => {
    queue('n1', 'hello');
    queue('n2', 'later');
    await attempts[0].fail(unreachable());
    outbox.kick();
    expect(attempts).toHaveLength(1);
    outbox.reconnected();
    expect(live()).toEqual([]);
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n1']);
    await attempts[1].answer(messageFor(attempts[1], '20'));
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n1', 'n2']);
  });

  it('does not send again what its event settled while a retry waited, and goes on with the next', async () => {
    queue('n1', 'hello');
    queue('n2', 'later');
    // The attempt went through but its answer was lost; the event brings the message.
    await attempts[0].fail(unreachable());
    dispatch({ t: 'message_create', d: messageFor(attempts[0], '20') });
    expect(state.pending.map((p) => p.nonce)).toEqual(['n2']);
    fire(live()[0]);
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n2']);
    await attempts[1].answer(messageFor(attempts[1], '21'));
    expect(state.pending).toEqual([]);
  });

  it('waits out Retry-After on rate_limited, even across a reconnect', async () => {
    queue('n1', 'hello');
    await attempts[0].fail(new ApiError(429, { code: 'rate_limited', message: 'Too many attempts; try again in 2 s.' }, 2000));
    expect(state.pending).toMatchObject([{ status: 'sending' }]);
    outbox.reconnected();
    expect(attempts).toHaveLength(1);
    expect(live().map((t) => t.ms)).toEqual([2000]);
    fire(live()[0]);
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n1']);
  });

  it('marks a refused send failed with the server message and goes on with the next', async () => {
    queue('n1', 'x'.repeat(4001));
    queue('n2', 'fine');
    await attempts[0].fail(new ApiError(422, { code: 'message_too_long', message: 'Messages are at most 4000 characters long.' }));
    expect(state.pending).toMatchObject([
      { nonce: 'n1', status: 'failed', error: 'Messages are at most 4000 characters long.' },
      { nonce: 'n2', status: 'sending' },
    ]);
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n2']);
    expect(timers).toEqual([]);
  });

  it('ignores answers to attempts made before a reset', async () => {
    queue('n1', 'hello');
    outbox.reset();
    state = emptyChat;
    await attempts[0].answer(messageFor(attempts[0], '20'));
    expect(state).toBe(emptyChat);
    queue('n2', 'after');
    expect(attempts.map((a) => a.nonce)).toEqual(['n1', 'n2']);
  });
});
