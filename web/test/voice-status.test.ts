// The voice bar's rules: whether a page can use voice at all (HTTPS), phases from the join's progress and real peer states, when a connection gets an ICE restart,
// when a peer that never answers counts as unreachable, the transmit gate, push-to-talk keys, the speaking detector's hysteresis, who is shown as
// speaking, and what the page says when a join is refused or an admin ends the call.

import { describe, expect, it } from 'vitest';
import {
  codeSpans,
  decideIceRestart,
  DISCONNECTED_GRACE_MS,
  isPushToTalk,
  isUnreachable,
  joinRefusal,
  NEGOTIATION_TIMEOUT_MS,
  phaseLabel,
  RESTART_EVERY_MS,
  showsSpeaking,
  SpeakingDetector,
  speakingThresholds,
  transmitting,
  unreachableNote,
  voiceBlocker,
  voiceEndedText,
  voicePhase,
  type PeerReach,
  type PeerTimeline,
  type PeerView,
} from '../src/voice/status';

const peer = (connectionState: RTCPeerConnectionState, extra: Partial<PeerView> = {}): PeerView => ({ connectionState, ...extra });

describe('voicePhase', () => {
  it('is connected alone, and only when every peer is connected', () => {
    expect(voicePhase('joined', true, [], null)).toBe('connected');
    expect(voicePhase('joined', true, [peer('connected'), peer('connected')], null)).toBe('connected');
    expect(voicePhase('joined', true, [peer('connected'), peer('connecting')], null)).toBe('connecting');
    expect(voicePhase('joined', true, [peer('new')], null)).toBe('connecting');
  });

  it('says connecting while the join is under way, though nobody else is there yet', () => {
    // Microphone opening or voice_join not yet answered: no peers, and not connected either.
    expect(voicePhase('joining', true, [], null)).toBe('connecting');
    expect(phaseLabel(voicePhase('joining', true, [], null), 'Lounge', null)).toBe('Connecting…');
    // Not reconnecting either while the gateway is down: nothing was connected yet.
    expect(voicePhase('joining', false, [], null)).toBe('connecting');
    // A refused join still shows its reason.
    expect(voicePhase('joining', true, [], { reason: 'You are in this channel in another tab' })).toBe('disconnected');
    // Once the join completed, alone in the channel is connected.
    expect(phaseLabel(voicePhase('joined', true, [], null), 'Lounge', null)).toBe('Voice connected — Lounge');
  });

  it('says reconnecting as soon as a peer disconnects or fails', () => {
    expect(voicePhase('joined', true, [peer('connected'), peer('disconnected')], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('connected'), peer('failed')], null)).toBe('reconnecting');
  });

  it('stays reconnecting through an ICE restart until the peer connects again', () => {
    expect(voicePhase('joined', true, [peer('connecting', { restarting: true })], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('disconnected', { restarting: true })], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('connected', { restarting: true })], null)).toBe('connected');
  });

  it('is reconnecting while the gateway is down, and disconnected with a reason or a refused relay', () => {
    expect(voicePhase('joined', false, [peer('connected')], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('new', { relayRefused: true })], null)).toBe('disconnected');
    expect(voicePhase('out', true, [], { reason: 'another tab' })).toBe('disconnected');
    expect(voicePhase('out', true, [], null)).toBe('idle');
  });

  it('labels each phase', () => {
    expect(phaseLabel('connected', 'Lounge', null)).toBe('Voice connected — Lounge');
    expect(phaseLabel('disconnected', 'Lounge', { reason: 'You are in this channel in another tab' })).toBe(
      'Disconnected: You are in this channel in another tab',
    );
  });
});

/** A peer that started negotiating at 0 and has not been restarted. */
const timeline = (connectionState: RTCPeerConnectionState, extra: Partial<PeerTimeline> = {}): PeerTimeline => ({
  connectionState,
  polite: false,
  startedAt: 0,
  disconnectedAt: null,
  relayRefused: false,
  restarting: false,
  ...extra,
});

/** Runs the 250 ms check over a connection that stays in one state; returns when it restarted. */
function restartTimes(peer: PeerTimeline, until: number): number[] {
  const times: number[] = [];
  for (let now = 250; now <= until; now += 250) {
    const decision = decideIceRestart(peer, now);
    peer.restarting = decision.restarting;
    if (decision.restartNow) {
      peer.startedAt = now;
      times.push(now);
    }
  }
  return times;
}

describe('decideIceRestart', () => {
  it('restarts a failed connection once the last attempt is more than 1.5 s old, showing reconnecting at once', () => {
    expect(decideIceRestart(timeline('failed'), 100)).toEqual({ restartNow: false, restarting: true });
    expect(decideIceRestart(timeline('failed'), RESTART_EVERY_MS)).toEqual({ restartNow: false, restarting: true });
    expect(decideIceRestart(timeline('failed'), RESTART_EVERY_MS + 1)).toEqual({ restartNow: true, restarting: true });
  });

  it('counts a disconnected connection as lost only after the grace period', () => {
    const disconnected = timeline('disconnected', { disconnectedAt: 20_000 });
    expect(decideIceRestart(disconnected, 20_000 + DISCONNECTED_GRACE_MS)).toEqual({ restartNow: false, restarting: false });
    expect(decideIceRestart(disconnected, 20_000 + DISCONNECTED_GRACE_MS + 1)).toEqual({ restartNow: true, restarting: true });
  });

  it('leaves the restart to the impolite side, and the polite side steps in after four intervals', () => {
    const polite = timeline('failed', { polite: true });
    expect(decideIceRestart(polite, RESTART_EVERY_MS + 1)).toEqual({ restartNow: false, restarting: true });
    expect(decideIceRestart(polite, 4 * RESTART_EVERY_MS)).toEqual({ restartNow: false, restarting: true });
    expect(decideIceRestart(polite, 4 * RESTART_EVERY_MS + 1)).toEqual({ restartNow: true, restarting: true });
  });

  it('restarts a negotiation stuck past the timeout, on either side, without showing reconnecting', () => {
    expect(decideIceRestart(timeline('connecting'), NEGOTIATION_TIMEOUT_MS)).toEqual({ restartNow: false, restarting: false });
    expect(decideIceRestart(timeline('connecting'), NEGOTIATION_TIMEOUT_MS + 1)).toEqual({ restartNow: true, restarting: false });
    expect(decideIceRestart(timeline('new', { polite: true }), NEGOTIATION_TIMEOUT_MS + 1)).toEqual({ restartNow: true, restarting: false });
    // A restart under way stays shown as one through the next attempt.
    expect(decideIceRestart(timeline('connecting', { restarting: true }), NEGOTIATION_TIMEOUT_MS + 1)).toEqual({ restartNow: true, restarting: true });
  });

  it('leaves connected and closed connections alone', () => {
    expect(decideIceRestart(timeline('connected'), 60_000)).toEqual({ restartNow: false, restarting: false });
    expect(decideIceRestart(timeline('closed'), 60_000)).toEqual({ restartNow: false, restarting: false });
  });

  it('gives up on a connection whose relay refused our credentials', () => {
    expect(decideIceRestart(timeline('failed', { relayRefused: true }), 60_000)).toEqual({ restartNow: false, restarting: true });
    expect(decideIceRestart(timeline('connecting', { relayRefused: true }), 60_000)).toEqual({ restartNow: false, restarting: false });
  });

  it('keeps restarting a connection that stays failed, no more often than every 1.5 s', () => {
    expect(restartTimes(timeline('failed'), 10_000)).toEqual([1_750, 3_500, 5_250, 7_000, 8_750]);
    expect(restartTimes(timeline('failed', { polite: true }), 15_000)).toEqual([6_250, 12_500]);
  });
});

/** A peer first offered to at 0 that has never connected. */
const reach = (connectionState: RTCPeerConnectionState, extra: Partial<PeerReach> = {}): PeerReach => ({
  connectionState,
  firstStartedAt: 0,
  everConnected: false,
  ...extra,
});

describe('isUnreachable', () => {
  it('marks a peer that never connected once the negotiation timeout has passed, not before', () => {
    expect(isUnreachable(reach('new'), NEGOTIATION_TIMEOUT_MS)).toBe(false);
    expect(isUnreachable(reach('new'), NEGOTIATION_TIMEOUT_MS + 1)).toBe(true);
    expect(isUnreachable(reach('connecting'), NEGOTIATION_TIMEOUT_MS + 1)).toBe(true);
    // ICE checks that failed without ever succeeding are the same dead end.
    expect(isUnreachable(reach('failed'), NEGOTIATION_TIMEOUT_MS + 1)).toBe(true);
  });

  it('counts from the first offer, so restarts do not postpone it', () => {
    expect(isUnreachable(reach('connecting', { firstStartedAt: 5_000 }), 5_000 + NEGOTIATION_TIMEOUT_MS)).toBe(false);
    expect(isUnreachable(reach('connecting', { firstStartedAt: 5_000 }), 5_000 + NEGOTIATION_TIMEOUT_MS + 1)).toBe(true);
  });

  it('never marks a connected peer, nor one lost after it once connected (that is reconnecting)', () => {
    expect(isUnreachable(reach('connected'), 60_000)).toBe(false);
    expect(isUnreachable(reach('connected', { everConnected: true }), 60_000)).toBe(false);
    expect(isUnreachable(reach('disconnected', { everConnected: true }), 60_000)).toBe(false);
    expect(isUnreachable(reach('failed', { everConnected: true }), 60_000)).toBe(false);
  });
});

describe('voicePhase with an unreachable peer', () => {
  const silent = peer('new', { unreachable: true });

  it('is connected when the others are, and at least one is', () => {
    expect(voicePhase('joined', true, [peer('connected'), silent], null)).toBe('connected');
    expect(voicePhase('joined', true, [peer('connected'), peer('connected'), silent, peer('connecting', { unreachable: true })], null)).toBe('connected');
    // Whatever state the unreachable peer's own restarts leave it in.
    expect(voicePhase('joined', true, [peer('connected'), peer('failed', { unreachable: true, restarting: true })], null)).toBe('connected');
  });

  it('is connecting while nobody is connected yet', () => {
    expect(voicePhase('joined', true, [silent], null)).toBe('connecting');
    expect(voicePhase('joined', true, [silent, peer('connecting', { unreachable: true })], null)).toBe('connecting');
    expect(voicePhase('joined', true, [peer('connecting'), silent], null)).toBe('connecting');
  });

  it('still reconnects, refuses and waits for the gateway as without one', () => {
    expect(voicePhase('joined', true, [peer('disconnected'), silent], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('connecting', { restarting: true }), silent], null)).toBe('reconnecting');
    expect(voicePhase('joined', false, [peer('connected'), silent], null)).toBe('reconnecting');
    expect(voicePhase('joined', true, [peer('new', { relayRefused: true }), silent], null)).toBe('disconnected');
  });

  it('turns a bar stuck on Connecting… green after the timeout, naming who cannot be reached', () => {
    // amy joined at 0 and offered to bob and carol; bob answered and connected, carol never did.
    const bob = { ...reach('connected', { everConnected: true }), name: 'bob' };
    const carol = { ...reach('new'), name: 'carol' };
    const bar = (now: number) => {
      const views = [bob, carol].map((p) => ({ connectionState: p.connectionState, unreachable: isUnreachable(p, now), name: p.name }));
      const note = unreachableNote(views.filter((v) => v.unreachable).map((v) => v.name));
      return [phaseLabel(voicePhase('joined', true, views, null), 'Lounge', null), note];
    };
    expect(bar(2_000)).toEqual(['Connecting…', '']);
    expect(bar(NEGOTIATION_TIMEOUT_MS)).toEqual(['Connecting…', '']);
    expect(bar(NEGOTIATION_TIMEOUT_MS + 1)).toEqual(['Voice connected — Lounge', "can't reach carol"]);
  });
});

describe('unreachableNote', () => {
  it('names nobody, one, two or more peers', () => {
    expect(unreachableNote([])).toBe('');
    expect(unreachableNote(['carol'])).toBe("can't reach carol");
    expect(unreachableNote(['carol', 'dave'])).toBe("can't reach carol and dave");
    expect(unreachableNote(['carol', 'dave', 'erin'])).toBe("can't reach carol, dave and erin");
  });
});

describe('transmitting', () => {
  it('never sends while muted or deafened, and in push-to-talk only while the key is held', () => {
    expect(transmitting('vad', false, false, false)).toBe(true);
    expect(transmitting('vad', true, false, false)).toBe(false);
    expect(transmitting('vad', false, true, true)).toBe(false);
    expect(transmitting('ptt', false, false, false)).toBe(false);
    expect(transmitting('ptt', false, false, true)).toBe(true);
    // Unmuting cannot open a push-to-talk microphone by itself.
    expect(transmitting('ptt', true, false, true)).toBe(false);
  });
});

describe('isPushToTalk', () => {
  it('takes the configured key except while typing', () => {
    expect(isPushToTalk({ code: 'KeyV', target: { tagName: 'DIV' } }, 'KeyV')).toBe(true);
    expect(isPushToTalk({ code: 'Space', target: { tagName: 'DIV' } }, 'KeyV')).toBe(false);
    for (const tagName of ['INPUT', 'textarea', 'SELECT']) expect(isPushToTalk({ code: 'KeyV', target: { tagName } }, 'KeyV')).toBe(false);
    expect(isPushToTalk({ code: 'KeyV', target: { tagName: 'DIV', isContentEditable: true } }, 'KeyV')).toBe(false);
  });
});

describe('speakingThresholds', () => {
  it('keeps the thresholds the detector always had at the default sensitivity', () => {
    const { on, off } = speakingThresholds(50);
    expect(on).toBeCloseTo(0.02);
    expect(off).toBeCloseTo(0.01);
  });

  it('lowers the threshold as the sensitivity rises, ten times at either end', () => {
    expect(speakingThresholds(100).on).toBeCloseTo(0.002);
    expect(speakingThresholds(0).on).toBeCloseTo(0.2);
    expect(speakingThresholds(80).on).toBeLessThan(speakingThresholds(60).on);
    expect(speakingThresholds(150)).toEqual(speakingThresholds(100));
    expect(speakingThresholds(Number.NaN)).toEqual(speakingThresholds(50));
  });

  it('moves a running detector: a quiet voice counts once the sensitivity is high', () => {
    const detector = new SpeakingDetector();
    expect(detector.update(0.008, 0)).toBe(false);
    detector.setThresholds(speakingThresholds(90));
    expect(detector.update(0.008, 250)).toBe(true);
  });
});

describe('SpeakingDetector', () => {
  it('starts above the threshold and stops only after a quiet hangover', () => {
    const detector = new SpeakingDetector(0.02, 0.01, 400);
    expect(detector.update(0.005, 0)).toBe(false);
    expect(detector.update(0.05, 100)).toBe(true);
    expect(detector.update(0.015, 200)).toBe(true);
    expect(detector.update(0.001, 300)).toBe(true);
    expect(detector.update(0.001, 600)).toBe(true);
    expect(detector.update(0.001, 700)).toBe(false);
  });

  it('stays speaking through the short gaps between syllables', () => {
    const detector = new SpeakingDetector(0.02, 0.01, 400);
    for (let now = 0; now < 3_000; now += 250) {
      const inSyllable = now % 350 < 200;
      expect(detector.update(inSyllable ? 0.2 : 0, now)).toBe(true);
    }
  });

  it('starts silent again after a reset, as when the microphone is unmuted', () => {
    const detector = new SpeakingDetector(0.02, 0.01, 400);
    expect(detector.update(0.05, 0)).toBe(true);
    detector.reset();
    expect(detector.update(0, 250)).toBe(false);
    expect(detector.update(0.05, 500)).toBe(true);
  });
});

describe('showsSpeaking', () => {
  it('never shows someone muted, deafened or muted by an admin as speaking', () => {
    expect(showsSpeaking({ muted: false, deafened: false, speaking: true })).toBe(true);
    expect(showsSpeaking({ muted: false, deafened: false, speaking: false })).toBe(false);
    expect(showsSpeaking({ muted: true, deafened: false, speaking: true })).toBe(false);
    expect(showsSpeaking({ muted: false, deafened: true, speaking: true })).toBe(false);
    expect(showsSpeaking({ muted: false, deafened: false, speaking: true, server_muted: true })).toBe(false);
  });
});

describe('when the server ends or refuses voice', () => {
  it('says why an admin ended the call', () => {
    expect(voiceEndedText('moderator')).toBe('Disconnected by a moderator');
    expect(voiceEndedText('timed_out')).toBe('You were timed out');
    expect(voiceEndedText('voice_disabled')).toBe('An admin turned voice off');
    expect(voiceEndedText('something_new')).toBe('An admin ended your call');
  });

  it('says why a join was refused, offering Move here only for another tab', () => {
    expect(joinRefusal('already_in_channel', 'x')).toEqual({ reason: 'You are in this channel in another tab', canMoveHere: true });
    expect(joinRefusal('already_in_voice', 'x')).toEqual({ reason: 'You are in another voice channel in another tab', canMoveHere: true });
    expect(joinRefusal('voice_disabled', 'Voice is turned off on this server.')).toEqual({ reason: 'An admin turned voice off' });
    expect(joinRefusal('timed_out', 'An admin timed you out …')).toEqual({ reason: 'You are timed out' });
    expect(joinRefusal('not_found', 'Channel not found.')).toEqual({ reason: 'Channel not found.' });
    expect(joinRefusal(undefined, '')).toEqual({ reason: 'could not join' });
  });
});

describe('voiceBlocker', () => {
  const page = { secureContext: true, mediaDevices: true, peerConnection: true };

  it('lets a secure page with a microphone API and peer connections join', () => {
    expect(voiceBlocker(page)).toBeNull();
    // A browser too old to know isSecureContext is judged by what it has.
    expect(voiceBlocker({ ...page, secureContext: undefined })).toBeNull();
  });

  it('explains that plain HTTP needs HTTPS, whatever else the page lacks', () => {
    // An insecure page has no navigator.mediaDevices at all.
    const insecure = voiceBlocker({ secureContext: false, mediaDevices: false, peerConnection: true });
    expect(insecure?.blocked).toBe(true);
    expect(insecure?.reason).toMatch(/^Voice needs HTTPS/);
    expect(voicePhase('out', true, [], insecure)).toBe('disconnected');
    expect(phaseLabel('disconnected', '', insecure)).toBe("Voice needs HTTPS — the server's admin can turn it on with `tls.acme_domains`");
  });

  it('says the browser cannot do voice when a secure page lacks the APIs', () => {
    expect(voiceBlocker({ ...page, mediaDevices: false })?.reason).toBe('Voice is not available in this browser');
    expect(voiceBlocker({ ...page, peerConnection: false })?.reason).toBe('Voice is not available in this browser');
    expect(voiceBlocker({ ...page, secureContext: undefined, mediaDevices: false })?.blocked).toBe(true);
  });
});

describe('codeSpans', () => {
  it('shows the setting in the HTTPS explanation as code', () => {
    expect(codeSpans("Voice needs HTTPS — the server's admin can turn it on with `tls.acme_domains`")).toEqual([
      { text: "Voice needs HTTPS — the server's admin can turn it on with ", code: false },
      { text: 'tls.acme_domains', code: true },
    ]);
  });

  it('leaves labels without backticks, and a backtick without a partner, as text', () => {
    expect(codeSpans('Voice connected — Lounge')).toEqual([{ text: 'Voice connected — Lounge', code: false }]);
    expect(codeSpans('a `b` c ` d')).toEqual([
      { text: 'a ', code: false },
      { text: 'b', code: true },
      { text: ' c ` d', code: false },
    ]);
    expect(codeSpans('')).toEqual([]);
  });
});
