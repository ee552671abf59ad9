// Pure rules of the voice bar: what the real peer connections add up to, the transmit gate
// (mute, push-to-talk, voice activity), which key presses count as push-to-talk, and the
// speaking detector's hysteresis. Kept free of browser objects so they are unit-tested.

/** What the voice bar shows. */
export type VoicePhase = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The state of one peer connection, as far as the bar cares. */
export interface PeerView {
  connectionState: RTCPeerConnectionState;
  /** The TURN server refused our credentials and no candidate could be gathered. */
  relayRefused?: boolean;
  /** The connection was lost and an ICE restart is under way. */
  restarting?: boolean;
}

/** Why voice is disconnected, for the bar. */
export interface Disconnection {
  reason: string;
  /** Offer "Move here" (the user is in voice on another connection). */
  canMoveHere?: boolean;
}

/** How long a peer may stay `disconnected` (it often recovers by itself) before an ICE restart. */
export const DISCONNECTED_GRACE_MS = 3_000;

/** Combines peer connections into one phase. Alone in a channel counts as connected. */
export function voicePhase(joined: boolean, gatewayUp: boolean, peers: PeerView[], disconnection: Disconnection | null): VoicePhase {
  if (disconnection) return 'disconnected';
  if (!joined) return 'idle';
  if (!gatewayUp) return 'reconnecting';
  if (peers.some((p) => p.relayRefused)) return 'disconnected';
  const lost = (p: PeerView) => p.connectionState === 'failed' || p.connectionState === 'disconnected';
  if (peers.some((p) => lost(p) || (p.restarting && p.connectionState !== 'connected'))) return 'reconnecting';
  return peers.every((p) => p.connectionState === 'connected') ? 'connected' : 'connecting';
}

/** The one place deciding whether the microphone sends: never when muted or deafened. */
export function transmitting(mode: 'vad' | 'ptt', muted: boolean, deafened: boolean, pttHeld: boolean): boolean {
  if (muted || deafened) return false;
  return mode === 'vad' || pttHeld;
}

/** Whether a key event should drive push-to-talk: the configured key, not while typing. */
export function isPushToTalk(event: { code: string; target: unknown; repeat?: boolean }, key: string): boolean {
  if (event.code !== key) return false;
  const target = event.target as { tagName?: string; isContentEditable?: boolean } | null;
  const tag = target?.tagName?.toUpperCase();
  return !(tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable);
}

/** Speaking detection with hysteresis: starts above `on`, stops after `hangMs` below `off`. */
export class SpeakingDetector {
  private speaking = false;
  private quietSince: number | null = null;

  constructor(
    private readonly on = 0.02,
    private readonly off = 0.01,
    private readonly hangMs = 400,
  ) {}

  /** Feeds a level (RMS, 0–1) at time `now`; returns whether the user is speaking. */
  update(level: number, now: number): boolean {
    if (level >= this.on) {
      this.speaking = true;
      this.quietSince = null;
    } else if (this.speaking && level < this.off) {
      this.quietSince ??= now;
      if (now - this.quietSince >= this.hangMs) {
        this.speaking = false;
        this.quietSince = null;
      }
    } else if (level >= this.off) {
      this.quietSince = null;
    }
    return this.speaking;
  }
}

/** The label the bar shows for a phase. */
export function phaseLabel(phase: VoicePhase, channelName: string, disconnection: Disconnection | null): string {
  switch (phase) {
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return `Voice connected — ${channelName}`;
    case 'reconnecting':
      return 'Reconnecting…';
    case 'disconnected':
      return `Disconnected: ${disconnection?.reason ?? 'the relay refused the connection'}`;
    case 'idle':
      return '';
  }
}
