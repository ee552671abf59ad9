// Stand-ins for the browser objects the voice code uses, so it runs under Node: an
// RTCPeerConnection that follows the JSEP signaling states (offers, answers, rollback, and the
// negotiationneeded event only from a stable state, as browsers fire it), microphone streams
// whose tracks can be enabled and stopped, and the globals the voice engine touches.

import { vi } from 'vitest';

let descriptions = 0;

/** An RTCPeerConnection without media or network: signaling only. */
export class FakePeerConnection {
  static all: FakePeerConnection[] = [];
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  iceGatheringState: RTCIceGatheringState = 'new';
  localDescription: { type: RTCSdpType; sdp: string; toJSON(): RTCSessionDescriptionInit } | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  candidates: (RTCIceCandidateInit | undefined)[] = [];
  senders: { track: FakeTrack | null }[] = [];
  closed = false;
  /** Whether the next offer restarts ICE (`restartIce()` was called). */
  private restartPending = false;
  private needed = false;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((ev: { candidate: null }) => void) | null = null;
  onicecandidateerror: ((ev: unknown) => void) | null = null;
  onicegatheringstatechange: (() => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: ((ev: unknown) => void) | null = null;

  constructor(public config: RTCConfiguration = {}) {
    FakePeerConnection.all.push(this);
  }

  /** The SDP of every offer this connection made, in order. */
  offers: string[] = [];

  async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description?.type === 'rollback') {
      this.localDescription = null;
      this.setState('stable');
      return;
    }
    const state = this.signalingState;
    if (state === 'have-remote-offer') {
      // The answer carries the track added before the offer came: nothing is left to negotiate.
      this.needed = false;
      this.describe('answer', `answer-${++descriptions}`);
      this.setState('stable');
      return;
    }
    if (state !== 'stable' && state !== 'have-local-offer') throw new DOMException(`cannot offer in ${state}`, 'InvalidStateError');
    const sdp = `offer-${++descriptions}${this.restartPending ? '-ice-restart' : ''}`;
    this.restartPending = false;
    this.needed = false;
    this.offers.push(sdp);
    this.describe('offer', sdp);
    this.signalingState = 'have-local-offer';
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description.type === 'offer') {
      // An offer over our own rolls ours back first (implicit rollback), as browsers do.
      if (this.signalingState === 'have-local-offer') this.localDescription = null;
      this.remoteDescription = description;
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new DOMException('no offer to answer', 'InvalidStateError');
      this.remoteDescription = description;
      this.setState('stable');
    }
  }

  async addIceCandidate(candidate?: RTCIceCandidateInit): Promise<void> {
    if (!this.remoteDescription) throw new DOMException('no remote description', 'InvalidStateError');
    this.candidates.push(candidate);
  }

  restartIce(): void {
    this.restartPending = true;
    this.negotiationNeeded();
  }

  setConfiguration(config: RTCConfiguration): void {
    this.config = config;
  }

  addTrack(track: FakeTrack): unknown {
    const sender = { track };
    this.senders.push(sender);
    this.negotiationNeeded();
    return sender;
  }

  addTransceiver(): unknown {
    this.negotiationNeeded();
    return {};
  }

  getSenders(): { track: FakeTrack | null }[] {
    return this.senders;
  }

  async getStats(): Promise<Map<string, unknown>> {
    return new Map();
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
  }

  private describe(type: RTCSdpType, sdp: string): void {
    this.localDescription = { type, sdp, toJSON: () => ({ type, sdp }) };
  }

  private setState(state: RTCSignalingState): void {
    this.signalingState = state;
    // Browsers hold a pending negotiationneeded back until the state is stable again.
    if (state === 'stable' && (this.needed || this.restartPending)) this.fireNegotiationNeeded();
  }

  private negotiationNeeded(): void {
    this.needed = true;
    if (this.signalingState === 'stable') this.fireNegotiationNeeded();
  }

  private fireNegotiationNeeded(): void {
    setTimeout(() => {
      if (this.signalingState === 'stable' && !this.closed && (this.needed || this.restartPending)) this.onnegotiationneeded?.();
    }, 0);
  }
}

/** A microphone track: `enabled` is what peers would hear, `stopped` whether the device is released. */
export class FakeTrack {
  kind = 'audio';
  enabled = true;
  stopped = false;
  stop(): void {
    this.stopped = true;
  }
}

/** A microphone stream of one track. */
export class FakeStream {
  readonly track = new FakeTrack();
  getAudioTracks(): FakeTrack[] {
    return [this.track];
  }
  getTracks(): FakeTrack[] {
    return [this.track];
  }
}

/** Lets every pending timer, promise and event handler run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((done) => setTimeout(done, 0));
}

/** Installs the browser globals the voice engine needs and returns the microphone streams it
 * opens, in order. */
export function fakeBrowser(): { streams: FakeStream[] } {
  const streams: FakeStream[] = [];
  FakePeerConnection.all = [];
  vi.stubGlobal('RTCPeerConnection', FakePeerConnection);
  vi.stubGlobal('MediaStream', FakeStream);
  vi.stubGlobal('isSecureContext', true);
  vi.stubGlobal('addEventListener', () => {});
  vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
  vi.stubGlobal('AudioContext', class {
    resume = async () => {};
    createMediaStreamSource() {
      throw new Error('no audio graph in tests');
    }
  });
  vi.stubGlobal('document', { hidden: false, addEventListener: () => {}, createElement: () => ({ dataset: {}, play: async () => {}, remove: () => {} }), body: { appendChild: () => {} } });
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: async () => {
        const stream = new FakeStream();
        streams.push(stream);
        return stream;
      },
    },
  });
  return { streams };
}
