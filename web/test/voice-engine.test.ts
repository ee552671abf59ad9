// The voice engine against stand-in browser objects and a scripted server: signals that arrive
// while our join is in flight wait for it (leftovers from another channel do not), an admin's
// disconnect ends the call completely and says why, a server mute stops sending until lifted,
// a join refused because voice is off says so, and the user's preferences (push-to-talk, its key,
// the sensitivity) apply in a running call.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoinReply } from '../src/api/protocol';
import { VoiceEngine, type VoiceView } from '../src/voice/engine';
import type { Signal } from '../src/voice/peer';
import { fakeBrowser, FakePeerConnection, type FakeStream, settle } from './fake-browser';

const ME = '5';
const CHANNEL = '100';

interface Sent {
  op: string;
  d: Record<string, unknown>;
}

let streams: FakeStream[];
let sent: Sent[];
let view: VoiceView;
let answerJoin: (reply: JoinReply) => void;
let refuseJoin: (error: Error) => void;
let engine: VoiceEngine;

const reply = (...others: string[]): JoinReply => ({
  channel_id: CHANNEL,
  session_id: 'mine',
  participants: [ME, ...others].map((user_id) => ({ user_id })),
  ice_servers: [],
  ice_transport_policy: 'all',
  expires_at: null,
  ice_degraded: false,
});

const state = (userId: string, channelId: string | null, extra: Record<string, unknown> = {}) => ({
  user_id: userId,
  channel_id: channelId,
  session_id: `session-${userId}`,
  muted: false,
  deafened: false,
  speaking: false,
  ...extra,
});

/** The signals the engine sent to `to`. */
const signalsTo = (to: string) => sent.filter((s) => s.op === 'voice_signal' && s.d.to === to).map((s) => s.d.signal as Signal);

/** Starts a join and waits until its `voice_join` is with the server; `joining` ends with it. */
async function startJoin(): Promise<{ joining: Promise<void> }> {
  const joining = engine.join(CHANNEL);
  await settle();
  expect(sent.map((s) => s.op)).toContain('voice_join');
  return { joining };
}

/** Joins with `others` already in the channel. */
async function joinWith(...others: string[]): Promise<void> {
  const { joining } = await startJoin();
  answerJoin(reply(...others));
  await joining;
  await settle();
}

beforeEach(() => {
  ({ streams } = fakeBrowser());
  sent = [];
  engine = new VoiceEngine({
    me: () => ME,
    request: (op, d) => {
      sent.push({ op, d: d as Record<string, unknown> });
      if (op !== 'voice_join') return Promise.resolve({});
      return new Promise((resolve, reject) => {
        answerJoin = resolve;
        refuseJoin = reject;
      });
    },
    changed: (next) => (view = next),
  });
});

afterEach(async () => {
  await engine.leave(false);
  vi.unstubAllGlobals();
});

describe('signals while joining', () => {
  it('answers an offer that came before our join was confirmed, and drops leftovers from elsewhere', async () => {
    const { joining } = await startJoin();
    // Someone joins right after us and offers before the server has answered our join; a
    // participant of the channel we were in sends a last candidate.
    engine.handleEvent('voice_state_update', state('7', CHANNEL));
    engine.handleEvent('voice_signal', { from: '7', signal: { description: { type: 'offer', sdp: 'offer-from-7' } } });
    engine.handleEvent('voice_signal', { from: '7', signal: { candidate: { candidate: 'candidate-from-7' } } });
    engine.handleEvent('voice_signal', { from: '9', signal: { candidate: { candidate: 'stale' } } });
    expect(FakePeerConnection.all).toHaveLength(0);

    answerJoin(reply());
    await joining;
    await settle();
    expect(FakePeerConnection.all).toHaveLength(1);
    const [pc] = FakePeerConnection.all;
    expect(pc.remoteDescription?.sdp).toBe('offer-from-7');
    expect(pc.candidates).toEqual([{ candidate: 'candidate-from-7' }]);
    expect(signalsTo('7').map((s) => s.description?.type).filter(Boolean)).toEqual(['answer']);
    expect(signalsTo('9')).toEqual([]);
  });

  it('applies a signal from a participant the reply lists even without a state update', async () => {
    const { joining } = await startJoin();
    engine.handleEvent('voice_signal', { from: '7', signal: { candidate: { candidate: 'early' } } });
    answerJoin(reply('7'));
    await joining;
    await settle();
    // We are the newcomer and offer to 7; its early candidate waits for its answer.
    expect(FakePeerConnection.all).toHaveLength(1);
    expect(signalsTo('7').some((s) => s.description?.type === 'offer')).toBe(true);
  });

  it('forgets what it held when the join is refused', async () => {
    const { joining } = await startJoin();
    engine.handleEvent('voice_state_update', state('7', CHANNEL));
    engine.handleEvent('voice_signal', { from: '7', signal: { description: { type: 'offer', sdp: 'x' } } });
    refuseJoin(Object.assign(new Error('Voice is turned off on this server.'), { code: 'voice_disabled' }));
    await joining;
    await settle();
    expect(FakePeerConnection.all).toHaveLength(0);
    expect(view.phase).toBe('disconnected');
    expect(view.disconnection?.reason).toBe('An admin turned voice off');
    expect(streams[0].track.stopped).toBe(true);
  });
});

describe('when an admin ends the call', () => {
  it('closes every connection, releases the microphone, drops the bar and says why', async () => {
    await joinWith('7', '8');
    expect(FakePeerConnection.all).toHaveLength(2);
    expect(view.phase).not.toBe('idle');

    engine.handleEvent('voice_disconnected', { channel_id: CHANNEL, reason: 'moderator' });
    expect(FakePeerConnection.all.every((pc) => pc.closed)).toBe(true);
    expect(streams[0].track.stopped).toBe(true);
    expect(view).toMatchObject({ phase: 'idle', channelId: null, notice: 'Disconnected by a moderator' });

    // A signal still on its way starts nothing.
    engine.handleEvent('voice_signal', { from: '7', signal: { description: { type: 'offer', sdp: 'late' } } });
    await settle();
    expect(FakePeerConnection.all).toHaveLength(2);

    engine.dismiss();
    expect(view.notice).toBeNull();
  });

  it('says a timeout or voice turned off in words', async () => {
    await joinWith();
    engine.handleEvent('voice_disconnected', { channel_id: CHANNEL, reason: 'timed_out' });
    expect(view.notice).toBe('You were timed out');
    await joinWith();
    expect(view.notice).toBeNull();
    engine.handleEvent('voice_disconnected', { channel_id: CHANNEL, reason: 'voice_disabled' });
    expect(view.notice).toBe('An admin turned voice off');
  });
});

describe('server mute', () => {
  it('stops sending, cannot be unmuted here, and lifting it restores the user\'s own choice', async () => {
    await joinWith('7');
    const track = streams[0].track;
    expect(track.enabled).toBe(true);

    engine.handleEvent('voice_state_update', state(ME, CHANNEL, { session_id: 'mine', server_muted: true }));
    expect(view.serverMuted).toBe(true);
    expect(track.enabled).toBe(false);
    engine.setMuted(false);
    expect(track.enabled).toBe(false);

    engine.setMuted(true);
    engine.handleEvent('voice_state_update', state(ME, CHANNEL, { session_id: 'mine', muted: true }));
    expect(view.serverMuted).toBe(false);
    expect(track.enabled).toBe(false);
    engine.setMuted(false);
    expect(track.enabled).toBe(true);
  });

  it('holds from the first moment when the server announces it before the join is confirmed', async () => {
    const { joining } = await startJoin();
    engine.handleEvent('voice_state_update', state(ME, CHANNEL, { session_id: 'mine', server_muted: true }));
    answerJoin(reply('7'));
    await joining;
    await settle();
    expect(view.serverMuted).toBe(true);
    expect(streams[0].track.enabled).toBe(false);
  });
});

describe('preferences', () => {
  it('applies push-to-talk in a running call, and voice activity again, with the view saying so', async () => {
    await joinWith('7');
    const track = streams[0].track;
    expect(track.enabled).toBe(true);
    expect(view).toMatchObject({ mode: 'vad', pttKey: 'KeyV', sensitivity: 50 });

    engine.setTuning({ mode: 'ptt', pttKey: 'KeyB', sensitivity: 80 });
    expect(view).toMatchObject({ mode: 'ptt', pttKey: 'KeyB', sensitivity: 80 });
    expect(track.enabled).toBe(false);

    engine.setTuning({ mode: 'vad', pttKey: 'KeyB', sensitivity: 80 });
    expect(track.enabled).toBe(true);
  });

  it('keeps a mute when the mode changes', async () => {
    await joinWith();
    engine.setMuted(true);
    engine.setTuning({ mode: 'vad', pttKey: 'KeyV', sensitivity: 20 });
    expect(streams[0].track.enabled).toBe(false);
  });
});
