// The rules of the browser connection test (/connection-test, Settings → Test connection):
// which ICE URL tests what, how a gathered candidate or an ICE error reads, what the loopback
// call's pings add up to, and the verdict and hint of every check. Pure, so it is unit-tested;
// connectionProbe.ts runs the real WebSocket and peer connections and feeds these.

/** The checks, in the order they are shown. */
export const CHECK_IDS = ['gateway', 'stun', 'turn-udp', 'turn-tcp', 'turn-tls', 'call'] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export const CHECK_LABELS: Record<CheckId, string> = {
  gateway: 'Gateway (WebSocket)',
  stun: 'STUN (your address as the server sees it)',
  'turn-udp': 'TURN over UDP',
  'turn-tcp': 'TURN over TCP',
  'turn-tls': 'TURN over TLS',
  call: 'Call through the relay',
};

/** `waiting`: not started yet; `warn`: works, with something worth knowing; `skip`: nothing to
 * test (the server offers no such thing). */
export type CheckStatus = 'waiting' | 'running' | 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** How long the check took to its verdict, in milliseconds. */
  ms: number | null;
  /** What was seen, e.g. the relayed address or the round-trip time. */
  detail: string | null;
  /** What a failure or warning means for calls, and what to do about it. */
  hint: string | null;
}

export type TurnTransport = 'udp' | 'tcp' | 'tls';
export const TURN_TRANSPORTS: readonly TurnTransport[] = ['udp', 'tcp', 'tls'];
const TRANSPORT_NAMES: Record<TurnTransport, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

/** How long a gathering check may take before it counts as no answer. */
export const GATHER_TIMEOUT_MS = 5_000;
/** How long the loopback call may take to connect. */
export const CALL_CONNECT_TIMEOUT_MS = 10_000;
/** How long the loopback call sends pings, and how often. */
export const CALL_MEASURE_MS = 5_000;
export const PING_INTERVAL_MS = 50;
/** How long a ping may take to come back before it counts as lost. */
export const PING_GRACE_MS = 1_000;

export function waitingResults(): CheckResult[] {
  return CHECK_IDS.map((id) => ({ id, status: 'waiting', ms: null, detail: null, hint: null }));
}

/** What a STUN or TURN URL tests: STUN, or TURN over one transport; null when it is neither. */
export function urlKind(url: string): 'stun' | TurnTransport | null {
  const lower = url.trim().toLowerCase();
  if (lower.startsWith('stun:') || lower.startsWith('stuns:')) return 'stun';
  if (lower.startsWith('turns:')) return 'tls';
  if (lower.startsWith('turn:')) return /[?&]transport=tcp(?:&|$)/.test(lower) ? 'tcp' : 'udp';
  return null;
}

/** The ICE servers each check gets: only the URLs it tests, with their credentials. */
export interface IcePlan {
  stun: RTCIceServer[];
  turn: Record<TurnTransport, RTCIceServer[]>;
  /** Every TURN URL, for the loopback call. */
  allTurn: RTCIceServer[];
}

export function planIce(servers: RTCIceServer[]): IcePlan {
  const plan: IcePlan = { stun: [], turn: { udp: [], tcp: [], tls: [] }, allTurn: [] };
  for (const server of servers) {
    const urls = [server.urls].flat();
    const credentials = server.username !== undefined ? { username: server.username, credential: server.credential } : {};
    const pick = (kind: 'stun' | TurnTransport) => urls.filter((url) => urlKind(url) === kind);
    const stun = pick('stun');
    if (stun.length > 0) plan.stun.push({ urls: stun });
    for (const transport of TURN_TRANSPORTS) {
      const turn = pick(transport);
      if (turn.length > 0) plan.turn[transport].push({ urls: turn, ...credentials });
    }
    const allTurn = urls.filter((url) => urlKind(url) !== null && urlKind(url) !== 'stun');
    if (allTurn.length > 0) plan.allTurn.push({ urls: allTurn, ...credentials });
  }
  return plan;
}

/** The URLs of a list of ICE servers, for details and hints. */
export function urlsOf(servers: RTCIceServer[]): string[] {
  return servers.flatMap((server) => [server.urls].flat());
}

/** `HOST:PORT` of a STUN or TURN URL, e.g. `chat.example.org:3478`. */
export function endpointOf(url: string): string {
  const rest = url.replace(/^[a-z]+:/i, '').split('?')[0];
  return rest;
}

/** What the test needs to know about a gathered candidate. */
export interface CandidateInfo {
  type: RTCIceCandidateType | null;
  /** For a relay candidate: how the browser reaches the relay. */
  relayProtocol: TurnTransport | null;
  /** `address:port`, when the browser shows it (host candidates may be hidden as `.local`). */
  address: string | null;
}

/** Reads a candidate, from the browser's fields where it has them, else from its SDP line
 * (`candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ TYPE …`). */
export function describeCandidate(candidate: { candidate: string; type?: string | null; relayProtocol?: string | null; address?: string | null; port?: number | null }): CandidateInfo {
  const fields = candidate.candidate.replace(/^a=/, '').trim().split(/\s+/);
  const typIndex = fields.indexOf('typ');
  const type = (candidate.type ?? (typIndex >= 0 ? fields[typIndex + 1] : null)) as RTCIceCandidateType | null;
  const relayProtocol = candidate.relayProtocol ?? null;
  const address = candidate.address ?? (fields.length >= 6 ? fields[4] : null);
  const port = candidate.port ?? (fields.length >= 6 ? Number(fields[5]) : null);
  return {
    type: type && ['host', 'srflx', 'prflx', 'relay'].includes(type) ? type : null,
    relayProtocol: relayProtocol === 'udp' || relayProtocol === 'tcp' || relayProtocol === 'tls' ? relayProtocol : null,
    address: address ? (port ? `${address}:${port}` : address) : null,
  };
}

/** An `icecandidateerror`: the STUN/TURN error code (701: no answer or no connection). */
export interface IceError {
  code: number;
  text: string;
  url: string;
}

/** What a gathering check saw before it ended. */
export interface GatherOutcome {
  candidates: CandidateInfo[];
  errors: IceError[];
  /** It gave up after GATHER_TIMEOUT_MS without the browser finishing. */
  timedOut: boolean;
  ms: number;
}

/** A short description of an ICE error code. */
export function iceErrorText(error: IceError): string {
  switch (error.code) {
    case 401:
      return 'credentials refused (401)';
    case 403:
      return 'allocation forbidden (403)';
    case 437:
      return 'allocation mismatch (437)';
    case 486:
      return 'allocation quota reached (486)';
    case 508:
      return 'relay at capacity (508)';
    case 701:
      return `could not reach ${endpointOf(error.url)}${error.text ? ` (${error.text})` : ''}`;
    default:
      return `error ${error.code}${error.text ? ` (${error.text})` : ''}`;
  }
}

/** The STUN check: a server-reflexive candidate is the address the server saw us come from. */
export function judgeStun(stun: RTCIceServer[], outcome: GatherOutcome | null): Omit<CheckResult, 'id'> {
  if (stun.length === 0 || outcome === null) {
    return { status: 'skip', ms: null, detail: 'This server offers no STUN server.', hint: null };
  }
  const endpoint = endpointOf(urlsOf(stun)[0]);
  const srflx = outcome.candidates.find((c) => c.type === 'srflx');
  if (srflx) return { status: 'pass', ms: outcome.ms, detail: `server-reflexive candidate ${srflx.address ?? ''}`.trim(), hint: null };
  const hosts = outcome.candidates.filter((c) => c.type === 'host');
  if (hosts.length === 0) {
    return {
      status: 'warn',
      ms: outcome.ms,
      detail: 'no server-reflexive candidate: the browser offered no network address to send from',
      hint: 'The browser gathered no address of this device, so STUN could not be tried; calls may still connect through the relay.',
    };
  }
  if (outcome.timedOut || outcome.errors.length > 0) {
    return {
      status: 'fail',
      ms: outcome.ms,
      detail: `no server-reflexive candidate: no answer from ${endpoint} over UDP`,
      hint: `UDP to ${endpoint} is blocked on your network or by the server's firewall; calls can still go through the relay over TCP, which adds delay.`,
    };
  }
  // The browser finished gathering without an error, so the server answered; a reflexive
  // address equal to a local one is dropped by the browser.
  return {
    status: 'pass',
    ms: outcome.ms,
    detail: 'no server-reflexive candidate: the server answered and saw this device’s own address (no NAT in between)',
    hint: null,
  };
}

/** Why a TURN transport gave no relay candidate, for the verdict and the hints. */
export type TurnFailure = 'refused' | 'forbidden' | 'quota' | 'unreachable' | 'error';

export interface TurnVerdict {
  relay: CandidateInfo | null;
  failure: TurnFailure | null;
  error: IceError | null;
  /** Nothing happened before GATHER_TIMEOUT_MS (rather than the browser giving up). */
  timedOut: boolean;
  ms: number | null;
}

/** Reads a TURN gathering check: a relay candidate over `transport` passes. */
export function turnVerdict(transport: TurnTransport, outcome: GatherOutcome): TurnVerdict {
  const relay = outcome.candidates.find((c) => c.type === 'relay' && (c.relayProtocol === null || c.relayProtocol === transport)) ?? null;
  if (relay) return { relay, failure: null, error: null, timedOut: false, ms: outcome.ms };
  const rank = (e: IceError) => (e.code === 401 ? 0 : e.code === 403 ? 1 : e.code === 486 || e.code === 508 ? 2 : e.code === 701 ? 4 : 3);
  const error = [...outcome.errors].sort((a, b) => rank(a) - rank(b))[0] ?? null;
  let failure: TurnFailure = 'unreachable';
  if (error?.code === 401) failure = 'refused';
  else if (error?.code === 403) failure = 'forbidden';
  else if (error?.code === 486 || error?.code === 508) failure = 'quota';
  else if (error && error.code !== 701) failure = 'error';
  return { relay: null, failure, error, timedOut: outcome.timedOut, ms: outcome.ms };
}

/** The TURN checks' results, with hints that take the other transports into account: a blocked
 * UDP matters little when TCP works. `verdicts` is null for a transport the server does not
 * offer. */
export function judgeTurn(plan: IcePlan, verdicts: Record<TurnTransport, TurnVerdict | null>, degraded: boolean): Record<TurnTransport, Omit<CheckResult, 'id'>> {
  const working = TURN_TRANSPORTS.filter((t) => verdicts[t]?.relay);
  const fallback = working.length > 0 ? TRANSPORT_NAMES[working[0]] : null;
  const result = {} as Record<TurnTransport, Omit<CheckResult, 'id'>>;
  for (const transport of TURN_TRANSPORTS) {
    const verdict = verdicts[transport];
    const urls = urlsOf(plan.turn[transport]);
    const name = TRANSPORT_NAMES[transport];
    if (!verdict) {
      result[transport] =
        degraded && transport !== 'tls'
          ? {
              status: 'fail',
              ms: null,
              detail: 'the server offers no relay right now',
              hint: 'The server could not get relay credentials from its TURN provider, so calls between networks that cannot reach each other directly will fail until an admin fixes the TURN settings.',
            }
          : { status: 'skip', ms: null, detail: `This server offers no TURN over ${name}.`, hint: null };
      continue;
    }
    if (verdict.relay) {
      result[transport] = { status: 'pass', ms: verdict.ms, detail: `relay candidate ${verdict.relay.address ?? ''}`.trim(), hint: null };
      continue;
    }
    const endpoint = endpointOf(verdict.error?.url || urls[0] || '');
    const detail = verdict.error
      ? iceErrorText(verdict.error)
      : verdict.timedOut
        ? `no answer from ${endpoint} within ${GATHER_TIMEOUT_MS / 1000} s`
        : `no relay address from ${endpoint}: the connection was refused or closed`;
    result[transport] = { status: 'fail', ms: verdict.ms, detail, hint: turnHint(transport, verdict.failure ?? 'unreachable', endpoint, fallback) };
  }
  return result;
}

/** What a failed TURN transport means for calls; `fallback` names a transport that works. */
export function turnHint(transport: TurnTransport, failure: TurnFailure, endpoint: string, fallback: string | null): string {
  switch (failure) {
    case 'refused':
      return "Credentials refused: the server's TURN secret is misconfigured (it does not match the relay's). An admin can check it with cromulent doctor.";
    case 'forbidden':
      return 'The relay refused to open a relay address for this test (403).';
    case 'quota':
      return 'The relay is at its allocation limit right now; try again in a minute.';
    case 'error':
      return 'The relay answered with an error; an admin can check it with cromulent doctor.';
    case 'unreachable':
      break;
  }
  const name = TRANSPORT_NAMES[transport];
  if (!fallback) return `Nothing gets through to ${endpoint} over ${name}: your network or the server's firewall blocks it, or no relay listens there.`;
  if (transport === 'udp') return `UDP is blocked on your network; calls will use ${fallback}, which works but adds delay.`;
  return `${name} to ${endpoint} does not get through; calls use ${fallback} instead.`;
}

/** The loopback call's pings: how many went out, how many came back, and their round trips. */
export interface PingStats {
  sent: number;
  received: number;
  lossPct: number;
  rtt: { min: number; median: number; max: number } | null;
}

export function pingStats(sent: number, rttsMs: number[]): PingStats {
  const received = Math.min(sent, rttsMs.length);
  const sorted = [...rttsMs].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return {
    sent,
    received,
    lossPct: sent === 0 ? 0 : Math.round((1000 * (sent - received)) / sent) / 10,
    rtt: sorted.length === 0 ? null : { min: round(sorted[0]), median: round(median), max: round(sorted[sorted.length - 1]) },
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Loss above this, or a median round trip above the next, makes the call check a warning. */
export const CALL_WARN_LOSS_PCT = 5;
export const CALL_WARN_RTT_MS = 400;

/** What the loopback call came to. */
export type CallOutcome =
  | { connected: false; ms: number | null; reason: 'no-relay' | 'timeout' | 'failed' }
  | { connected: true; ms: number; stats: PingStats; relayProtocol: TurnTransport | null };

export function judgeCall(outcome: CallOutcome | null, turnWorks: boolean): Omit<CheckResult, 'id'> {
  if (outcome === null) return { status: 'skip', ms: null, detail: 'not run: the server offers no relay', hint: null };
  if (!outcome.connected) {
    const detail =
      outcome.reason === 'no-relay'
        ? 'the call got no relay address'
        : outcome.reason === 'timeout'
          ? `the call did not connect within ${CALL_CONNECT_TIMEOUT_MS / 1000} s`
          : 'the call failed to connect';
    const hint = turnWorks
      ? 'The relay gave out addresses but passed nothing between them; an admin can check the relay with cromulent doctor.'
      : 'The relay cannot be reached from here (see the TURN checks above), so calls that need it will not connect.';
    return { status: 'fail', ms: outcome.ms, detail, hint };
  }
  const { stats } = outcome;
  const via = outcome.relayProtocol ? `, over ${TRANSPORT_NAMES[outcome.relayProtocol]}` : '';
  if (!stats.rtt) {
    return {
      status: 'fail',
      ms: outcome.ms,
      detail: `connected, but none of ${stats.sent} pings came back${via}`,
      hint: 'The call connected through the relay but nothing got through it; audio would be silent.',
    };
  }
  const detail = `RTT ${stats.rtt.median} ms (min ${stats.rtt.min}, max ${stats.rtt.max}), ${stats.lossPct}% loss of ${stats.sent} pings${via}`;
  if (stats.lossPct > CALL_WARN_LOSS_PCT) {
    return { status: 'warn', ms: outcome.ms, detail, hint: `${stats.lossPct}% of the packets were lost on the way through the relay: voice will break up.` };
  }
  if (stats.rtt.median > CALL_WARN_RTT_MS) {
    return { status: 'warn', ms: outcome.ms, detail, hint: 'The round trip through the relay is slow: expect a noticeable delay in calls.' };
  }
  return { status: 'pass', ms: outcome.ms, detail, hint: null };
}

/** What the gateway check saw: `hello` arrived, or the socket closed or timed out first. */
export type GatewayOutcome = { hello: true; ms: number } | { hello: false; ms: number; timedOut: boolean };

export function judgeGateway(outcome: GatewayOutcome): Omit<CheckResult, 'id'> {
  if (outcome.hello) return { status: 'pass', ms: outcome.ms, detail: 'the server said hello', hint: null };
  return {
    status: 'fail',
    ms: outcome.ms,
    detail: outcome.timedOut ? `no hello within ${GATHER_TIMEOUT_MS / 1000} s` : 'the WebSocket closed before the server said hello',
    hint: 'The live connection to the server does not get through, so messages will not appear until you reload. A proxy or firewall in front of the server may not pass WebSockets; an admin can compare with the reverse-proxy examples in the self-hosting guide.',
  };
}

/** Why the test could not get its ICE servers, as the notice above the checks. */
export function iceRefusalText(error: { status: number; code: string; message: string; retryAfterMs?: number }): string {
  if (error.code === 'rate_limited') {
    const seconds = error.retryAfterMs !== undefined ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : null;
    return `Too many connection tests from your address (rate_limited): try again${seconds ? ` in ${seconds} s` : ' in a minute'}.`;
  }
  if (error.code === 'voice_disabled') return 'Voice is turned off on this server, so there is no relay to test.';
  if (error.status === 0) return 'Cannot reach the server to get its STUN and TURN servers.';
  return `The server would not give out its STUN and TURN servers: ${error.message}`;
}

/** One line for the whole run. */
export function summarize(results: CheckResult[]): { tone: 'pass' | 'warn' | 'fail'; text: string } {
  const status = (id: CheckId) => results.find((r) => r.id === id)?.status;
  if (status('call') === 'fail') return { tone: 'fail', text: 'Calls that need the relay will not connect from this network.' };
  if (status('call') === 'skip') {
    return { tone: 'warn', text: 'This server offers no relay: calls connect only where both sides can reach each other directly.' };
  }
  if (status('gateway') === 'fail') return { tone: 'fail', text: 'Calls can connect, but the live connection to the server does not get through.' };
  if (results.some((r) => r.status === 'fail' || r.status === 'warn')) {
    return { tone: 'warn', text: 'Calls will connect from this network, with the caveats below.' };
  }
  return { tone: 'pass', text: 'Everything works: calls will connect from this network.' };
}
