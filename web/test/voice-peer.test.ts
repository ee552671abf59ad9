// One peer connection's negotiation against a stand-in RTCPeerConnection: an ICE restart offers
// even over an offer that went unanswered too long (and waits for one that is merely recent), a
// restart from a stable state offers once, and perfect negotiation settles two offers that cross.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ANSWER_TIMEOUT_MS, Peer, type PeerHost, type Signal } from '../src/voice/peer';
import { fakeBrowser, FakePeerConnection, FakeTrack, settle } from './fake-browser';

/** A peer of user `me` to user `them`, with the signals it sends. */
function peerBetween(me: string, them: string): { peer: Peer; pc: FakePeerConnection; sent: Signal[] } {
  const sent: Signal[] = [];
  const host: PeerHost = { signal: (_peer, signal) => sent.push(signal), changed: () => {}, heard: () => {} };
  const peer = new Peer(me, them, {}, host);
  return { peer, pc: peer.pc as unknown as FakePeerConnection, sent };
}

const offersIn = (sent: Signal[]) => sent.filter((s) => s.description?.type === 'offer').map((s) => s.description?.sdp);

beforeEach(() => {
  fakeBrowser();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Peer.restartIce', () => {
  it('offers again at once, with new ICE credentials, over an offer that was never answered', async () => {
    const { peer, pc, sent } = peerBetween('2', '1');
    pc.addTrack(new FakeTrack());
    await settle();
    expect(offersIn(sent)).toHaveLength(1);
    expect(pc.signalingState).toBe('have-local-offer');

    // The answer never comes (lost, or the peer never answered): the browser would wait for a
    // stable state before asking for the restart offer, which never comes either.
    const fresh = { iceServers: [{ urls: 'turn:relay.test:3478', username: 'u', credential: 'c' }] };
    await peer.restartIce(fresh, Date.now() + ANSWER_TIMEOUT_MS);
    await settle();
    const offers = offersIn(sent);
    expect(offers).toHaveLength(2);
    expect(offers[1]).toMatch(/ice-restart$/);
    expect(pc.config).toBe(fresh);

    // The answer to the new offer completes the negotiation without another offer.
    await peer.receive({ description: { type: 'answer', sdp: 'their-answer' } });
    await settle();
    expect(pc.signalingState).toBe('stable');
    expect(offersIn(sent)).toHaveLength(2);
  });

  it('waits for the answer to a recent offer, then offers the restart', async () => {
    const { peer, pc, sent } = peerBetween('2', '1');
    pc.addTrack(new FakeTrack());
    await settle();
    await peer.restartIce({});
    await settle();
    expect(offersIn(sent)).toHaveLength(1);

    await peer.receive({ description: { type: 'answer', sdp: 'their-answer' } });
    await settle();
    const offers = offersIn(sent);
    expect(offers).toHaveLength(2);
    expect(offers[1]).toMatch(/ice-restart$/);
  });

  it('offers once from a stable state', async () => {
    const { peer, pc, sent } = peerBetween('2', '1');
    pc.addTrack(new FakeTrack());
    await settle();
    await peer.receive({ description: { type: 'answer', sdp: 'their-answer' } });
    expect(pc.signalingState).toBe('stable');

    await peer.restartIce({});
    await settle();
    const offers = offersIn(sent);
    expect(offers).toHaveLength(2);
    expect(offers[1]).toMatch(/ice-restart$/);
  });
});

describe('perfect negotiation', () => {
  it('when offers cross, the impolite side ignores the other offer and the polite side answers it', async () => {
    const impolite = peerBetween('2', '1');
    const polite = peerBetween('1', '2');
    expect([impolite.peer.polite, polite.peer.polite]).toEqual([false, true]);
    impolite.pc.addTrack(new FakeTrack());
    polite.pc.addTrack(new FakeTrack());
    await settle();
    const [impoliteOffer] = impolite.sent;
    const [politeOffer] = polite.sent;

    await impolite.peer.receive(politeOffer);
    expect(impolite.pc.signalingState).toBe('have-local-offer');
    expect(impolite.sent).toHaveLength(1);

    await polite.peer.receive(impoliteOffer);
    const answer = polite.sent.at(-1);
    expect(answer?.description?.type).toBe('answer');
    await impolite.peer.receive(answer!);
    expect(impolite.pc.signalingState).toBe('stable');
  });

  it('keeps candidates that arrive before the description, and adds them after it', async () => {
    const { peer, pc, sent } = peerBetween('1', '2');
    await peer.receive({ candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ relay' } });
    expect(pc.candidates).toHaveLength(0);
    await peer.receive({ description: { type: 'offer', sdp: 'their-offer' } });
    expect(pc.candidates).toHaveLength(1);
    expect(sent.at(-1)?.description?.type).toBe('answer');
  });
});
