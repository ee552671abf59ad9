// The connection test's rules: which URL tests what, how candidates and ICE errors read, the
// verdicts and hints of each check (a blocked UDP means little when TCP works), the loopback
// call's loss and round-trip figures, and what a refused request for ICE servers says.

import { describe, expect, it } from 'vitest';
import {
  describeCandidate,
  endpointOf,
  iceRefusalText,
  judgeCall,
  judgeGateway,
  judgeStun,
  judgeTurn,
  pingStats,
  planIce,
  summarize,
  turnVerdict,
  urlKind,
  waitingResults,
  type CandidateInfo,
  type CheckResult,
  type GatherOutcome,
  type TurnVerdict,
} from '../src/voice/connectionTest';

const builtin: RTCIceServer[] = [
  { urls: ['stun:chat.example.org:3478'] },
  {
    urls: ['turn:chat.example.org:3478?transport=udp', 'turn:chat.example.org:443?transport=tcp', 'turns:chat.example.org:443?transport=tcp'],
    username: '1795573200:-42',
    credential: 'c2VjcmV0',
  },
];

const outcome = (patch: Partial<GatherOutcome> = {}): GatherOutcome => ({ candidates: [], errors: [], timedOut: false, ms: 120, ...patch });
const host: CandidateInfo = { type: 'host', relayProtocol: null, address: '3b1c2d.local:50000' };
const relay = (relayProtocol: CandidateInfo['relayProtocol'], address = '203.0.113.5:50123'): CandidateInfo => ({ type: 'relay', relayProtocol, address });

describe('urlKind and planIce', () => {
  it('tells STUN from TURN over UDP, TCP and TLS', () => {
    expect(urlKind('stun:h:3478')).toBe('stun');
    expect(urlKind('turn:h:3478?transport=udp')).toBe('udp');
    expect(urlKind('turn:h:3478')).toBe('udp');
    expect(urlKind('turn:h:443?transport=tcp')).toBe('tcp');
    expect(urlKind('TURN:h:443?transport=TCP')).toBe('tcp');
    expect(urlKind('turns:h:443?transport=tcp')).toBe('tls');
    expect(urlKind('turns:h:5349')).toBe('tls');
    expect(urlKind('https://h')).toBeNull();
  });

  it('gives each check only its URLs, keeping the credentials with the TURN ones', () => {
    const plan = planIce(builtin);
    expect(plan.stun).toEqual([{ urls: ['stun:chat.example.org:3478'] }]);
    const credentials = { username: '1795573200:-42', credential: 'c2VjcmV0' };
    expect(plan.turn.udp).toEqual([{ urls: ['turn:chat.example.org:3478?transport=udp'], ...credentials }]);
    expect(plan.turn.tcp).toEqual([{ urls: ['turn:chat.example.org:443?transport=tcp'], ...credentials }]);
    expect(plan.turn.tls).toEqual([{ urls: ['turns:chat.example.org:443?transport=tcp'], ...credentials }]);
    expect(plan.allTurn).toEqual([{ urls: builtin[1].urls, ...credentials }]);
  });

  it('has no TLS and no STUN when the server offers none', () => {
    const plan = planIce([{ urls: 'turn:127.0.0.1:9?transport=udp', username: 'u', credential: 'p' }]);
    expect(plan.stun).toEqual([]);
    expect(plan.turn.tls).toEqual([]);
    expect(plan.turn.udp).toEqual([{ urls: ['turn:127.0.0.1:9?transport=udp'], username: 'u', credential: 'p' }]);
  });

  it('names the endpoint of a URL', () => {
    expect(endpointOf('turn:chat.example.org:3478?transport=udp')).toBe('chat.example.org:3478');
    expect(endpointOf('stun:[2001:db8::1]:3478')).toBe('[2001:db8::1]:3478');
  });
});

describe('describeCandidate', () => {
  it('prefers the browser’s fields', () => {
    const candidate = { candidate: 'candidate:1 1 udp 2 203.0.113.5 50123 typ relay raddr 0.0.0.0 rport 0', type: 'relay', relayProtocol: 'tcp', address: '203.0.113.5', port: 50123 };
    expect(describeCandidate(candidate)).toEqual({ type: 'relay', relayProtocol: 'tcp', address: '203.0.113.5:50123' });
  });

  it('reads the type and address from the SDP line when the browser gives no fields', () => {
    expect(describeCandidate({ candidate: 'candidate:842163049 1 udp 1677729535 198.51.100.7 61005 typ srflx raddr 0.0.0.0 rport 0 generation 0' })).toEqual({
      type: 'srflx',
      relayProtocol: null,
      address: '198.51.100.7:61005',
    });
    expect(describeCandidate({ candidate: 'a=candidate:1 1 udp 2122260223 3b1c2d.local 50000 typ host' }).type).toBe('host');
    expect(describeCandidate({ candidate: 'garbage' })).toEqual({ type: null, relayProtocol: null, address: null });
  });
});

describe('judgeStun', () => {
  const stun = [{ urls: ['stun:chat.example.org:3478'] }];

  it('passes on a server-reflexive candidate and shows the address', () => {
    const result = judgeStun(stun, outcome({ candidates: [host, { type: 'srflx', relayProtocol: null, address: '198.51.100.7:61005' }] }));
    expect(result).toMatchObject({ status: 'pass', ms: 120, detail: 'server-reflexive candidate 198.51.100.7:61005', hint: null });
  });

  it('fails with a hint when STUN got no answer', () => {
    for (const seen of [outcome({ candidates: [host], timedOut: true, ms: 5000 }), outcome({ candidates: [host], errors: [{ code: 701, text: 'timeout', url: 'stun:chat.example.org:3478' }] })]) {
      const result = judgeStun(stun, seen);
      expect(result.status).toBe('fail');
      expect(result.detail).toBe('no server-reflexive candidate: no answer from chat.example.org:3478 over UDP');
      expect(result.hint).toMatch(/^UDP to chat\.example\.org:3478 is blocked on your network/);
    }
  });

  it('says the server saw this device’s own address when gathering ended cleanly without one', () => {
    const result = judgeStun(stun, outcome({ candidates: [host] }));
    expect(result.status).toBe('pass');
    expect(result.detail).toMatch(/own address \(no NAT in between\)$/);
  });

  it('warns when the browser had no address to send from, and skips without STUN', () => {
    expect(judgeStun(stun, outcome()).status).toBe('warn');
    expect(judgeStun([], null)).toEqual({ status: 'skip', ms: null, detail: 'This server offers no STUN server.', hint: null });
  });
});

describe('TURN verdicts and hints', () => {
  const plan = planIce(builtin);
  const pass = (transport: 'udp' | 'tcp' | 'tls') => turnVerdict(transport, outcome({ candidates: [relay(transport)] }));
  const timeout: TurnVerdict = turnVerdict('udp', outcome({ timedOut: true, ms: 5000 }));

  it('passes on a relay candidate over the transport tested', () => {
    const verdict = pass('udp');
    expect(verdict.relay?.address).toBe('203.0.113.5:50123');
    expect(judgeTurn(plan, { udp: verdict, tcp: pass('tcp'), tls: pass('tls') }, false).udp).toEqual({
      status: 'pass',
      ms: 120,
      detail: 'relay candidate 203.0.113.5:50123',
      hint: null,
    });
  });

  it('does not take a relay candidate over another transport for this one', () => {
    expect(turnVerdict('tls', outcome({ candidates: [relay('tcp')] })).relay).toBeNull();
    expect(turnVerdict('tls', outcome({ candidates: [relay(null)] })).relay).not.toBeNull();
  });

  it('explains a blocked UDP by what calls will use instead', () => {
    const results = judgeTurn(plan, { udp: timeout, tcp: pass('tcp'), tls: pass('tls') }, false);
    expect(results.udp.status).toBe('fail');
    expect(results.udp.detail).toBe('no answer from chat.example.org:3478 within 5 s');
    expect(results.udp.hint).toBe('UDP is blocked on your network; calls will use TCP, which works but adds delay.');
    const onlyTls = judgeTurn(plan, { udp: timeout, tcp: turnVerdict('tcp', outcome({ errors: [{ code: 701, text: '', url: 'turn:chat.example.org:443?transport=tcp' }] })), tls: pass('tls') }, false);
    expect(onlyTls.udp.hint).toBe('UDP is blocked on your network; calls will use TLS, which works but adds delay.');
    expect(onlyTls.tcp.detail).toBe('could not reach chat.example.org:443');
    expect(onlyTls.tcp.hint).toBe('TCP to chat.example.org:443 does not get through; calls use TLS instead.');
  });

  it('says nothing gets through when every transport fails, and how each failed', () => {
    const plan = planIce([{ urls: ['turn:127.0.0.1:9?transport=udp', 'turn:127.0.0.1:9?transport=tcp'], username: 'u', credential: 'p' }]);
    // No answer at all over UDP; over TCP the connection is refused, which ends gathering without an error.
    const results = judgeTurn(plan, { udp: turnVerdict('udp', outcome({ timedOut: true, ms: 5000 })), tcp: turnVerdict('tcp', outcome({ ms: 40 })), tls: null }, false);
    expect(results.udp).toEqual({
      status: 'fail',
      ms: 5000,
      detail: 'no answer from 127.0.0.1:9 within 5 s',
      hint: "Nothing gets through to 127.0.0.1:9 over UDP: your network or the server's firewall blocks it, or no relay listens there.",
    });
    expect(results.tcp).toEqual({
      status: 'fail',
      ms: 40,
      detail: 'no relay address from 127.0.0.1:9: the connection was refused or closed',
      hint: "Nothing gets through to 127.0.0.1:9 over TCP: your network or the server's firewall blocks it, or no relay listens there.",
    });
    expect(results.tls).toEqual({ status: 'skip', ms: null, detail: 'This server offers no TURN over TLS.', hint: null });
  });

  it('blames the TURN secret on a 401, whatever else went wrong', () => {
    const verdict = turnVerdict('udp', outcome({ errors: [{ code: 701, text: '', url: 'turn:h:3478' }, { code: 401, text: 'Unauthorized', url: 'turn:h:3478' }] }));
    expect(verdict.failure).toBe('refused');
    expect(turnVerdict('tcp', outcome({ errors: [{ code: 701, text: 'Failed to establish connection', url: 'turn:h:443?transport=tcp' }] })).error).toEqual({
      code: 701,
      text: 'Failed to establish connection',
      url: 'turn:h:443?transport=tcp',
    });
    expect(judgeTurn(plan, { udp: null, tcp: turnVerdict('tcp', outcome({ errors: [{ code: 701, text: 'Failed to establish connection', url: 'turn:h:443?transport=tcp' }] })), tls: null }, false).tcp.detail).toBe(
      'could not reach h:443 (Failed to establish connection)',
    );
    const result = judgeTurn(plan, { udp: verdict, tcp: null, tls: null }, false).udp;
    expect(result.detail).toBe('credentials refused (401)');
    expect(result.hint).toMatch(/^Credentials refused: the server's TURN secret is misconfigured/);
  });

  it('reads quota and forbidden errors', () => {
    expect(turnVerdict('udp', outcome({ errors: [{ code: 486, text: '', url: 'turn:h:1' }] })).failure).toBe('quota');
    expect(turnVerdict('udp', outcome({ errors: [{ code: 508, text: '', url: 'turn:h:1' }] })).failure).toBe('quota');
    expect(turnVerdict('udp', outcome({ errors: [{ code: 403, text: '', url: 'turn:h:1' }] })).failure).toBe('forbidden');
    expect(turnVerdict('udp', outcome({ errors: [{ code: 500, text: 'oops', url: 'turn:h:1' }] })).failure).toBe('error');
  });

  it('fails UDP and TCP when the server has no relay to offer (degraded)', () => {
    const results = judgeTurn(planIce([{ urls: 'stun:h:3478' }]), { udp: null, tcp: null, tls: null }, true);
    expect(results.udp.status).toBe('fail');
    expect(results.udp.hint).toMatch(/TURN provider/);
    expect(results.tls.status).toBe('skip');
  });
});

describe('pingStats', () => {
  it('counts loss and the round trips', () => {
    expect(pingStats(100, Array.from({ length: 100 }, (_, i) => 2 + (i % 3)))).toEqual({ sent: 100, received: 100, lossPct: 0, rtt: { min: 2, median: 3, max: 4 } });
    expect(pingStats(100, [10, 30, 20])).toEqual({ sent: 100, received: 3, lossPct: 97, rtt: { min: 10, median: 20, max: 30 } });
    expect(pingStats(3, [1.26, 2.5]).rtt).toEqual({ min: 1.3, median: 1.9, max: 2.5 });
    expect(pingStats(3, [1, 2]).lossPct).toBe(33.3);
  });

  it('has no round trip when nothing came back, and no loss when nothing went out', () => {
    expect(pingStats(100, [])).toEqual({ sent: 100, received: 0, lossPct: 100, rtt: null });
    expect(pingStats(0, [])).toEqual({ sent: 0, received: 0, lossPct: 0, rtt: null });
  });
});

describe('judgeCall', () => {
  const connected = (rtts: number[], sent = 100) => ({ connected: true as const, ms: 480, stats: pingStats(sent, rtts), relayProtocol: 'udp' as const });

  it('passes a clean call and shows RTT, loss and the transport', () => {
    expect(judgeCall(connected(Array(100).fill(4)), true)).toEqual({
      status: 'pass',
      ms: 480,
      detail: 'RTT 4 ms (min 4, max 4), 0% loss of 100 pings, over UDP',
      hint: null,
    });
  });

  it('warns on loss or a slow round trip', () => {
    const lossy = judgeCall(connected(Array(90).fill(4)), true);
    expect(lossy.status).toBe('warn');
    expect(lossy.hint).toBe('10% of the packets were lost on the way through the relay: voice will break up.');
    const slow = judgeCall(connected(Array(100).fill(500)), true);
    expect(slow.status).toBe('warn');
    expect(slow.hint).toBe('The round trip through the relay is slow: expect a noticeable delay in calls.');
  });

  it('fails when nothing came back or the call never connected', () => {
    expect(judgeCall(connected([]), true)).toMatchObject({ status: 'fail', detail: 'connected, but none of 100 pings came back, over UDP' });
    expect(judgeCall({ connected: false, ms: 10_000, reason: 'timeout' }, true)).toMatchObject({ status: 'fail', detail: 'the call did not connect within 10 s' });
    const noRelay = judgeCall({ connected: false, ms: null, reason: 'no-relay' }, false);
    expect(noRelay).toMatchObject({ status: 'fail', ms: null, detail: 'the call got no relay address' });
    expect(noRelay.hint).toMatch(/^The relay cannot be reached from here/);
    expect(judgeCall(null, false).status).toBe('skip');
  });
});

describe('judgeGateway', () => {
  it('passes on hello and fails with a proxy hint otherwise', () => {
    expect(judgeGateway({ hello: true, ms: 12 })).toEqual({ status: 'pass', ms: 12, detail: 'the server said hello', hint: null });
    const closed = judgeGateway({ hello: false, ms: 30, timedOut: false });
    expect(closed).toMatchObject({ status: 'fail', detail: 'the WebSocket closed before the server said hello' });
    expect(closed.hint).toMatch(/may not pass WebSockets/);
    expect(judgeGateway({ hello: false, ms: 5000, timedOut: true }).detail).toBe('no hello within 5 s');
  });
});

describe('iceRefusalText', () => {
  it('shows a rate limit with its wait', () => {
    expect(iceRefusalText({ status: 429, code: 'rate_limited', message: 'Too many requests.', retryAfterMs: 41_000 })).toBe(
      'Too many connection tests from your address (rate_limited): try again in 41 s.',
    );
    expect(iceRefusalText({ status: 429, code: 'rate_limited', message: '' })).toMatch(/in a minute\.$/);
  });

  it('explains voice being off, an unreachable server and anything else', () => {
    expect(iceRefusalText({ status: 403, code: 'voice_disabled', message: 'Voice is turned off on this server.' })).toMatch(/^Voice is turned off/);
    expect(iceRefusalText({ status: 0, code: 'network', message: 'Cannot reach the server.' })).toMatch(/^Cannot reach the server/);
    expect(iceRefusalText({ status: 500, code: 'internal', message: 'Internal error.' })).toBe('The server would not give out its STUN and TURN servers: Internal error.');
  });
});

describe('summarize', () => {
  const results = (patch: Partial<Record<CheckResult['id'], CheckResult['status']>>) =>
    waitingResults().map((r) => ({ ...r, status: patch[r.id] ?? ('pass' as const) }));

  it('reads the whole run', () => {
    expect(summarize(results({})).tone).toBe('pass');
    expect(summarize(results({ 'turn-tls': 'skip' })).tone).toBe('pass');
    expect(summarize(results({ 'turn-udp': 'fail' }))).toEqual({ tone: 'warn', text: 'Calls will connect from this network, with the caveats below.' });
    expect(summarize(results({ call: 'fail' })).tone).toBe('fail');
    expect(summarize(results({ gateway: 'fail' })).tone).toBe('fail');
    expect(summarize(results({ call: 'skip' })).tone).toBe('warn');
  });
});
