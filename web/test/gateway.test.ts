// The gateway client against a scripted socket: identify, heartbeat, resume after a drop,
// duplicates skipped, refused resume falling back to identify, auth failure, a disabled
// account, a changed role or an ended login session that identifies afresh at once, backoff.

import { beforeEach, describe, expect, it } from 'vitest';
import { GatewayClient, type GatewayDeps, type GatewayStatus, type SocketLike } from '../src/api/gateway';
import type { GatewayEvent } from '../src/api/protocol';

class ScriptedSocket implements SocketLike {
  sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
  }
  frame(t: string, s: number, d: unknown = {}, id?: string) {
    this.onmessage?.({ data: JSON.stringify({ t, s, d, id }) });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
}

interface Timer {
  fn: () => void;
  ms: number;
  cleared: boolean;
}

let sockets: ScriptedSocket[];
let timers: Timer[];
let events: GatewayEvent[];
let statuses: GatewayStatus[];
let authFailed: number;
let disabled: number;
let client: GatewayClient;

const deps: GatewayDeps = {
  createSocket: () => {
    const socket = new ScriptedSocket();
    sockets.push(socket);
    return socket;
  },
  setTimeout: (fn, ms) => {
    const timer = { fn, ms, cleared: false };
    timers.push(timer);
    return timer;
  },
  clearTimeout: (handle) => {
    (handle as Timer).cleared = true;
  },
  random: () => 0.5,
};

function runTimer(ms: number) {
  const timer = timers.find((t) => !t.cleared && t.ms === ms);
  if (!timer) throw new Error(`no pending ${ms} ms timer`);
  timer.cleared = true;
  timer.fn();
}

const ready = (session = 'abc') => ({ session_id: session, user: { id: '1', username: 'amy', admin: false }, channels: [], online_user_ids: [] });

beforeEach(() => {
  sockets = [];
  timers = [];
  events = [];
  statuses = [];
  authFailed = 0;
  disabled = 0;
  client = new GatewayClient(
    'ws://test/api/v1/gateway',
    { event: (e) => events.push(e), status: (s) => statuses.push(s), authFailed: () => authFailed++, accountDisabled: () => disabled++ },
    deps,
  );
  client.start();
});

describe('GatewayClient', () => {
  it('identifies after hello and reports connected on ready', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    expect(sockets[0].sent).toEqual([{ op: 'identify', d: {} }]);
    sockets[0].frame('ready', 1, ready());
    expect(events.map((e) => e.t)).toEqual(['ready']);
    expect(statuses).toEqual(['connecting', 'connected']);
  });

  it('heartbeats, and gives up on a socket that stops answering', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    runTimer(1000);
    expect(sockets[0].sent.at(-1)).toEqual({ op: 'heartbeat' });
    sockets[0].frame('heartbeat_ack', 0, null);
    runTimer(1000);
    runTimer(1000);
    expect(sockets[0].closedWith).toBe(4000);
    expect(statuses.at(-1)).toBe('reconnecting');
  });

  it('resumes after a drop with the last sequence number and skips replayed duplicates', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].frame('message_create', 2, { id: 'm1' });
    sockets[0].drop();
    expect(statuses.at(-1)).toBe('reconnecting');
    runTimer(375);
    sockets[1].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    expect(sockets[1].sent).toEqual([{ op: 'resume', d: { session_id: 'abc', seq: 2 } }]);
    sockets[1].frame('message_create', 2, { id: 'm1' });
    sockets[1].frame('message_create', 3, { id: 'm2' });
    sockets[1].frame('resumed', 4, { replayed: 1 });
    expect(events.map((e) => (e.d as { id?: string }).id ?? e.t)).toEqual(['ready', 'm1', 'm2']);
    expect(statuses.at(-1)).toBe('connected');
  });

  it('identifies anew when the server cannot resume', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].frame('message_create', 5, { id: 'm5' });
    sockets[0].drop(1001);
    runTimer(375);
    sockets[1].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[1].frame('invalid_session', 0, { reason: 'unknown_session' });
    expect(sockets[1].sent.at(-1)).toEqual({ op: 'identify', d: {} });
    sockets[1].frame('ready', 1, ready('new'));
    sockets[1].frame('message_create', 2, { id: 'fresh' });
    expect(events.map((e) => (e.d as { id?: string }).id ?? e.t)).toEqual(['ready', 'm5', 'ready', 'fresh']);
  });

  it('backs off longer on each failed attempt and resets once connected', () => {
    sockets[0].drop();
    runTimer(375);
    sockets[1].drop();
    runTimer(750);
    sockets[2].drop();
    runTimer(1500);
    sockets[3].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[3].frame('ready', 1, ready());
    sockets[3].drop();
    runTimer(375);
    expect(sockets).toHaveLength(5);
  });

  it('stops and reports an invalid session cookie', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].drop(4004);
    expect(authFailed).toBe(1);
    expect(statuses.at(-1)).toBe('stopped');
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
  });

  it('stays down when newer sessions displaced this one', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].drop(4012);
    expect(statuses.at(-1)).toBe('displaced');
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
    expect(sockets).toHaveLength(1);
  });

  it('stops for good and says so when an admin disabled the account (4013)', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].drop(4013);
    expect(disabled).toBe(1);
    expect(authFailed).toBe(0);
    expect(statuses.at(-1)).toBe('disabled');
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
    expect(sockets).toHaveLength(1);
  });

  it('identifies afresh at once when an admin changed the account\'s role (4014), with the new rights', async () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].frame('message_create', 7, { id: 'm7' });
    const inFlight = client.request('typing', { channel_id: '10' });
    sockets[0].drop(4014);
    await expect(inFlight).rejects.toMatchObject({ code: 'disconnected' });
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(authFailed + disabled).toBe(0);
    // No back-off: the reconnect is due now.
    runTimer(0);
    expect(sockets).toHaveLength(2);
    sockets[1].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    expect(sockets[1].sent).toEqual([{ op: 'identify', d: {} }]);
    const promoted = { ...ready('fresh'), user: { id: '1', username: 'amy', admin: true } };
    sockets[1].frame('ready', 1, promoted);
    const last = events.at(-1);
    expect(last?.t).toBe('ready');
    expect((last?.d as { user: { admin: boolean } }).user.admin).toBe(true);
    expect(statuses.at(-1)).toBe('connected');
    // The new session's frames count from 1 again and none is skipped as a duplicate.
    sockets[1].frame('message_create', 2, { id: 'after' });
    expect((events.at(-1)?.d as { id: string }).id).toBe('after');
  });

  it('backs off when the server keeps closing with 4014 before a ready', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].drop(4014);
    runTimer(0);
    sockets[1].drop(4014);
    expect(() => runTimer(0)).toThrow();
    runTimer(750);
    expect(sockets).toHaveLength(3);
  });

  it('identifies again at once when its login session ended (4011), and reports the dead cookie', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].drop(4011);
    expect(authFailed).toBe(0);
    // No back-off: the reconnect is due now, and it identifies rather than resumes.
    runTimer(0);
    sockets[1].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    expect(sockets[1].sent).toEqual([{ op: 'identify', d: {} }]);
    // The server refuses the ended login: the app goes to the login screen.
    sockets[1].drop(4004);
    expect(authFailed).toBe(1);
    expect(statuses.at(-1)).toBe('stopped');
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
    expect(sockets).toHaveLength(2);
  });

  it('backs off when the server keeps closing with 4011 while the login stays valid', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    sockets[0].drop(4011);
    runTimer(0);
    sockets[1].drop(4011);
    expect(() => runTimer(0)).toThrow();
    runTimer(750);
    expect(sockets).toHaveLength(3);
  });

  it('matches replies and errors to requests', async () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    sockets[0].frame('ready', 1, ready());
    const ok = client.request('typing', { channel_id: '10' });
    const bad = client.request('typing', { channel_id: '11' });
    const [first, second] = sockets[0].sent.slice(-2) as { id: string }[];
    sockets[0].frame('error', 2, { code: 'not_found', message: 'Channel not found.' }, second.id);
    sockets[0].frame('reply', 3, {}, first.id);
    await expect(ok).resolves.toEqual({});
    await expect(bad).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stop closes cleanly and never reconnects', () => {
    sockets[0].frame('hello', 0, { heartbeat_interval_ms: 1000 });
    client.stop();
    expect(sockets[0].closedWith).toBe(1000);
    sockets[0].drop(1000);
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
  });
});
