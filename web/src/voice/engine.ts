// The voice engine: one RTCPeerConnection per participant (full mesh), perfect negotiation
// (the newcomer offers; the smaller user id is polite), candidates buffered until the remote
// description is set, ICE restart on failure, credential refresh before expiry, and a view for
// the voice bar derived from the real connection states.

import type { Id } from '../api/protocol';
import { compareIds } from '../api/protocol';
import { DISCONNECTED_GRACE_MS, isPushToTalk, SpeakingDetector, transmitting, voicePhase, type Disconnection, type PeerView, type VoicePhase } from './status';

/** ICE configuration as the server hands it out. */
export interface IceConfig {
  ice_servers: RTCIceServer[];
  ice_transport_policy: 'all' | 'relay';
  expires_at: number | null;
  ice_degraded: boolean;
}

interface JoinReply extends IceConfig {
  channel_id: Id;
  session_id: string;
  participants: { user_id: Id }[];
}

/** Per-participant quality for the sidebar. */
export interface PeerQuality {
  state: RTCPeerConnectionState;
  rttMs: number | null;
  lossPct: number | null;
  path: 'relay' | 'direct' | null;
}

/** Everything the voice bar renders. */
export interface VoiceView {
  phase: VoicePhase;
  channelId: Id | null;
  disconnection: Disconnection | null;
  muted: boolean;
  deafened: boolean;
  speaking: boolean;
  degraded: boolean;
  path: 'relay' | 'direct' | null;
  rttMs: number | null;
  peers: Record<Id, PeerQuality>;
  mode: 'vad' | 'ptt';
  pttKey: string;
}

/** Saved preferences. */
export interface VoicePrefs {
  mode: 'vad' | 'ptt';
  pttKey: string;
  inputId: string | null;
  outputId: string | null;
}

const PREFS_KEY = 'cromulent.voice';

/** How long a peer connection may take to connect before its negotiation is started over. */
const NEGOTIATION_TIMEOUT_MS = 10_000;
/** Least time between two ICE restarts of one peer, so each has time to gather and check. */
const RESTART_EVERY_MS = 1_500;

export function loadPrefs(): VoicePrefs {
  const defaults: VoicePrefs = { mode: 'vad', pttKey: 'KeyV', inputId: null, outputId: null };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') };
  } catch {
    return defaults;
  }
}

function savePrefs(prefs: VoicePrefs): void {
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
}

/** What the engine needs from the rest of the app. */
export interface VoiceHost {
  me(): Id;
  request(op: string, d: unknown): Promise<unknown>;
  changed(view: VoiceView): void;
}

class Peer {
  readonly pc: RTCPeerConnection;
  makingOffer = false;
  ignoreOffer = false;
  pendingCandidates: RTCIceCandidateInit[] = [];
  disconnectedAt: number | null = null;
  /** When this connection last started (or restarted) negotiating. */
  startedAt = Date.now();
  /** A lost connection is being restarted; the bar says so until it connects again. */
  restarting = false;
  authErrors = 0;
  gatheredCandidates = 0;
  gatheringDone = false;
  audio: HTMLAudioElement | null = null;
  quality: PeerQuality = { state: 'new', rttMs: null, lossPct: null, path: null };
  lastPackets = { received: 0, lost: 0 };

  constructor(
    readonly userId: Id,
    readonly polite: boolean,
    config: RTCConfiguration,
  ) {
    this.pc = new RTCPeerConnection(config);
  }
}

export class VoiceEngine {
  private peers = new Map<Id, Peer>();
  private peerSessions = new Map<Id, string>();
  private stream: MediaStream | null = null;
  private config: RTCConfiguration = {};
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private tick: ReturnType<typeof setInterval> | null = null;
  private audioContext: AudioContext | null = null;
  private analyser: AnalyserNode | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private speaking = new SpeakingDetector();
  private pttHeld = false;
  private gatewayUp = true;
  /** Set once the server confirmed the join; signals before that belong to an older session. */
  private joined = false;
  private prefs = loadPrefs();
  private view: VoiceView = {
    phase: 'idle',
    channelId: null,
    disconnection: null,
    muted: false,
    deafened: false,
    speaking: false,
    degraded: false,
    path: null,
    rttMs: null,
    peers: {},
    mode: this.prefs.mode,
    pttKey: this.prefs.pttKey,
  };

  constructor(private readonly host: VoiceHost) {
    addEventListener('keydown', (e) => this.onKey(e, true));
    addEventListener('keyup', (e) => this.onKey(e, false));
    addEventListener('blur', () => this.setPtt(false));
    document.addEventListener('visibilitychange', () => document.hidden && this.setPtt(false));
  }

  get state(): VoiceView {
    return this.view;
  }

  private emit(patch: Partial<VoiceView> = {}): void {
    const peers = [...this.peers.values()];
    const views: PeerView[] = peers.map((p) => ({
      connectionState: p.pc.connectionState,
      relayRefused: p.authErrors > 0 && p.gatheringDone && p.gatheredCandidates === 0,
      restarting: p.restarting,
    }));
    const next = { ...this.view, ...patch };
    const refused = views.some((v) => v.relayRefused);
    const disconnection = next.disconnection ?? (refused ? { reason: 'the relay refused our credentials (401)' } : null);
    const phase = voicePhase(next.channelId !== null, this.gatewayUp, views, disconnection);
    const first = peers.find((p) => p.quality.path !== null);
    this.view = {
      ...next,
      disconnection,
      phase,
      peers: Object.fromEntries(peers.map((p) => [p.userId, { ...p.quality, state: p.pc.connectionState }])),
      path: first?.quality.path ?? null,
      rttMs: first?.quality.rttMs ?? null,
    };
    this.host.changed(this.view);
  }

  /** Joins a voice channel (leaving any other), optionally taking over from another tab. */
  async join(channelId: Id, takeover = false): Promise<void> {
    // Created during the click: an AudioContext made later, outside the user's gesture, starts
    // suspended under the autoplay policy and would read silence for the speaking indicator.
    this.audioContext ??= new AudioContext();
    void this.audioContext.resume().catch(() => {});
    if (this.view.channelId) await this.leave(false);
    this.emit({ channelId: channelId, disconnection: null, phase: 'connecting' });
    try {
      this.stream = await this.openMicrophone();
    } catch {
      this.emit({ channelId: null, disconnection: { reason: 'no microphone could be opened' } });
      return;
    }
    let reply: JoinReply;
    try {
      reply = (await this.host.request('voice_join', { channel_id: channelId, takeover })) as JoinReply;
    } catch (error) {
      this.stopMedia();
      const code = (error as { code?: string }).code;
      const reason =
        code === 'already_in_channel'
          ? 'You are in this channel in another tab'
          : code === 'already_in_voice'
            ? 'You are in another voice channel in another tab'
            : ((error as Error).message ?? 'could not join');
      this.emit({ channelId: null, disconnection: { reason, canMoveHere: code === 'already_in_channel' || code === 'already_in_voice' } });
      this.pendingMoveChannel = channelId;
      return;
    }
    this.joined = true;
    this.applyIce(reply);
    this.startTick();
    this.applyTransmit();
    for (const participant of reply.participants) {
      if (participant.user_id !== this.host.me()) this.peer(participant.user_id, true);
    }
    this.emit({ channelId, degraded: reply.ice_degraded });
  }

  /** The channel a refused join was for, so "Move here" can retry it with takeover. */
  pendingMoveChannel: Id | null = null;

  /** Retries the refused join, ending the voice session elsewhere. */
  moveHere(): Promise<void> {
    const channelId = this.pendingMoveChannel ?? this.view.channelId;
    this.pendingMoveChannel = null;
    return channelId ? this.join(channelId, true) : Promise.resolve();
  }

  /** Leaves voice. */
  async leave(tellServer = true): Promise<void> {
    const wasIn = this.view.channelId !== null;
    this.joined = false;
    for (const peer of this.peers.values()) this.closePeer(peer);
    this.peers.clear();
    this.peerSessions.clear();
    this.stopMedia();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.tick) clearInterval(this.tick);
    this.refreshTimer = null;
    this.tick = null;
    this.emit({ channelId: null, disconnection: null, speaking: false });
    if (tellServer && wasIn) await this.host.request('voice_leave', {}).catch(() => {});
  }

  /** Clears a shown disconnection without joining. */
  dismiss(): void {
    this.pendingMoveChannel = null;
    this.emit({ disconnection: null });
  }

  setMuted(muted: boolean): void {
    this.emit({ muted });
    this.applyTransmit();
    this.sendState();
  }

  /** Deafening also mutes; undeafening keeps the mute as it was before. */
  setDeafened(deafened: boolean): void {
    this.emit({ deafened });
    for (const peer of this.peers.values()) if (peer.audio) peer.audio.muted = deafened;
    this.applyTransmit();
    this.sendState();
  }

  setMode(mode: 'vad' | 'ptt', pttKey = this.prefs.pttKey): void {
    this.prefs = { ...this.prefs, mode, pttKey };
    savePrefs(this.prefs);
    this.emit({ mode, pttKey });
    this.applyTransmit();
  }

  /** Switches the microphone of a running call without renegotiating. */
  async setInput(deviceId: string | null): Promise<void> {
    this.prefs = { ...this.prefs, inputId: deviceId };
    savePrefs(this.prefs);
    if (!this.stream) return;
    const next = await this.openMicrophone();
    const track = next.getAudioTracks()[0];
    for (const peer of this.peers.values()) {
      for (const sender of peer.pc.getSenders()) if (sender.track?.kind === 'audio') await sender.replaceTrack(track);
    }
    this.stopMedia();
    this.stream = next;
    this.applyTransmit();
  }

  async setOutput(deviceId: string | null): Promise<void> {
    this.prefs = { ...this.prefs, outputId: deviceId };
    savePrefs(this.prefs);
    for (const peer of this.peers.values()) await this.route(peer);
  }

  get preferences(): VoicePrefs {
    return this.prefs;
  }

  /** The gateway connection dropped or came back. */
  setGatewayUp(up: boolean): void {
    this.gatewayUp = up;
    this.emit();
  }

  /** Gateway events that concern voice. */
  handleEvent(t: string, d: Record<string, unknown>): void {
    if (t === 'voice_signal') void this.onSignal(d.from as Id, d.signal as { description?: RTCSessionDescriptionInit; candidate?: RTCIceCandidateInit | null });
    else if (t === 'voice_state_update') this.onStateUpdate(d);
    else if (t === 'voice_session_replaced') {
      void this.leave(false).then(() => {
        this.pendingMoveChannel = d.channel_id as Id;
        this.emit({ disconnection: { reason: 'You joined voice from another tab', canMoveHere: true } });
      });
    } else if (t === 'ready' && this.view.channelId) {
      // A fresh gateway session: the server forgot this voice session, so join again.
      const channelId = this.view.channelId;
      void this.leave(false).then(() => this.join(channelId));
    }
  }

  private onStateUpdate(d: Record<string, unknown>): void {
    const userId = d.user_id as Id;
    if (userId === this.host.me() || !this.joined) return;
    const inMyChannel = d.channel_id === this.view.channelId;
    const known = this.peerSessions.get(userId);
    if (!inMyChannel || (known !== undefined && d.session_id !== known)) {
      const peer = this.peers.get(userId);
      if (peer) {
        this.closePeer(peer);
        this.peers.delete(userId);
      }
      this.peerSessions.delete(userId);
      this.emit();
    }
    if (inMyChannel && typeof d.session_id === 'string') this.peerSessions.set(userId, d.session_id);
  }

  private peer(userId: Id, initiate: boolean): Peer {
    const existing = this.peers.get(userId);
    if (existing) return existing;
    const peer = new Peer(userId, compareIds(this.host.me(), userId) < 0, this.config);
    this.peers.set(userId, peer);
    const pc = peer.pc;
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this.signal(userId, { description: pc.localDescription?.toJSON() });
      } catch {
        // A newer negotiation superseded this one.
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) peer.gatheredCandidates++;
      this.signal(userId, { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.onicecandidateerror = (event) => {
      const error = event as RTCPeerConnectionIceErrorEvent;
      if (error.errorCode === 401 || error.errorCode === 403) peer.authErrors++;
    };
    pc.onicegatheringstatechange = () => {
      peer.gatheringDone = pc.iceGatheringState === 'complete';
      this.emit();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'disconnected') peer.disconnectedAt ??= Date.now();
      else peer.disconnectedAt = null;
      if (pc.connectionState === 'connected') {
        peer.authErrors = 0;
        peer.restarting = false;
      }
      this.emit();
    };
    pc.ontrack = ({ streams, track }) => {
      const audio = peer.audio ?? document.createElement('audio');
      audio.autoplay = true;
      audio.muted = this.view.deafened;
      audio.dataset.peer = userId;
      audio.srcObject = streams[0] ?? new MediaStream([track]);
      if (!peer.audio) document.body.appendChild(audio);
      peer.audio = audio;
      void this.route(peer);
      void audio.play().catch(() => {});
    };
    if (this.stream) {
      for (const track of this.stream.getAudioTracks()) pc.addTrack(track, this.stream);
    } else if (initiate) {
      pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    this.emit();
    return peer;
  }

  private async onSignal(from: Id, signal: { description?: RTCSessionDescriptionInit; candidate?: RTCIceCandidateInit | null }): Promise<void> {
    if (!this.joined) return;
    const peer = this.peer(from, false);
    const pc = peer.pc;
    try {
      if (signal.description) {
        const description = signal.description;
        const collision = description.type === 'offer' && (peer.makingOffer || pc.signalingState !== 'stable');
        peer.ignoreOffer = !peer.polite && collision;
        if (peer.ignoreOffer) return;
        await pc.setRemoteDescription(description);
        for (const candidate of peer.pendingCandidates.splice(0)) await pc.addIceCandidate(candidate).catch(() => {});
        if (description.type === 'offer') {
          await pc.setLocalDescription();
          this.signal(from, { description: pc.localDescription?.toJSON() });
        }
      } else if (signal.candidate !== undefined) {
        const candidate = signal.candidate ?? undefined;
        if (!pc.remoteDescription) {
          if (candidate) peer.pendingCandidates.push(candidate);
          return;
        }
        await pc.addIceCandidate(candidate).catch((error) => {
          if (!peer.ignoreOffer) throw error;
        });
      }
    } catch {
      // A malformed or stale signal; the next negotiation repairs the connection.
    }
  }

  private signal(to: Id, signal: unknown): void {
    void this.host.request('voice_signal', { to, signal }).catch(() => {});
  }

  private async restart(peer: Peer): Promise<void> {
    await this.refreshIce().catch(() => {});
    peer.pc.setConfiguration(this.config);
    peer.gatheredCandidates = 0;
    peer.gatheringDone = false;
    peer.pc.restartIce();
  }

  private applyIce(ice: IceConfig): void {
    this.config = { iceServers: ice.ice_servers, iceTransportPolicy: ice.ice_transport_policy };
    for (const peer of this.peers.values()) peer.pc.setConfiguration(this.config);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (ice.expires_at) {
      const lifetime = ice.expires_at * 1000 - Date.now();
      this.refreshTimer = setTimeout(() => void this.refreshIce().catch(() => {}), Math.max(10_000, lifetime * 0.8));
    }
  }

  private async refreshIce(): Promise<void> {
    const ice = (await this.host.request('voice_refresh_ice', {})) as IceConfig;
    this.applyIce(ice);
    this.emit({ degraded: ice.ice_degraded });
  }

  private async openMicrophone(): Promise<MediaStream> {
    const processing = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    const inputId = this.prefs.inputId;
    if (inputId) {
      try {
        return await navigator.mediaDevices.getUserMedia({ audio: { ...processing, deviceId: { exact: inputId } } });
      } catch {
        // The saved device is gone: fall back to the default one.
      }
    }
    return navigator.mediaDevices.getUserMedia({ audio: processing });
  }

  private async route(peer: Peer): Promise<void> {
    const audio = peer.audio as (HTMLAudioElement & { setSinkId?(id: string): Promise<void> }) | null;
    if (audio?.setSinkId && this.prefs.outputId) await audio.setSinkId(this.prefs.outputId).catch(() => {});
  }

  private applyTransmit(): void {
    const on = transmitting(this.prefs.mode, this.view.muted, this.view.deafened, this.pttHeld);
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = on;
  }

  private sendState(): void {
    if (!this.view.channelId) return;
    const speaking = this.view.speaking && transmitting(this.prefs.mode, this.view.muted, this.view.deafened, this.pttHeld);
    void this.host.request('voice_state', { muted: this.view.muted, deafened: this.view.deafened, speaking }).catch(() => {});
  }

  private onKey(event: KeyboardEvent, down: boolean): void {
    if (this.prefs.mode !== 'ptt' || !this.view.channelId) return;
    // Pressing the key in a text field types; releasing it anywhere always releases.
    const relevant = down ? isPushToTalk(event, this.prefs.pttKey) : event.code === this.prefs.pttKey;
    if (relevant && !event.repeat) this.setPtt(down);
  }

  private setPtt(held: boolean): void {
    if (this.pttHeld === held) return;
    this.pttHeld = held;
    this.applyTransmit();
  }

  /** Every 250 ms: the speaking level; every 2 s: connection statistics and stale states. */
  private startTick(): void {
    if (this.tick) clearInterval(this.tick);
    let count = 0;
    this.tick = setInterval(() => {
      this.measureSpeaking();
      if (++count % 8 === 0) void this.collectStats();
      const now = Date.now();
      let restarted = false;
      for (const peer of this.peers.values()) {
        const state = peer.pc.connectionState;
        const lost = state === 'failed' || (peer.disconnectedAt !== null && now - peer.disconnectedAt > DISCONNECTED_GRACE_MS);
        // A negotiation whose offer or answer was lost (e.g. the gateway dropped mid-way)
        // never completes on its own; a restart sends a fresh offer.
        const stuck = (state === 'new' || state === 'connecting') && now - peer.startedAt > NEGOTIATION_TIMEOUT_MS;
        const refused = peer.authErrors > 0 && peer.gatheringDone && peer.gatheredCandidates === 0;
        // The impolite side restarts, so both ends do not offer at once; the polite side steps
        // in only if that does not happen.
        const myTurn = !peer.polite || now - peer.startedAt > 4 * RESTART_EVERY_MS;
        if ((lost || stuck) && !refused && myTurn && now - peer.startedAt > RESTART_EVERY_MS) {
          peer.startedAt = now;
          peer.restarting ||= lost;
          restarted = true;
          void this.restart(peer);
        } else if (lost && !peer.restarting) {
          peer.restarting = true;
          restarted = true;
        }
      }
      if (restarted) this.emit();
    }, 250);
  }

  private measureSpeaking(): void {
    if (!this.stream) return;
    if (!this.analyser) {
      try {
        this.audioContext ??= new AudioContext();
        this.source = this.audioContext.createMediaStreamSource(this.stream);
        this.analyser = this.audioContext.createAnalyser();
        this.analyser.fftSize = 512;
        this.source.connect(this.analyser);
      } catch {
        return;
      }
    }
    const samples = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
    const live = transmitting(this.prefs.mode, this.view.muted, this.view.deafened, this.pttHeld);
    const speaking = live && this.speaking.update(rms, Date.now());
    if (speaking !== this.view.speaking) {
      this.emit({ speaking });
      this.sendState();
    }
  }

  private async collectStats(): Promise<void> {
    for (const peer of this.peers.values()) {
      try {
        const stats = await peer.pc.getStats();
        let pair: (RTCIceCandidatePairStats & { selected?: boolean }) | undefined;
        const byId = new Map<string, RTCStats & Record<string, unknown>>();
        stats.forEach((s) => byId.set(s.id, s as RTCStats & Record<string, unknown>));
        stats.forEach((s) => {
          if (s.type === 'transport' && (s as RTCTransportStats).selectedCandidatePairId) {
            pair = byId.get((s as RTCTransportStats).selectedCandidatePairId!) as unknown as RTCIceCandidatePairStats;
          }
        });
        if (!pair) stats.forEach((s) => s.type === 'candidate-pair' && (s as RTCIceCandidatePairStats).nominated && (s as RTCIceCandidatePairStats).state === 'succeeded' && (pair = s as RTCIceCandidatePairStats));
        const local = pair ? byId.get(pair.localCandidateId) : undefined;
        let received = 0;
        let lost = 0;
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp') {
            received += Number((s as Record<string, unknown>).packetsReceived ?? 0);
            lost += Number((s as Record<string, unknown>).packetsLost ?? 0);
          }
        });
        const dReceived = received - peer.lastPackets.received;
        const dLost = lost - peer.lastPackets.lost;
        peer.lastPackets = { received, lost };
        peer.quality = {
          state: peer.pc.connectionState,
          rttMs: pair?.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null,
          lossPct: dReceived + dLost > 0 ? Math.round((100 * Math.max(0, dLost)) / (dReceived + dLost)) : null,
          path: local ? (local.candidateType === 'relay' ? 'relay' : 'direct') : null,
        };
      } catch {
        // The connection closed meanwhile.
      }
    }
    this.emit();
  }

  private closePeer(peer: Peer): void {
    peer.pc.onconnectionstatechange = null;
    peer.pc.close();
    peer.audio?.remove();
  }

  private stopMedia(): void {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.source?.disconnect();
    this.source = null;
    this.analyser = null;
  }
}
