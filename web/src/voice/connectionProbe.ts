// Runs the browser connection test for real: the gateway WebSocket until its `hello`, STUN
// and TURN over UDP, TCP and TLS each in a peer connection of its own that gathers
// candidates, and a loopback call between two relay-only peer connections in this page that
// pings through the relay for a few seconds. The verdicts and hints come from connectionTest.ts.

import type { IceConfig } from '../api/protocol';
import {
  CALL_CONNECT_TIMEOUT_MS,
  CALL_MEASURE_MS,
  describeCandidate,
  GATHER_TIMEOUT_MS,
  iceRefusalText,
  judgeCall,
  judgeGateway,
  judgeStun,
  judgeTurn,
  PING_GRACE_MS,
  PING_INTERVAL_MS,
  pingStats,
  planIce,
  TURN_TRANSPORTS,
  turnVerdict,
  waitingResults,
  type CallOutcome,
  type CandidateInfo,
  type CheckId,
  type CheckResult,
  type GatewayOutcome,
  type GatherOutcome,
  type IceError,
  type TurnTransport,
  type TurnVerdict,
} from './connectionTest';

/** What the test needs from the app. */
export interface ConnectionTestDeps {
  /** `GET /api/v1/connection-test`; throws an error with `status`, `code` and `message`. */
  fetchIce(): Promise<IceConfig>;
  /** The gateway's WebSocket URL. */
  gatewayUrl: string;
}

/** Where the test stands: every check, and a notice when the ICE servers were refused. */
export interface ConnectionTestProgress {
  results: CheckResult[];
  notice: string | null;
  done: boolean;
}

/** Runs every check, reporting progress after each change; stops reporting once `cancelled()`. */
export async function runConnectionTest(deps: ConnectionTestDeps, report: (progress: ConnectionTestProgress) => void, cancelled: () => boolean): Promise<void> {
  let progress: ConnectionTestProgress = { results: waitingResults(), notice: null, done: false };
  const update = (patch: Partial<ConnectionTestProgress>) => {
    progress = { ...progress, ...patch };
    if (!cancelled()) report(progress);
  };
  const set = (id: CheckId, result: Partial<Omit<CheckResult, 'id'>>) =>
    update({ results: progress.results.map((r) => (r.id === id ? { ...r, ...result } : r)) });
  const iceChecks: CheckId[] = ['stun', 'turn-udp', 'turn-tcp', 'turn-tls', 'call'];

  set('gateway', { status: 'running' });
  const gateway = checkGateway(deps.gatewayUrl).then((outcome) => set('gateway', judgeGateway(outcome)));

  let ice: IceConfig;
  try {
    ice = await deps.fetchIce();
  } catch (error) {
    const refusal = error as { status?: number; code?: string; message?: string; retryAfterMs?: number };
    update({ notice: iceRefusalText({ status: refusal.status ?? 0, code: refusal.code ?? 'network', message: refusal.message ?? String(error), retryAfterMs: refusal.retryAfterMs }) });
    for (const id of iceChecks) set(id, { status: 'skip', detail: 'not run', hint: null });
    await gateway;
    update({ done: true });
    return;
  }
  if (typeof RTCPeerConnection !== 'function') {
    for (const id of iceChecks) set(id, { status: 'fail', detail: 'this browser has no WebRTC', hint: 'Calls need WebRTC; try a current Firefox, Chrome, Edge or Safari.' });
    await gateway;
    update({ done: true });
    return;
  }

  const plan = planIce(ice.ice_servers);
  const stunDone = (async () => {
    if (plan.stun.length === 0) return set('stun', judgeStun([], null));
    set('stun', { status: 'running' });
    const outcome = await gather({ iceServers: plan.stun }, (c) => c.type === 'srflx');
    set('stun', judgeStun(plan.stun, outcome));
  })();
  const verdicts = {} as Record<TurnTransport, TurnVerdict | null>;
  await Promise.all(
    TURN_TRANSPORTS.map(async (transport) => {
      if (plan.turn[transport].length === 0) {
        verdicts[transport] = null;
        return;
      }
      set(`turn-${transport}`, { status: 'running' });
      const outcome = await gather({ iceServers: plan.turn[transport], iceTransportPolicy: 'relay' }, (c) => c.type === 'relay');
      verdicts[transport] = turnVerdict(transport, outcome);
    }),
  );
  const turn = judgeTurn(plan, verdicts, ice.ice_degraded);
  for (const transport of TURN_TRANSPORTS) set(`turn-${transport}`, turn[transport]);
  await stunDone;

  const turnWorks = TURN_TRANSPORTS.some((t) => verdicts[t]?.relay);
  if (plan.allTurn.length === 0) set('call', judgeCall(null, false));
  else if (!turnWorks) set('call', judgeCall({ connected: false, ms: null, reason: 'no-relay' }, false));
  else if (!cancelled()) {
    set('call', { status: 'running' });
    set('call', judgeCall(await loopbackCall(plan.allTurn), turnWorks));
  }
  await gateway;
  update({ done: true });
}

const elapsed = (since: number) => Math.round(performance.now() - since);

/** Opens the gateway and waits for its `hello`; no login needed. */
function checkGateway(url: string): Promise<GatewayOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let socket: WebSocket;
    const finish = (outcome: GatewayOutcome) => {
      clearTimeout(timer);
      socket.onclose = socket.onmessage = null;
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close(1000);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ hello: false, ms: elapsed(started), timedOut: true }), GATHER_TIMEOUT_MS);
    try {
      socket = new WebSocket(url);
    } catch {
      clearTimeout(timer);
      resolve({ hello: false, ms: elapsed(started), timedOut: false });
      return;
    }
    socket.onmessage = ({ data }) => {
      try {
        if (JSON.parse(String(data)).t === 'hello') finish({ hello: true, ms: elapsed(started) });
      } catch {
        // Not a frame of ours.
      }
    };
    socket.onclose = () => finish({ hello: false, ms: elapsed(started), timedOut: false });
  });
}

/** A candidate as the browser gives it, with the fields Chromium adds. */
type BrowserCandidate = RTCIceCandidate & { relayProtocol?: string | null };

const candidateInfo = (candidate: BrowserCandidate): CandidateInfo =>
  describeCandidate({ candidate: candidate.candidate, type: candidate.type, relayProtocol: candidate.relayProtocol, address: candidate.address, port: candidate.port });

/** Gathers candidates with `config` until one is `enough`, gathering ends, or the timeout. */
async function gather(config: RTCConfiguration, enough: (candidate: CandidateInfo) => boolean): Promise<GatherOutcome> {
  const started = performance.now();
  const pc = new RTCPeerConnection(config);
  const candidates: CandidateInfo[] = [];
  const errors: IceError[] = [];
  try {
    return await new Promise<GatherOutcome>((resolve) => {
      const finish = (timedOut: boolean) => {
        clearTimeout(timer);
        resolve({ candidates, errors, timedOut, ms: elapsed(started) });
      };
      const timer = setTimeout(() => finish(true), GATHER_TIMEOUT_MS);
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) return finish(false);
        if (!candidate.candidate) return;
        const info = candidateInfo(candidate);
        candidates.push(info);
        if (enough(info)) finish(false);
      };
      pc.onicecandidateerror = (event) => {
        const error = event as RTCPeerConnectionIceErrorEvent;
        errors.push({ code: error.errorCode, text: error.errorText, url: error.url });
      };
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && finish(false);
      pc.createDataChannel('connection-test');
      pc.setLocalDescription().catch(() => finish(false));
    });
  } finally {
    pc.close();
  }
}

/** Two relay-only peer connections in this page call each other through the relay; one pings
 * over an unordered, unreliable data channel and the other echoes, for CALL_MEASURE_MS. */
async function loopbackCall(servers: RTCIceServer[]): Promise<CallOutcome> {
  const started = performance.now();
  const config: RTCConfiguration = { iceServers: servers, iceTransportPolicy: 'relay' };
  const caller = new RTCPeerConnection(config);
  const callee = new RTCPeerConnection(config);
  let gathered = false;
  const forward = (to: RTCPeerConnection) => ({ candidate }: RTCPeerConnectionIceEvent) => {
    if (!candidate?.candidate) return;
    gathered = true;
    to.addIceCandidate(candidate).catch(() => {});
  };
  caller.onicecandidate = forward(callee);
  callee.onicecandidate = forward(caller);
  // Negotiated on both sides, so nothing but the pings travels on the channel.
  const channel: RTCDataChannelInit = { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 };
  const pings = caller.createDataChannel('ping', channel);
  const echo = callee.createDataChannel('ping', channel);
  echo.onmessage = ({ data }) => echo.readyState === 'open' && echo.send(data);
  try {
    const opened = new Promise<'open' | 'timeout' | 'failed'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), CALL_CONNECT_TIMEOUT_MS);
      pings.onopen = () => {
        clearTimeout(timer);
        resolve('open');
      };
      caller.onconnectionstatechange = () => {
        if (caller.connectionState !== 'failed') return;
        clearTimeout(timer);
        resolve('failed');
      };
    });
    await caller.setLocalDescription();
    await callee.setRemoteDescription(caller.localDescription!);
    await callee.setLocalDescription();
    await caller.setRemoteDescription(callee.localDescription!);
    const state = await opened;
    const ms = elapsed(started);
    if (state !== 'open') return { connected: false, ms, reason: gathered ? state : 'no-relay' };

    const rtts = new Map<number, number>();
    pings.onmessage = ({ data }) => {
      const { seq, at } = JSON.parse(String(data)) as { seq: number; at: number };
      if (!rtts.has(seq)) rtts.set(seq, performance.now() - at);
    };
    const count = Math.round(CALL_MEASURE_MS / PING_INTERVAL_MS);
    let sent = 0;
    await new Promise<void>((resolve) => {
      const ticker = setInterval(() => {
        if (pings.readyState === 'open') pings.send(JSON.stringify({ seq: sent, at: performance.now() }));
        if (++sent >= count) {
          clearInterval(ticker);
          resolve();
        }
      }, PING_INTERVAL_MS);
    });
    // The last pings get PING_GRACE_MS to come back.
    const graceEnd = performance.now() + PING_GRACE_MS;
    while (rtts.size < sent && performance.now() < graceEnd) await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS));
    return { connected: true, ms, stats: pingStats(sent, [...rtts.values()]), relayProtocol: await relayProtocolOf(caller) };
  } finally {
    caller.close();
    callee.close();
  }
}

/** How the connection reaches the relay on its selected candidate pair. */
async function relayProtocolOf(pc: RTCPeerConnection): Promise<TurnTransport | null> {
  try {
    const report = await pc.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    report.forEach((s) => byId.set(s.id, s));
    let pairId: string | undefined;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? byId.get(pairId) : undefined;
    const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
    const protocol = local?.relayProtocol;
    return protocol === 'udp' || protocol === 'tcp' || protocol === 'tls' ? protocol : null;
  } catch {
    return null;
  }
}
