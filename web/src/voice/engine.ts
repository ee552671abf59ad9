// The voice engine: joins and leaves, one peer connection per participant (full mesh; the
// newcomer offers, peer.ts negotiates; what arrives while our join is in flight waits for it,
// see joining.ts), ICE restart on failure and marking peers that never answer (the policies are
// in status.ts), credential refresh before expiry, push-to-talk and the speaking threshold
// (the user's server preferences, see `setTuning`), an admin's server mute and the end of a
// call an admin ended, and a view for the voice bar derived from the real connection states
// (view.ts).

import type { IceConfig, Id, JoinReply } from '../api/protocol';
import { joinBacklog, type HeldVoiceEvent } from './joining';
import { Microphone, openMicrophone, playRemote, routeToOutput } from './media';
import { Peer, type PeerHost, type Signal } from './peer';
import { loadDevices, saveDevices, type DevicePrefs } from './prefs';
import { decideIceRestart, isUnreachable, joinRefusal, SpeakingDetector, speakingThresholds, transmitting, voiceBlocker, voiceEndedText } from './status';
import { DEFAULT_TUNING, PushToTalkKey, type VoiceTuning } from './talking';
import { deriveView, idleView, type VoiceView } from './view';

export type { VoiceView } from './view';
export type { VoiceTuning } from './talking';

/** What the engine needs from the rest of the app. */
export interface VoiceHost {
  me(): Id;
  request(op: string, d: unknown): Promise<unknown>;
  changed(view: VoiceView): void;
}

export class VoiceEngine {
  private peers = new Map<Id, Peer>();
  private peerSessions = new Map<Id, string>();
  private microphone = new Microphone();
  private config: RTCConfiguration = {};
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private tick: ReturnType<typeof setInterval> | null = null;
  private speaking = new SpeakingDetector();
  private readonly ptt = new PushToTalkKey(
    () => (this.tuning.mode === 'ptt' && this.view.channelId ? this.tuning.pttKey : null),
    () => this.applyTransmit(),
  );
  private gatewayUp = true;
  /** Set once the microphone is open and the server confirmed the join; the bar says
   * connecting until then. */
  private joined = false;
  /** Voice events that came while our `voice_join` was in flight, applied once it is
   * confirmed (see joining.ts); null when no join is in flight. */
  private held: HeldVoiceEvent[] | null = null;
  /** Counts joins and call ends, so a join that something else overtook while it waited for
   * the microphone or the server stops there. */
  private attempt = 0;
  private devices = loadDevices();
  private tuning: VoiceTuning = DEFAULT_TUNING;
  private view: VoiceView = idleView(this.tuning);
  private readonly peerHost: PeerHost = {
    signal: (peer, signal) => this.signal(peer.userId, signal),
    changed: () => this.emit(),
    heard: (peer, stream) => {
      peer.audio = playRemote(peer.audio, peer.userId, stream, this.view.deafened, this.devices.outputId);
    },
  };

  constructor(private readonly host: VoiceHost) {}

  get state(): VoiceView {
    return this.view;
  }

  private emit(patch: Partial<VoiceView> = {}): void {
    this.view = deriveView({ ...this.view, ...patch }, [...this.peers.values()], this.joined, this.gatewayUp);
    this.host.changed(this.view);
  }

  /** Joins a voice channel (leaving any other), optionally taking over from another tab. */
  async join(channelId: Id, takeover = false): Promise<void> {
    // Plain HTTP on a real name has no microphone: explain instead of failing.
    const blocked = voiceBlocker({
      secureContext: globalThis.isSecureContext,
      mediaDevices: typeof navigator !== 'undefined' && navigator.mediaDevices !== undefined,
      peerConnection: typeof RTCPeerConnection === 'function',
    });
    if (blocked) {
      this.emit({ disconnection: blocked, notice: null });
      return;
    }
    this.microphone.wake();
    if (this.view.channelId) this.endCall();
    const attempt = ++this.attempt;
    // Connecting until the microphone is open and the server has accepted the join.
    this.emit({ channelId: channelId, disconnection: null, notice: null });
    let stream: MediaStream;
    try {
      stream = await openMicrophone(this.devices.inputId);
    } catch {
      if (attempt === this.attempt) this.emit({ channelId: null, disconnection: { reason: 'no microphone could be opened' } });
      return;
    }
    if (attempt !== this.attempt) {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    this.microphone.stream = stream;
    this.held = [];
    let reply: JoinReply;
    try {
      reply = (await this.host.request('voice_join', { channel_id: channelId, takeover })) as JoinReply;
    } catch (error) {
      if (attempt !== this.attempt) return;
      this.held = null;
      this.stopMedia();
      this.emit({ channelId: null, disconnection: joinRefusal((error as { code?: string }).code, (error as Error).message) });
      this.pendingMoveChannel = channelId;
      return;
    }
    // Overtaken by a leave (which told the server) or another join (which moves us there).
    if (attempt !== this.attempt) return;
    const held = this.held ?? [];
    this.held = null;
    this.joined = true;
    this.applyIce(reply);
    this.startTick();
    this.applyTransmit();
    for (const participant of reply.participants) {
      if (participant.user_id !== this.host.me()) this.peer(participant.user_id, true);
    }
    this.emit({ channelId, degraded: reply.ice_degraded });
    const participants = reply.participants.map((p) => p.user_id);
    for (const event of joinBacklog(held, channelId, participants)) {
      if (event.t === 'voice_signal') void this.onSignal(event.from, event.signal);
      else this.onStateUpdate(event.d);
    }
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
    this.endCall();
    if (tellServer && wasIn) await this.host.request('voice_leave', {}).catch(() => {});
  }

  /** Ends the call here and now: every peer connection closed, the microphone released, timers
   * stopped, a join in flight abandoned, and the bar gone. */
  private endCall(): void {
    this.attempt++;
    this.joined = false;
    this.held = null;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.peerSessions.clear();
    this.stopMedia();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.tick) clearInterval(this.tick);
    this.refreshTimer = null;
    this.tick = null;
    this.emit({ channelId: null, disconnection: null, speaking: false, serverMuted: false });
  }

  /** Clears a shown disconnection or notice without joining. */
  dismiss(): void {
    this.pendingMoveChannel = null;
    this.emit({ disconnection: null, notice: null });
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

  /** Applies the user's voice preferences (at login, and whenever they change on any device),
   * in a call too: a push-to-talk key held under the old settings counts as released. */
  setTuning(tuning: VoiceTuning): void {
    const rekeyed = tuning.mode !== this.tuning.mode || tuning.pttKey !== this.tuning.pttKey;
    this.tuning = tuning;
    this.speaking.setThresholds(speakingThresholds(tuning.sensitivity));
    if (rekeyed) this.ptt.release();
    this.emit({ mode: tuning.mode, pttKey: tuning.pttKey, sensitivity: tuning.sensitivity });
    this.applyTransmit();
  }

  /** Switches the microphone of a running call without renegotiating. */
  async setInput(deviceId: string | null): Promise<void> {
    this.devices = { ...this.devices, inputId: deviceId };
    saveDevices(this.devices);
    if (!this.microphone.stream) return;
    const next = await openMicrophone(this.devices.inputId);
    const track = next.getAudioTracks()[0];
    for (const peer of this.peers.values()) {
      for (const sender of peer.pc.getSenders()) if (sender.track?.kind === 'audio') await sender.replaceTrack(track);
    }
    this.stopMedia();
    this.microphone.stream = next;
    this.applyTransmit();
  }

  async setOutput(deviceId: string | null): Promise<void> {
    this.devices = { ...this.devices, outputId: deviceId };
    saveDevices(this.devices);
    for (const peer of this.peers.values()) await routeToOutput(peer.audio, this.devices.outputId);
  }

  /** This browser's microphone and speaker. */
  get chosenDevices(): DevicePrefs {
    return this.devices;
  }

  /** The gateway connection dropped or came back. */
  setGatewayUp(up: boolean): void {
    this.gatewayUp = up;
    this.emit();
  }

  /** Gateway events that concern voice. */
  handleEvent(t: string, d: Record<string, unknown>): void {
    if (t === 'voice_signal') this.receiveSignal(d.from as Id, d.signal as Signal);
    else if (t === 'voice_state_update') this.onStateUpdate(d);
    else if (t === 'voice_session_replaced') {
      this.endCall();
      this.pendingMoveChannel = d.channel_id as Id;
      this.emit({ disconnection: { reason: 'You joined voice from another tab', canMoveHere: true } });
    } else if (t === 'voice_disconnected') {
      // An admin took us out, timed us out or turned voice off: the server already let go.
      this.endCall();
      this.emit({ notice: voiceEndedText(String(d.reason)) });
    } else if (t === 'ready' && this.view.channelId) {
      // A fresh gateway session: the server forgot this voice session, so join again.
      const channelId = this.view.channelId;
      this.endCall();
      void this.join(channelId);
    }
  }

  private onStateUpdate(d: Record<string, unknown>): void {
    const userId = d.user_id as Id;
    if (userId === this.host.me()) {
      this.onOwnState(d);
      return;
    }
    if (this.held) {
      this.held.push({ t: 'voice_state_update', d });
      return;
    }
    if (!this.joined) return;
    const inMyChannel = d.channel_id === this.view.channelId;
    const known = this.peerSessions.get(userId);
    if (!inMyChannel || (known !== undefined && d.session_id !== known)) {
      const peer = this.peers.get(userId);
      if (peer) {
        peer.close();
        this.peers.delete(userId);
      }
      this.peerSessions.delete(userId);
      this.emit();
    }
    if (inMyChannel && typeof d.session_id === 'string') this.peerSessions.set(userId, d.session_id);
  }

  /** Our own state as the server announces it: whether an admin server-muted us. It may come
   * before the join's reply (the server announces the join first), so it is applied at once. */
  private onOwnState(d: Record<string, unknown>): void {
    const serverMuted = d.channel_id !== null && d.server_muted === true;
    if (serverMuted === this.view.serverMuted) return;
    // The speaking ring goes out on the next level reading, which finds the microphone closed.
    this.emit({ serverMuted });
    this.applyTransmit();
  }

  /** The connection to a participant, made on first need: as the newcomer (`initiate`) or on
   * their first signal. */
  private peer(userId: Id, initiate: boolean): Peer {
    const existing = this.peers.get(userId);
    if (existing) return existing;
    const peer = new Peer(this.host.me(), userId, this.config, this.peerHost);
    this.peers.set(userId, peer);
    const stream = this.microphone.stream;
    if (stream) {
      for (const track of stream.getAudioTracks()) peer.pc.addTrack(track, stream);
    } else if (initiate) {
      peer.pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    this.emit();
    return peer;
  }

  /** A signal from a participant: held while our join is in flight, dropped when we are not
   * in voice (it belongs to a call that ended). */
  private receiveSignal(from: Id, signal: Signal): void {
    if (this.held) this.held.push({ t: 'voice_signal', from, signal });
    else void this.onSignal(from, signal);
  }

  private async onSignal(from: Id, signal: Signal): Promise<void> {
    if (!this.joined) return;
    await this.peer(from, false).receive(signal);
  }

  private signal(to: Id, signal: Signal): void {
    void this.host.request('voice_signal', { to, signal }).catch(() => {});
  }

  private async restart(peer: Peer): Promise<void> {
    await this.refreshIce().catch(() => {});
    // The call may have ended, or the peer been replaced, while the servers were fetched.
    if (this.peers.get(peer.userId) === peer) await peer.restartIce(this.config);
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

  /** Whether the microphone sends now: not while muted by the user or by an admin, deafened,
   * or with push-to-talk released. */
  private get live(): boolean {
    return transmitting(this.tuning.mode, this.view.muted || this.view.serverMuted, this.view.deafened, this.ptt.held);
  }

  private applyTransmit(): void {
    this.microphone.setSending(this.live);
  }

  private sendState(): void {
    if (!this.view.channelId) return;
    const speaking = this.view.speaking && this.live;
    void this.host.request('voice_state', { muted: this.view.muted, deafened: this.view.deafened, speaking }).catch(() => {});
  }

  /** Every 250 ms: the speaking level, and lost, stuck or unreachable connections; every 2 s: connection statistics. */
  private startTick(): void {
    if (this.tick) clearInterval(this.tick);
    let count = 0;
    this.tick = setInterval(() => {
      this.measureSpeaking();
      if (++count % 8 === 0) void this.collectStats();
      this.restartLostOrStuckPeers(Date.now());
    }, 250);
  }

  private restartLostOrStuckPeers(now: number): void {
    let changed = false;
    for (const peer of this.peers.values()) {
      const { restartNow, restarting } = decideIceRestart(peer, now);
      const unreachable = isUnreachable(peer, now);
      changed ||= restartNow || restarting !== peer.restarting || unreachable !== peer.unreachable;
      peer.restarting = restarting;
      peer.unreachable = unreachable;
      // Without the gateway the restart's offer could not reach the peer; it waits for it.
      if (restartNow && this.gatewayUp) {
        peer.startedAt = now;
        void this.restart(peer);
      }
    }
    if (changed) this.emit();
  }

  private measureSpeaking(): void {
    const level = this.microphone.level();
    if (level === null) return;
    const live = this.live;
    if (!live) this.speaking.reset();
    const speaking = live && this.speaking.update(level, Date.now());
    if (speaking !== this.view.speaking) {
      this.emit({ speaking });
      this.sendState();
    }
  }

  private async collectStats(): Promise<void> {
    for (const peer of this.peers.values()) await peer.measureQuality();
    this.emit();
  }

  /** Closes the microphone; the detector forgets, so a reopened one starts out silent. */
  private stopMedia(): void {
    this.microphone.close();
    this.speaking.reset();
  }
}
