// One participant's RTCPeerConnection and perfect negotiation on it: the smaller user id is
// polite and yields when two offers collide, the other side ignores the colliding offer, and
// candidates that arrive before the remote description wait for it. An ICE restart offers
// even over an offer of ours that went unanswered too long. Also keeps what the restart policy,
// the bar and the sidebar read: auth errors, gathered candidates, whether it ever connected,
// quality.

import { compareIds, type Id } from '../api/protocol';
import { qualityFrom, type PacketCounts, type PeerQuality } from './stats';

/** A signal relayed by the gateway: an SDP description, or an ICE candidate (null: gathering done). */
export interface Signal {
  description?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit | null;
}

/** How long an offer of ours may wait for its answer before an ICE restart offers over it; an
 * answer slower than that is lost, not late. A restart within that time waits for the answer,
 * after which the browser asks for the restart offer itself. */
export const ANSWER_TIMEOUT_MS = 5_000;

/** What a peer needs from the engine. */
export interface PeerHost {
  /** Sends a signal to this peer through the gateway. */
  signal(peer: Peer, signal: Signal): void;
  /** Something the voice bar derives from this peer changed. */
  changed(): void;
  /** The peer's audio arrived (again, after a renegotiation). */
  heard(peer: Peer, stream: MediaStream): void;
}

export class Peer {
  readonly pc: RTCPeerConnection;
  readonly polite: boolean;
  private makingOffer = false;
  private ignoreOffer = false;
  /** When we last set an offer of ours (unix ms). */
  private offeredAt = 0;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  disconnectedAt: number | null = null;
  /** When this connection last started (or restarted) negotiating. */
  startedAt = Date.now();
  /** When it first started negotiating; restarts leave this alone. */
  readonly firstStartedAt = this.startedAt;
  /** It has been connected at least once. */
  everConnected = false;
  /** A lost connection is being restarted; the bar says so until it connects again. */
  restarting = false;
  /** It never connected within the negotiation timeout; the bar names the peer as unreachable. */
  unreachable = false;
  private authErrors = 0;
  private gatheredCandidates = 0;
  private gatheringDone = false;
  audio: HTMLAudioElement | null = null;
  quality: PeerQuality = { state: 'new', rttMs: null, lossPct: null, path: null };
  private lastPackets: PacketCounts = { received: 0, lost: 0 };

  constructor(
    me: Id,
    readonly userId: Id,
    config: RTCConfiguration,
    private readonly host: PeerHost,
  ) {
    this.polite = compareIds(me, userId) < 0;
    const pc = (this.pc = new RTCPeerConnection(config));
    pc.onnegotiationneeded = () => void this.offer();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.gatheredCandidates++;
      host.signal(this, { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.onicecandidateerror = (event) => {
      const error = event as RTCPeerConnectionIceErrorEvent;
      if (error.errorCode === 401 || error.errorCode === 403) this.authErrors++;
    };
    pc.onicegatheringstatechange = () => {
      this.gatheringDone = pc.iceGatheringState === 'complete';
      host.changed();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'disconnected') this.disconnectedAt ??= Date.now();
      else this.disconnectedAt = null;
      if (pc.connectionState === 'connected') {
        this.authErrors = 0;
        this.restarting = false;
        this.everConnected = true;
        this.unreachable = false;
      }
      host.changed();
    };
    pc.ontrack = ({ streams, track }) => host.heard(this, streams[0] ?? new MediaStream([track]));
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** The TURN server refused our credentials and no candidate could be gathered. */
  get relayRefused(): boolean {
    return this.authErrors > 0 && this.gatheringDone && this.gatheredCandidates === 0;
  }

  /** Makes an offer and sends it: a fresh one in a stable state, or one that replaces our own
   * unanswered offer (after `restartIce`, with new ICE credentials). */
  private async offer(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      if (this.pc.localDescription?.type === 'offer') this.offeredAt = Date.now();
      this.host.signal(this, { description: this.pc.localDescription?.toJSON() });
    } catch {
      // A newer negotiation superseded this one.
    } finally {
      this.makingOffer = false;
    }
  }

  /** Applies a signal from this peer. */
  async receive(signal: Signal): Promise<void> {
    const pc = this.pc;
    try {
      if (signal.description) {
        const description = signal.description;
        const collision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        await pc.setRemoteDescription(description);
        for (const candidate of this.pendingCandidates.splice(0)) await pc.addIceCandidate(candidate).catch(() => {});
        if (description.type === 'offer') {
          await pc.setLocalDescription();
          this.host.signal(this, { description: pc.localDescription?.toJSON() });
        }
      } else if (signal.candidate !== undefined) {
        const candidate = signal.candidate ?? undefined;
        if (!pc.remoteDescription) {
          if (candidate) this.pendingCandidates.push(candidate);
          return;
        }
        await pc.addIceCandidate(candidate).catch((error) => {
          if (!this.ignoreOffer) throw error;
        });
      }
    } catch {
      // A malformed or stale signal; the next negotiation repairs the connection.
    }
  }

  /** Restarts ICE with fresh servers, counting candidates afresh so a refused relay shows. The
   * browser asks for the restart offer (negotiationneeded) only from a stable state, which an
   * offer of ours that was never answered (lost on the way, or to a peer that never answered)
   * never reaches: after ANSWER_TIMEOUT_MS the restart offers over it itself, or it would send
   * nothing at all. */
  async restartIce(config: RTCConfiguration, now = Date.now()): Promise<void> {
    this.pc.setConfiguration(config);
    this.gatheredCandidates = 0;
    this.gatheringDone = false;
    this.pc.restartIce();
    const unanswered = this.pc.signalingState === 'have-local-offer' && !this.makingOffer;
    if (unanswered && now - this.offeredAt >= ANSWER_TIMEOUT_MS) await this.offer();
  }

  /** Reads the connection's statistics into `quality`. */
  async measureQuality(): Promise<void> {
    try {
      const { quality, packets } = qualityFrom(await this.pc.getStats(), this.lastPackets);
      this.lastPackets = packets;
      this.quality = { state: this.pc.connectionState, ...quality };
    } catch {
      // The connection closed meanwhile.
    }
  }

  close(): void {
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.audio?.remove();
  }
}
