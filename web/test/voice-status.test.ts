// The voice bar's rules: phases from real peer states, the transmit gate, push-to-talk keys,
// and the speaking detector's hysteresis.

import { describe, expect, it } from 'vitest';
import { isPushToTalk, phaseLabel, SpeakingDetector, transmitting, voicePhase, type PeerView } from '../src/voice/status';

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
});
