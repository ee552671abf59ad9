// What the voice bar renders, and how the engine derives it from its own state and the real
// peer connections: the phase, why voice is disconnected, each peer's quality, who cannot be
// reached, and the path and round trip of the first connected peer.

import type { Id } from '../api/protocol';
import type { Peer } from './peer';
import type { PeerQuality } from './stats';
import { voicePhase, type Disconnection, type PeerView, type VoicePhase } from './status';

/** Everything the voice bar renders. */
export interface VoiceView {
  phase: VoicePhase;
  channelId: Id | null;
  disconnection: Disconnection | null;
  /** The user's own mute; an admin's server mute is `serverMuted`, and either silences. */
  muted: boolean;
  deafened: boolean;
  /** An admin muted this user: nothing is sent and the bar offers no unmute. */
  serverMuted: boolean;
  speaking: boolean;
  degraded: boolean;
  path: 'relay' | 'direct' | null;
  rttMs: number | null;
  peers: Record<Id, PeerQuality>;
  /** Participants who never answered our negotiation in time; the bar names them. */
  unreachable: Id[];
  mode: 'vad' | 'ptt';
  pttKey: string;
  /** The input sensitivity (0–100) the speaking detector uses. */
  sensitivity: number;
  /** Why the server ended the last call (an admin took us out, timed us out or turned voice
   * off); shown in place of the bar until dismissed or the next join. */
  notice: string | null;
}

/** The view before any call. */
export function idleView({ mode, pttKey, sensitivity }: { mode: 'vad' | 'ptt'; pttKey: string; sensitivity: number }): VoiceView {
  return {
    phase: 'idle',
    channelId: null,
    disconnection: null,
    muted: false,
    deafened: false,
    serverMuted: false,
    speaking: false,
    degraded: false,
    path: null,
    rttMs: null,
    peers: {},
    unreachable: [],
    mode,
    pttKey,
    sensitivity,
    notice: null,
  };
}

/** The view `next` with everything that follows from the peers, the join's progress and the
 * gateway filled in. */
export function deriveView(next: VoiceView, peers: Peer[], joined: boolean, gatewayUp: boolean): VoiceView {
  const views: PeerView[] = peers.map((p) => ({
    connectionState: p.pc.connectionState,
    relayRefused: p.relayRefused,
    restarting: p.restarting,
    unreachable: p.unreachable,
  }));
  const refused = views.some((v) => v.relayRefused);
  const disconnection = next.disconnection ?? (refused ? { reason: 'the relay refused our credentials (401)' } : null);
  const membership = next.channelId === null ? 'out' : joined ? 'joined' : 'joining';
  const first = peers.find((p) => p.quality.path !== null);
  return {
    ...next,
    disconnection,
    phase: voicePhase(membership, gatewayUp, views, disconnection),
    peers: Object.fromEntries(peers.map((p) => [p.userId, { ...p.quality, state: p.pc.connectionState }])),
    unreachable: peers.filter((p) => p.unreachable).map((p) => p.userId),
    path: first?.quality.path ?? null,
    rttMs: first?.quality.rttMs ?? null,
  };
}
