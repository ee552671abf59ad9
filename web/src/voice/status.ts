// Pure rules of the voice bar: whether this page can use voice at all (HTTPS), what the real
// peer connections add up to, when a connection gets an ICE restart, when a peer counts as
// unreachable, the transmit gate (mute, push-to-talk, voice activity), which key presses count
// as push-to-talk, the speaking detector's hysteresis, who is shown as speaking, the label, and
// what the page says when a join is refused or an admin ends the call. Kept free of browser
// objects so they are unit-tested.

/** What the voice bar shows. */
export type VoicePhase = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The state of one peer connection, as far as the bar cares. */
export interface PeerView {
  connectionState: RTCPeerConnectionState;
  /** The TURN server refused our credentials and no candidate could be gathered. */
  relayRefused?: boolean;
  /** The connection was lost and an ICE restart is under way. */
  restarting?: boolean;
  /** The peer never completed a negotiation within the timeout (see `isUnreachable`). */
  unreachable?: boolean;
}

/** Why voice is disconnected, for the bar. */
export interface Disconnection {
  reason: string;
  /** Offer "Move here" (the user is in voice on another connection). */
  canMoveHere?: boolean;
  /** Voice cannot start on this page at all (see `voiceBlocker`); the reason is the whole label. */
  blocked?: boolean;
}

/** What `voiceBlocker` reads of the page. */
export interface VoiceSupport {
  /** `window.isSecureContext`: HTTPS, or plain HTTP on localhost / 127.0.0.1. */
  secureContext: boolean | undefined;
  /** Whether `navigator.mediaDevices` exists; browsers leave it out of insecure pages. */
  mediaDevices: boolean;
  /** Whether `RTCPeerConnection` exists. */
  peerConnection: boolean;
}

/** The bar's explanation when voice is refused for want of HTTPS. Text between backticks is
 * shown as code. */
export const NEEDS_HTTPS = "Voice needs HTTPS — the server's admin can turn it on with `tls.acme_domains`";

/** Why voice cannot start on this page, or null when it can. Browsers open microphones only
 * for secure contexts, so on plain HTTP under any name but localhost joining is pointless (and
 * `navigator.mediaDevices` is not even there): the bar says so instead of failing. */
export function voiceBlocker(page: VoiceSupport): Disconnection | null {
  if (page.secureContext === false) return { reason: NEEDS_HTTPS, blocked: true };
  if (!page.mediaDevices || !page.peerConnection) return { reason: 'Voice is not available in this browser', blocked: true };
  return null;
}

/** How long a peer may stay `disconnected` (it often recovers by itself) before an ICE restart. */
export const DISCONNECTED_GRACE_MS = 3_000;

/** How far this page is into a voice channel: not in one, joining one (the microphone is
 * opening or the server has not yet accepted voice_join), or joined (both done). */
export type Membership = 'out' | 'joining' | 'joined';

/** Combines peer connections into one phase. A join still under way is connecting, whatever
 * the peers say (there are none yet); alone in a channel after the join completed counts as
 * connected. Unreachable peers do not hold the others back: with one of them the bar is
 * connected as soon as every other peer is, and at least one is (the bar names them beside it,
 * see `unreachableNote`); connecting while nobody is connected. */
export function voicePhase(membership: Membership, gatewayUp: boolean, peers: PeerView[], disconnection: Disconnection | null): VoicePhase {
  if (disconnection) return 'disconnected';
  if (membership === 'out') return 'idle';
  // Nothing was connected yet, so nothing is being reconnected either.
  if (membership === 'joining') return 'connecting';
  if (!gatewayUp) return 'reconnecting';
  if (peers.some((p) => p.relayRefused)) return 'disconnected';
  const reachable = peers.filter((p) => !p.unreachable);
  const lost = (p: PeerView) => p.connectionState === 'failed' || p.connectionState === 'disconnected';
  if (reachable.some((p) => lost(p) || (p.restarting && p.connectionState !== 'connected'))) return 'reconnecting';
  // Only unreachable peers left: nobody to talk to yet, though restarts keep trying them.
  if (reachable.length === 0 && peers.length > 0) return 'connecting';
  return reachable.every((p) => p.connectionState === 'connected') ? 'connected' : 'connecting';
}

/** How long a peer connection may take to connect before its negotiation is started over. */
export const NEGOTIATION_TIMEOUT_MS = 10_000;
/** Least time between two ICE restarts of one peer, so each has time to gather and check. */
export const RESTART_EVERY_MS = 1_500;

/** What the restart policy reads of one peer connection. */
export interface PeerTimeline {
  connectionState: RTCPeerConnectionState;
  polite: boolean;
  /** When the connection last started (or restarted) negotiating. */
  startedAt: number;
  /** When it went `disconnected`, null while it is not. */
  disconnectedAt: number | null;
  relayRefused: boolean;
  restarting: boolean;
}

/** What the periodic check does with one peer: restart ICE now or not, and whether the bar
 * shows the peer as being restarted from now on. */
export interface IceRestartDecision {
  restartNow: boolean;
  restarting: boolean;
}

/** Decides, at time `now`, whether a lost or stuck connection gets an ICE restart. One whose
 * relay refused our credentials gets none; `voicePhase` shows it as disconnected instead. */
export function decideIceRestart(peer: PeerTimeline, now: number): IceRestartDecision {
  const state = peer.connectionState;
  const lost = state === 'failed' || (peer.disconnectedAt !== null && now - peer.disconnectedAt > DISCONNECTED_GRACE_MS);
  // A negotiation whose offer or answer was lost (e.g. the gateway dropped mid-way)
  // never completes on its own; a restart sends a fresh offer.
  const stuck = (state === 'new' || state === 'connecting') && now - peer.startedAt > NEGOTIATION_TIMEOUT_MS;
  // The impolite side restarts, so both ends do not offer at once; the polite side steps
  // in only if that does not happen.
  const myTurn = !peer.polite || now - peer.startedAt > 4 * RESTART_EVERY_MS;
  const restartNow = (lost || stuck) && !peer.relayRefused && myTurn && now - peer.startedAt > RESTART_EVERY_MS;
  // Lost shows as reconnecting at once, even while the restart itself has to wait.
  return { restartNow, restarting: peer.restarting || lost };
}

/** What `isUnreachable` reads of one peer connection. */
export interface PeerReach {
  connectionState: RTCPeerConnectionState;
  /** When negotiation with this peer first started; ICE restarts do not move it. */
  firstStartedAt: number;
  /** The connection has been connected at least once. */
  everConnected: boolean;
}

/** Whether, at time `now`, a peer counts as unreachable: it has never connected, more than
 * NEGOTIATION_TIMEOUT_MS after negotiation with it first started. Such a client is dead or
 * broken (a closed tab the server keeps for its grace period, a client that ignores offers),
 * and waiting for it must not keep everyone else's bar at "Connecting…". A connection that
 * worked once and was lost is not unreachable but reconnecting: that is a network problem the
 * restarts are for. Restarts go on either way, and the first `connected` clears the mark. */
export function isUnreachable(peer: PeerReach, now: number): boolean {
  return !peer.everConnected && peer.connectionState !== 'connected' && now - peer.firstStartedAt > NEGOTIATION_TIMEOUT_MS;
}

/** The note beside the bar's label naming the unreachable peers, empty when there are none. */
export function unreachableNote(names: string[]): string {
  if (names.length === 0) return '';
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `can't reach ${list}`;
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

/** The input sensitivity when the user never chose one; it gives the thresholds the detector
 * always had (0.02 to start speaking, 0.01 to stop). */
export const DEFAULT_SENSITIVITY = 50;

/** The speaking detector's thresholds (RMS levels) for an input sensitivity of 0–100: higher
 * picks up quieter speech. The scale is logarithmic, as loudness is heard, ten times quieter
 * or louder than the default at the ends; stopping takes half the starting level, so a voice
 * that dips a little does not flicker. */
export function speakingThresholds(sensitivity: number): { on: number; off: number } {
  const clamped = Math.min(100, Math.max(0, Number.isFinite(sensitivity) ? sensitivity : DEFAULT_SENSITIVITY));
  const on = 0.02 * 10 ** ((DEFAULT_SENSITIVITY - clamped) / 50);
  return { on, off: on / 2 };
}

/** Speaking detection with hysteresis: starts above `on`, stops after `hangMs` below `off`. */
export class SpeakingDetector {
  private speaking = false;
  private quietSince: number | null = null;

  constructor(
    private on = 0.02,
    private off = 0.01,
    private readonly hangMs = 400,
  ) {}

  /** Moves the thresholds (the user changed the input sensitivity); takes effect with the next level. */
  setThresholds(thresholds: { on: number; off: number }): void {
    this.on = thresholds.on;
    this.off = thresholds.off;
  }

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

  /** Forgets the current state: a microphone that was closed starts out silent when reopened. */
  reset(): void {
    this.speaking = false;
    this.quietSince = null;
  }
}

/** Whether a participant is shown as speaking: someone muted, deafened or muted by an admin
 * never is, whatever their client reported. */
export function showsSpeaking(state: { muted: boolean; deafened: boolean; speaking: boolean; server_muted?: boolean }): boolean {
  return state.speaking && !state.muted && !state.deafened && !state.server_muted;
}

/** What the page says when the server took it out of voice (`voice_disconnected`). */
export function voiceEndedText(reason: string): string {
  switch (reason) {
    case 'moderator':
      return 'Disconnected by a moderator';
    case 'timed_out':
      return 'You were timed out';
    case 'voice_disabled':
      return 'An admin turned voice off';
    default:
      return 'An admin ended your call';
  }
}

/** Why a `voice_join` was refused, for the bar: another tab holding the voice session offers
 * "Move here"; the server's own sentence for anything it has no better words for. */
export function joinRefusal(code: string | undefined, message: string | undefined): Disconnection {
  switch (code) {
    case 'already_in_channel':
      return { reason: 'You are in this channel in another tab', canMoveHere: true };
    case 'already_in_voice':
      return { reason: 'You are in another voice channel in another tab', canMoveHere: true };
    case 'voice_disabled':
      return { reason: 'An admin turned voice off' };
    case 'timed_out':
      return { reason: 'You are timed out' };
    default:
      return { reason: message || 'could not join' };
  }
}

/** What the mute button says while an admin holds the mute. */
export const SERVER_MUTED_NOTE = 'An admin muted you. Only an admin can unmute you.';

/** The label the bar shows for a phase; text between backticks is meant to be shown as code
 * (see `codeSpans`). */
export function phaseLabel(phase: VoicePhase, channelName: string, disconnection: Disconnection | null): string {
  switch (phase) {
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return `Voice connected — ${channelName}`;
    case 'reconnecting':
      return 'Reconnecting…';
    case 'disconnected':
      if (disconnection?.blocked) return disconnection.reason;
      return `Disconnected: ${disconnection?.reason ?? 'the relay refused the connection'}`;
    case 'idle':
      return '';
  }
}

/** Splits a label into plain text and the code between pairs of backticks, in order; a
 * backtick without a partner stays text. */
export function codeSpans(label: string): { text: string; code: boolean }[] {
  const parts = label.split('`');
  // An even number of parts means one backtick too many: the last part is not code.
  if (parts.length % 2 === 0) parts.splice(-2, 2, `${parts.at(-2)}\`${parts.at(-1)}`);
  return parts.map((text, i) => ({ text, code: i % 2 === 1 })).filter((part) => part.text !== '');
}
