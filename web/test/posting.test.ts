// Posting rules: the composer closed in admins-only channels for members, closed during an
// admin's timeout (as the server announces it, or read from a refusal) and counting down slow
// mode; the limits remembered from announcements, refusals and successful posts; when the timer
// that reopens the composer fires; refusals in words people use.

import { describe, expect, it } from 'vitest';
import type { Channel } from '../src/api/protocol';
import { ApiError } from '../src/api/rest';
import {
  composerState,
  formatWait,
  limitsAfterPost,
  limitsAfterRefusal,
  limitsAfterTypingRefused,
  limitsWithTimeout,
  MAX_TIMER_MS,
  noLimits,
  refusalText,
  secondsLeft,
  timeoutEnd,
  timeoutWait,
  type PostingLimits,
} from '../src/state/posting';

const channel: Channel = { id: '10', name: 'general', kind: 'text', private: false, write: 'everyone', position: 0, slowmode_secs: 0 };
const announcements: Channel = { ...channel, id: '11', name: 'news', write: 'admins' };
const slow: Channel = { ...channel, id: '12', name: 'slow', slowmode_secs: 30 };
const clock = (ms: number) => `<${ms}>`;
const NOW = 1_800_000_000_000;
const timedOutMessage = (until: number) => `An admin timed you out; you can read but not post, type or speak until ${until} (unix ms).`;

function state(c: Channel, admin: boolean, limits: PostingLimits = noLimits, now = NOW) {
  return composerState({ channel: c, admin, limits, now }, clock);
}

describe('timeoutEnd', () => {
  it('reads the end of a timeout from the server message', () => {
    expect(timeoutEnd(timedOutMessage(1795569827762))).toBe(1795569827762);
    expect(timeoutEnd('An admin timed you out.')).toBeNull();
  });
});

describe('formatWait and secondsLeft', () => {
  it('rounds up to whole seconds and never goes below zero', () => {
    expect(secondsLeft(NOW + 9_001, NOW)).toBe(10);
    expect(secondsLeft(NOW + 9_000, NOW)).toBe(9);
    expect(secondsLeft(NOW - 5, NOW)).toBe(0);
  });

  it('says a wait in at most two adjacent units', () => {
    expect(formatWait(9)).toBe('9 s');
    expect(formatWait(60)).toBe('1 min');
    expect(formatWait(299)).toBe('4 min 59 s');
    expect(formatWait(3_600)).toBe('1 h');
    expect(formatWait(3_605)).toBe('1 h');
    expect(formatWait(5_400)).toBe('1 h 30 min');
    expect(formatWait(86_400)).toBe('1 day');
    expect(formatWait(2 * 86_400 + 3 * 3_600)).toBe('2 days 3 h');
    expect(formatWait(0)).toBe('0 s');
  });
});

describe('composerState', () => {
  it('is open by default, for members and admins', () => {
    expect(state(channel, false)).toEqual({ limit: 'none', canType: true, canSend: true, notice: null, hint: null });
    expect(state(channel, true).canSend).toBe(true);
  });

  it('closes an admins-only channel to members before they try, not to admins', () => {
    expect(state(announcements, false)).toMatchObject({ limit: 'read_only', canType: false, canSend: false, notice: 'Only admins can post in this channel' });
    expect(state(announcements, true)).toMatchObject({ limit: 'none', canSend: true });
  });

  it('closes during a timeout, says until when in local time, and opens when it ends', () => {
    const limits = { ...noLimits, timedOutUntil: NOW + 60_000 };
    expect(state(channel, false, limits)).toMatchObject({ limit: 'timed_out', canType: false, canSend: false, notice: `You are timed out until <${NOW + 60_000}>` });
    // A timeout holds in every channel, admins-only ones too.
    expect(state(announcements, false, limits).limit).toBe('timed_out');
    expect(state(channel, false, limits, NOW + 60_000)).toMatchObject({ limit: 'none', canSend: true });
    expect(state(channel, false, { ...noLimits, timedOutUntil: Number.POSITIVE_INFINITY }).notice).toBe('You are timed out');
  });

  it('counts slow mode down for members, keeping the box open for typing', () => {
    const limits = { ...noLimits, slowmodeUntil: { [slow.id]: NOW + 9_500 } };
    expect(state(slow, false, limits)).toMatchObject({ limit: 'slowmode', canType: true, canSend: false, notice: 'Slow mode: you can post again in 10 s' });
    expect(state(slow, false, limits, NOW + 5_000).notice).toBe('Slow mode: you can post again in 5 s');
    expect(state(slow, false, limits, NOW + 9_500)).toMatchObject({ limit: 'none', canSend: true, hint: 'Slow mode is on: one message every 30 s.' });
    // Another channel is not affected, and admins are exempt.
    expect(state(channel, false, limits).canSend).toBe(true);
    expect(state(slow, true, limits)).toMatchObject({ limit: 'none', canSend: true, hint: 'Slow mode is on; admins are exempt.' });
  });
});

describe('posting limits', () => {
  it('remembers a timeout from a refused post, or from a refused typing op', () => {
    const refused = new ApiError(403, { code: 'timed_out', message: timedOutMessage(NOW + 300_000) });
    expect(limitsAfterRefusal(noLimits, '10', refused, NOW).timedOutUntil).toBe(NOW + 300_000);
    const vague = new ApiError(403, { code: 'timed_out', message: 'Timed out.' });
    expect(limitsAfterRefusal(noLimits, '10', vague, NOW).timedOutUntil).toBe(Number.POSITIVE_INFINITY);
    expect(limitsAfterTypingRefused(noLimits, 'timed_out', timedOutMessage(NOW + 5)).timedOutUntil).toBe(NOW + 5);
    expect(limitsAfterTypingRefused(noLimits, 'not_found', 'Channel not found.')).toBe(noLimits);
  });

  it('takes a timeout the server announces, and its end, over what a refusal taught', () => {
    const announced = limitsWithTimeout(noLimits, NOW + 60_000);
    expect(announced.timedOutUntil).toBe(NOW + 60_000);
    expect(state(channel, false, announced)).toMatchObject({ limit: 'timed_out', canType: false, notice: `You are timed out until <${NOW + 60_000}>` });
    const slowAndVague = { timedOutUntil: Number.POSITIVE_INFINITY, slowmodeUntil: { '12': NOW + 5_000 } };
    const lifted = limitsWithTimeout(slowAndVague, null);
    expect(lifted).toEqual({ timedOutUntil: null, slowmodeUntil: { '12': NOW + 5_000 } });
    expect(state(channel, false, lifted).limit).toBe('none');
    expect(limitsWithTimeout(announced, NOW + 60_000)).toBe(announced);
  });

  it('times the reopening of the composer: at the end, in steps a browser timer takes, never for an unknown end', () => {
    expect(timeoutWait(noLimits, NOW)).toBeNull();
    expect(timeoutWait(limitsWithTimeout(noLimits, Number.POSITIVE_INFINITY), NOW)).toBeNull();
    expect(timeoutWait(limitsWithTimeout(noLimits, NOW + 1_500), NOW)).toBe(1_500);
    expect(timeoutWait(limitsWithTimeout(noLimits, NOW - 10), NOW)).toBe(0);
    expect(timeoutWait(limitsWithTimeout(noLimits, NOW + 28 * 86_400_000), NOW)).toBe(MAX_TIMER_MS);
  });

  it('starts slow mode from Retry-After when the server refused a post', () => {
    const refused = new ApiError(429, { code: 'slowmode', message: 'Slow mode.' }, 7_000);
    expect(limitsAfterRefusal(noLimits, '12', refused, NOW).slowmodeUntil).toEqual({ '12': NOW + 7_000 });
    expect(limitsAfterRefusal(noLimits, '12', new ApiError(422, { code: 'empty_message', message: 'Empty.' }), NOW)).toBe(noLimits);
    expect(limitsAfterRefusal(noLimits, '12', new TypeError('bug'), NOW)).toBe(noLimits);
  });

  it('after a post: a member waits out the slow mode, an admin does not, and no timeout runs', () => {
    expect(limitsAfterPost(noLimits, slow, false, NOW).slowmodeUntil).toEqual({ '12': NOW + 30_000 });
    expect(limitsAfterPost(noLimits, slow, true, NOW)).toBe(noLimits);
    expect(limitsAfterPost(noLimits, channel, false, NOW)).toBe(noLimits);
    expect(limitsAfterPost({ ...noLimits, timedOutUntil: NOW + 1_000 }, channel, false, NOW).timedOutUntil).toBeNull();
  });
});

describe('refusalText', () => {
  it('puts posting rules in words people use and keeps other messages', () => {
    expect(refusalText(new ApiError(403, { code: 'timed_out', message: timedOutMessage(NOW) }), clock)).toBe(`You are timed out until <${NOW}>.`);
    expect(refusalText(new ApiError(403, { code: 'read_only', message: 'x' }))).toBe('Only admins can post in this channel.');
    expect(refusalText(new ApiError(429, { code: 'slowmode', message: 'x' }, 65_000))).toBe('Slow mode: wait 1 min 5 s before posting again.');
    expect(refusalText(new ApiError(403, { code: 'forbidden', message: 'No.' }))).toBe('No.');
  });
});
