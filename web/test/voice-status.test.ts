// The voice bar's rules: phases from real peer states, when a connection gets an ICE restart,
// the transmit gate, push-to-talk keys, the speaking detector's hysteresis and who is shown as
// speaking.

import { describe, expect, it } from 'vitest';
import {
  decideIceRestart,
  DISCONNECTED_GRACE_MS,
  isPushToTalk,
  NEGOTIATION_TIMEOUT_MS,
  phaseLabel,
  RESTART_EVERY_MS,
  showsSpeaking,
  SpeakingDetector,
  transmitting,
  voicePhase,
  type PeerTimeline,
  type PeerView,
} from '../src/voice/status';

const peer = (connectionState: RTCPeerConnectionState, extra: Partial<PeerView> = {}): PeerView => ({ connectionState, ...extra });

describe('voicePhase', () => {
  it('is connected alone, and only when every peer is connected', () => {
    expect(voicePhase(true, true, [], null)).toBe('connected');
    expect(voicePhase(true, true, [peer('connected'), peer('connected')], null)).toBe('connected');
    expect(voicePhase(true, true, [peer('connected'), peer('connecting')], null)).toBe('connecting');
    expect(voicePhase(true, true, [peer('new')], null)).toBe('connecting');
  });

  it('says reconnecting as soon as a peer disconnects or fails', () => {
    expect(voicePhase(true, true, [peer('connected'), peer('disconnected')], null)).toBe('reconnecting');
    expect(voicePhase(true, true, [peer('connected'), peer('failed')], null)).toBe('reconnecting');
  });

  it('stays reconnecting through an ICE restart until the peer connects again', () => {
    expect(voicePhase(true, true, [peer('connecting', { restarting: true })], null)).toBe('reconnecting');
    expect(voicePhase(true, true, [peer('disconnected', { restarting: true })], null)).toBe('reconnecting');
    expect(voicePhase(true, true, [peer('connected', { restarting: true })], null)).toBe('connected');
  });

  it('is reconnecting while the gateway is down, and disconnected with a reason or a refused relay', () => {
    expect(voicePhase(true, false, [peer('connected')], null)).toBe('reconnecting');
    expect(voicePhase(true, true, [peer('new', { relayRefused: true })], null)).toBe('disconnected');
    expect(voicePhase(false, true, [], { reason: 'another tab' })).toBe('disconnected');
    expect(voicePhase(false, true, [], null)).toBe('idle');
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
  it('never shows someone muted or deafened as speaking', () => {
    expect(showsSpeaking({ muted: false, deafened: false, speaking: true })).toBe(true);
    expect(showsSpeaking({ muted: false, deafened: false, speaking: false })).toBe(false);
    expect(showsSpeaking({ muted: true, deafened: false, speaking: true })).toBe(false);
    expect(showsSpeaking({ muted: false, deafened: true, speaking: true })).toBe(false);
  });
});
