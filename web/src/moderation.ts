// The choices the server settings offer (timeout lengths, slow-mode steps, invite lifetimes),
// channel reordering, and the audit log in words. Pure, so they are tested without a browser.

import type { AuditEntry, Channel, Id, Invite } from './api/protocol';
import { sortChannels } from './state/chat';
import { formatWait } from './state/posting';

/** How long a timeout lasts, as Discord offers them (the server allows up to 28 days). */
export const TIMEOUT_CHOICES: { label: string; seconds: number }[] = [
  { label: '60 seconds', seconds: 60 },
  { label: '5 minutes', seconds: 300 },
  { label: '10 minutes', seconds: 600 },
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '1 week', seconds: 604_800 },
];

/** Slow-mode steps, in seconds (0 is off; the server allows up to 6 hours). */
export const SLOWMODE_CHOICES = [0, 5, 10, 30, 60, 300, 900, 3_600, 21_600];

/** How long a new invite works, in seconds; `null` is until deleted. */
export const INVITE_LIFETIME_CHOICES: { label: string; seconds: number | null }[] = [
  { label: 'Never expires', seconds: null },
  { label: '30 minutes', seconds: 1_800 },
  { label: '1 hour', seconds: 3_600 },
  { label: '6 hours', seconds: 21_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 604_800 },
  { label: '30 days', seconds: 2_592_000 },
];

/** The most hours of messages a ban may delete. */
export const MAX_DELETE_HOURS = 168;

/** "Off", "5 s", "1 min", "6 h". */
export function slowmodeLabel(seconds: number): string {
  return seconds <= 0 ? 'Off' : formatWait(seconds);
}

/** The slow-mode choices, plus the channel's own value when it is not one of them (set through
 * the API), so the picker always shows what is in force. */
export function slowmodeOptions(current: number): number[] {
  return SLOWMODE_CHOICES.includes(current) ? SLOWMODE_CHOICES : [...SLOWMODE_CHOICES, current].sort((a, b) => a - b);
}

/** The position changes that move channel `id` one place up (-1) or down (+1) among the
 * channels of its kind: the new order is numbered from 0, and only channels whose number
 * changes are returned (none when it is already at that end). */
export function moveChannel(channels: Channel[], id: Id, direction: -1 | 1): { id: Id; position: number }[] {
  const moving = channels.find((c) => c.id === id);
  if (!moving) return [];
  const order = sortChannels(channels.filter((c) => c.kind === moving.kind));
  const from = order.findIndex((c) => c.id === id);
  const to = from + direction;
  if (to < 0 || to >= order.length) return [];
  [order[from], order[to]] = [order[to], order[from]];
  return order.flatMap((c, position) => (c.position === position ? [] : [{ id: c.id, position }]));
}

/** An invite's use count: "0 / 5" or "3 / ∞". */
export function inviteUses(invite: Pick<Invite, 'uses' | 'max_uses'>): string {
  return `${invite.uses} / ${invite.max_uses ?? '∞'}`;
}

/** Whether an invite still lets someone register. */
export function inviteUsable(invite: Pick<Invite, 'uses' | 'max_uses' | 'expires_at'>, now: number): boolean {
  return (invite.max_uses === null || invite.uses < invite.max_uses) && (invite.expires_at === null || invite.expires_at > now);
}

const ACTIONS: Record<string, string> = {
  'user.create': 'created account',
  'user.promote': 'made admin',
  'user.demote': 'removed admin',
  'user.disable': 'banned',
  'user.enable': 'unbanned',
  'user.timeout': 'timed out',
  'user.timeout_clear': 'removed timeout',
  'user.password': 'set password',
  'voice.disconnect': 'disconnected from voice',
  'voice.mute': 'server-muted',
  'voice.unmute': 'lifted server mute',
  'settings.update': 'changed settings',
  'invite.create': 'created invite',
  'invite.delete': 'deleted invite',
};

/** An audit action in words ("banned"); an action this client does not know shows as it is. */
export function auditAction(action: string): string {
  return ACTIONS[action] ?? action;
}

/** An audit entry's detail with a timeout's end ("until 1795569827762") as a local time. */
export function auditDetail(entry: Pick<AuditEntry, 'detail'>, formatTime: (unixMs: number) => string): string {
  return (entry.detail ?? '').replace(/\buntil (\d{12,14})\b/g, (_match, digits: string) => `until ${formatTime(Number(digits))}`);
}
