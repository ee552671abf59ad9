// The server settings' pure parts: moving channels up and down as position changes, slow-mode
// choices, invite uses and validity, and the audit log in words with local times.

import { describe, expect, it } from 'vitest';
import type { Channel } from '../src/api/protocol';
import { auditAction, auditDetail, inviteUsable, inviteUses, moveChannel, slowmodeLabel, slowmodeOptions, SLOWMODE_CHOICES, TIMEOUT_CHOICES } from '../src/moderation';

function channel(id: string, name: string, position = 0, kind: Channel['kind'] = 'text'): Channel {
  return { id, name, kind, private: false, write: 'everyone', position, slowmode_secs: 0 };
}

describe('moveChannel', () => {
  // All at position 0 (as the server creates them): the sidebar orders them by name.
  const alpha = channel('1', 'alpha');
  const beta = channel('2', 'Beta');
  const gamma = channel('3', 'gamma');
  const lounge = channel('4', 'Lounge', 0, 'voice');
  const all = [gamma, lounge, alpha, beta];

  it('swaps a channel with its neighbour and numbers the new order from 0', () => {
    expect(moveChannel(all, '3', -1)).toEqual([
      { id: '3', position: 1 },
      { id: '2', position: 2 },
    ]);
    // Beta keeps 0: only alpha and gamma change.
    expect(moveChannel(all, '1', 1)).toEqual([
      { id: '1', position: 1 },
      { id: '3', position: 2 },
    ]);
  });

  it('changes only the channels whose number changes', () => {
    const numbered = [channel('1', 'alpha', 0), channel('2', 'Beta', 1), channel('3', 'gamma', 2)];
    expect(moveChannel(numbered, '2', 1)).toEqual([
      { id: '3', position: 1 },
      { id: '2', position: 2 },
    ]);
  });

  it('does nothing at either end, for an unknown channel, or across kinds', () => {
    expect(moveChannel(all, '1', -1)).toEqual([]);
    expect(moveChannel(all, '3', 1)).toEqual([]);
    expect(moveChannel(all, '99', 1)).toEqual([]);
    expect(moveChannel(all, '4', -1)).toEqual([]);
  });
});

describe('choices', () => {
  it('offers the slow-mode steps, plus a value set elsewhere', () => {
    expect(SLOWMODE_CHOICES.map(slowmodeLabel)).toEqual(['Off', '5 s', '10 s', '30 s', '1 min', '5 min', '15 min', '1 h', '6 h']);
    expect(slowmodeOptions(10)).toBe(SLOWMODE_CHOICES);
    expect(slowmodeOptions(20)).toEqual([0, 5, 10, 20, 30, 60, 300, 900, 3_600, 21_600]);
  });

  it('offers timeouts from a minute to a week, within the server limit of 28 days', () => {
    expect(TIMEOUT_CHOICES.map((c) => c.label)).toEqual(['60 seconds', '5 minutes', '10 minutes', '1 hour', '1 day', '1 week']);
    for (const choice of TIMEOUT_CHOICES) expect(choice.seconds).toBeLessThanOrEqual(28 * 86_400);
  });
});

describe('invites', () => {
  it('shows uses against the limit and knows when an invite is spent', () => {
    expect(inviteUses({ uses: 0, max_uses: 5 })).toBe('0 / 5');
    expect(inviteUses({ uses: 3, max_uses: null })).toBe('3 / ∞');
    expect(inviteUsable({ uses: 4, max_uses: 5, expires_at: null }, 100)).toBe(true);
    expect(inviteUsable({ uses: 5, max_uses: 5, expires_at: null }, 100)).toBe(false);
    expect(inviteUsable({ uses: 0, max_uses: null, expires_at: 101 }, 100)).toBe(true);
    expect(inviteUsable({ uses: 0, max_uses: null, expires_at: 100 }, 100)).toBe(false);
  });
});

describe('audit log', () => {
  it('names actions in words and keeps unknown ones as they are', () => {
    expect(auditAction('user.disable')).toBe('banned');
    expect(auditAction('user.timeout_clear')).toBe('removed timeout');
    expect(auditAction('something.new')).toBe('something.new');
  });

  it('shows the end of a timeout as a local time, leaving other details alone', () => {
    expect(auditDetail({ detail: 'until 1795569827762' }, (ms) => `<${ms}>`)).toBe('until <1795569827762>');
    expect(auditDetail({ detail: 'deleted 3 messages of the last 1 h' }, () => 'x')).toBe('deleted 3 messages of the last 1 h');
    expect(auditDetail({ detail: null }, () => 'x')).toBe('');
  });
});
