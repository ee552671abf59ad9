// Who may post where, and what the composer says when they may not: admins-only channels, an
// admin's timeout, and slow mode with its countdown. Pure, so the rules are tested without a
// browser; the store keeps the limits the server told us about.

import type { Channel, Id } from '../api/protocol';
import { ApiError } from '../api/rest';
import { formatTimestamp } from '../time';

/** What the server said about this user's posting, beyond what the channel itself says. */
export interface PostingLimits {
  /** When an admin's timeout of this user ends (unix ms), as `ready` and `timeout_update` say
   * (or a refusal); `Infinity` when the server did not say; `null` when no timeout is known. */
  timedOutUntil: number | null;
  /** Per channel, when slow mode lets this user post again (unix ms). */
  slowmodeUntil: Record<Id, number>;
}

export const noLimits: PostingLimits = { timedOutUntil: null, slowmodeUntil: {} };

/** The text the composer shows in an admins-only channel to members. */
export const READ_ONLY_NOTICE = 'Only admins can post in this channel';

/** The end of a timeout as a `timed_out` refusal states it ("… until 1795569827762 (unix ms)."). */
export function timeoutEnd(message: string): number | null {
  const match = /until (\d{10,})/.exec(message);
  return match ? Number(match[1]) : null;
}

/** Whole seconds left until `until`, rounded up, never negative. */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** A wait in at most its two largest units: "9 s", "4 min 59 s", "5 min", "1 h 30 min", "2 days 3 h". */
export function formatWait(seconds: number): string {
  const units: [number, string, string][] = [
    [86_400, 'day', 'days'],
    [3_600, 'h', 'h'],
    [60, 'min', 'min'],
    [1, 's', 's'],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(seconds));
  for (const [size, one, many] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count} ${count === 1 ? one : many}`);
    // Two units at most, and adjacent ones: "1 h", not "1 h 5 s".
    if (parts.length === 2 || (parts.length === 1 && count === 0)) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

/** "You are timed out until <local time>" (or without a time when the server gave none). */
export function timedOutText(until: number, formatTime: (unixMs: number) => string = formatTimestamp): string {
  return Number.isFinite(until) ? `You are timed out until ${formatTime(until)}` : 'You are timed out';
}

/** "Slow mode: you can post again in N s". */
export function slowmodeText(seconds: number): string {
  return `Slow mode: you can post again in ${formatWait(seconds)}`;
}

/** The limits after the server refused a post in `channelId`: a timeout or slow mode is
 * remembered; other refusals change nothing. */
export function limitsAfterRefusal(limits: PostingLimits, channelId: Id, error: unknown, now: number): PostingLimits {
  if (!(error instanceof ApiError)) return limits;
  if (error.code === 'timed_out') return { ...limits, timedOutUntil: timeoutEnd(error.message) ?? Number.POSITIVE_INFINITY };
  if (error.code === 'slowmode') {
    return { ...limits, slowmodeUntil: { ...limits.slowmodeUntil, [channelId]: now + (error.retryAfterMs ?? 1000) } };
  }
  return limits;
}

/** The limits once the server said whether a timeout runs (`timeout_update`, or `ready`'s
 * `timeout_until`): its end in unix ms, or null when none runs. The server's word replaces
 * whatever a refusal taught. */
export function limitsWithTimeout(limits: PostingLimits, until: number | null): PostingLimits {
  return limits.timedOutUntil === until ? limits : { ...limits, timedOutUntil: until };
}

/** The longest wait one browser timer takes (2^31 - 1 ms, about 24.8 days; a timeout may last 28). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long until a running timeout ends, for the timer that reopens the composer then:
 * null when there is nothing to wait for (none runs, or its end is unknown), at most
 * MAX_TIMER_MS (the timer then checks again), 0 when it is over. */
export function timeoutWait(limits: PostingLimits, now: number): number | null {
  const until = limits.timedOutUntil;
  if (until === null || !Number.isFinite(until)) return null;
  return Math.min(MAX_TIMER_MS, Math.max(0, until - now));
}

/** The limits after the gateway refused a `typing` op: it says `timed_out` as posting does. */
export function limitsAfterTypingRefused(limits: PostingLimits, code: string, message: string): PostingLimits {
  return code === 'timed_out' ? { ...limits, timedOutUntil: timeoutEnd(message) ?? Number.POSITIVE_INFINITY } : limits;
}

/** The limits after a post of this user went through in `channel`: no timeout is running, and a
 * member waits out the channel's slow mode from now (admins are exempt). */
export function limitsAfterPost(limits: PostingLimits, channel: Pick<Channel, 'id' | 'slowmode_secs'> | undefined, admin: boolean, now: number): PostingLimits {
  const slowmode = channel && !admin && channel.slowmode_secs > 0;
  if (limits.timedOutUntil === null && !slowmode) return limits;
  return {
    timedOutUntil: null,
    slowmodeUntil: slowmode ? { ...limits.slowmodeUntil, [channel.id]: now + channel.slowmode_secs * 1000 } : limits.slowmodeUntil,
  };
}

/** What the composer of a channel allows and says. */
export interface ComposerState {
  /** Why it is limited, if it is. */
  limit: 'none' | 'timed_out' | 'read_only' | 'slowmode';
  /** Whether the box takes text (a slow-mode wait keeps what is typed). */
  canType: boolean;
  canSend: boolean;
  /** Shown in place of, or above, the box. */
  notice: string | null;
  /** A quiet line about the channel's rules while posting is allowed. */
  hint: string | null;
}

/** The composer's state: a running timeout first (it holds everywhere), then an admins-only
 * channel (members read), then slow mode's countdown. */
export function composerState(
  input: { channel: Pick<Channel, 'id' | 'write' | 'slowmode_secs'>; admin: boolean; limits: PostingLimits; now: number },
  formatTime: (unixMs: number) => string = formatTimestamp,
): ComposerState {
  const { channel, admin, limits, now } = input;
  const until = limits.timedOutUntil;
  if (until !== null && until > now) {
    return { limit: 'timed_out', canType: false, canSend: false, notice: timedOutText(until, formatTime), hint: null };
  }
  if (channel.write === 'admins' && !admin) {
    return { limit: 'read_only', canType: false, canSend: false, notice: READ_ONLY_NOTICE, hint: null };
  }
  const hint = channel.slowmode_secs > 0 ? (admin ? 'Slow mode is on; admins are exempt.' : `Slow mode is on: one message every ${formatWait(channel.slowmode_secs)}.`) : null;
  const wait = admin ? 0 : secondsLeft(limits.slowmodeUntil[channel.id] ?? 0, now);
  if (wait > 0) return { limit: 'slowmode', canType: true, canSend: false, notice: slowmodeText(wait), hint };
  return { limit: 'none', canType: true, canSend: true, notice: null, hint };
}

/** What a refused send shows beside the message: the posting rules in words people use, and
 * the server's own sentence for anything else. */
export function refusalText(error: ApiError, formatTime: (unixMs: number) => string = formatTimestamp): string {
  switch (error.code) {
    case 'timed_out':
      return `${timedOutText(timeoutEnd(error.message) ?? Number.POSITIVE_INFINITY, formatTime)}.`;
    case 'read_only':
      return `${READ_ONLY_NOTICE}.`;
    case 'slowmode':
      return `Slow mode: wait ${formatWait((error.retryAfterMs ?? 1000) / 1000)} before posting again.`;
    default:
      return error.message;
  }
}
