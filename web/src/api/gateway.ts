// Gateway client: identifies over the session cookie, heartbeats, and on any drop reconnects
// with backoff and `resume`, so no event is lost or applied twice (frames carry a sequence
// number; anything at or below the last one seen is a duplicate and is skipped). When an admin
// promotes or demotes the account (4014) it identifies afresh at once, so `ready` brings the new
// rights. When its login session ends (4011: logged out elsewhere, a password change, a session
// ended from another device) it identifies again at once too: the server refuses the dead
// cookie with 4004, and the app shows the login screen.

import { backoffDelay } from './backoff';
import { CloseCode, type GatewayEvent, type ServerFrame } from './protocol';

/** The connection as the UI shows it. */
export type GatewayStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped' | 'displaced' | 'disabled';

/** The subset of WebSocket the client uses, so tests can supply their own. */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** What the client calls back. */
export interface GatewayHandlers {
  /** A dispatched event. `ready` means state must be refetched; after `resume` nothing was missed. */
  event(event: GatewayEvent): void;
  status(status: GatewayStatus): void;
  /** The session cookie is no longer valid: show the login screen. */
  authFailed(): void;
  /** An admin disabled (banned) the account: the client stops and says so. */
  accountDisabled(): void;
}

/** Injected effects, for tests. */
export interface GatewayDeps {
  createSocket(url: string): SocketLike;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

const browserDeps: GatewayDeps = {
  createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
  random: Math.random,
};

/** A close code the server never sends, used when the client gives up on a silent socket. */
const CLIENT_LOST = 4000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A failed op, with the server's error code. */
export class GatewayError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
  }
}

/** The browser's gateway connection. */
export class GatewayClient {
  private socket: SocketLike | null = null;
  private sessionId: string | null = null;
  private seq = 0;
  private attempt = 0;
  private stopped = false;
  private heartbeat: unknown = null;
  private reconnect: unknown = null;
  private awaitingAck = false;
  private nextRequest = 1;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly url: string,
    private readonly handlers: GatewayHandlers,
    private readonly deps: GatewayDeps = browserDeps,
  ) {}

  /** Opens the connection. */
  start(): void {
    this.stopped = false;
    this.handlers.status('connecting');
    this.open();
  }

  /** Closes for good (logout): the server ends the session at once. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.socket?.close(1000, 'bye');
    this.socket = null;
    this.handlers.status('stopped');
  }

  /** Sends an op and resolves with its reply payload, or rejects with its error. */
  request(op: string, d: unknown): Promise<unknown> {
    const id = 'c' + this.nextRequest++;
    return new Promise((resolve, reject) => {
      if (!this.socket || !this.sessionId) {
        reject(new GatewayError('not_connected', 'Not connected.'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ op, id, d }));
    });
  }

  private open(): void {
    const socket = this.deps.createSocket(this.url);
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(String(ev.data));
    };
    socket.onclose = (ev) => {
      if (this.socket === socket) this.lost(ev.code);
    };
    socket.onerror = () => {};
  }

  private send(op: string, d?: unknown): void {
    this.socket?.send(JSON.stringify(d === undefined ? { op } : { op, d }));
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (frame.s > 0) {
      if (frame.s <= this.seq) return;
      this.seq = frame.s;
    }
    switch (frame.t) {
      case 'hello':
        this.startHeartbeat((frame.d as { heartbeat_interval_ms: number }).heartbeat_interval_ms);
        if (this.sessionId) this.send('resume', { session_id: this.sessionId, seq: this.seq });
        else this.send('identify', {});
        return;
      case 'heartbeat_ack':
        this.awaitingAck = false;
        return;
      case 'invalid_session':
        this.sessionId = null;
        this.seq = 0;
        this.send('identify', {});
        return;
      case 'resumed':
        this.connected();
        return;
      case 'reply':
      case 'error':
        this.settle(frame);
        return;
      case 'ready':
        this.sessionId = (frame.d as { session_id: string }).session_id;
        this.handlers.event(frame as unknown as GatewayEvent);
        this.connected();
        return;
      default:
        this.handlers.event(frame as unknown as GatewayEvent);
    }
  }

  private connected(): void {
    this.attempt = 0;
    this.handlers.status('connected');
  }

  private settle(frame: ServerFrame): void {
    const key = frame.id === undefined ? undefined : String(frame.id);
    const pending = key === undefined ? undefined : this.pending.get(key);
    if (!pending || key === undefined) return;
    this.pending.delete(key);
    if (frame.t === 'reply') pending.resolve(frame.d);
    else {
      const error = frame.d as { code: string; message: string };
      pending.reject(new GatewayError(error.code, error.message));
    }
  }

  private startHeartbeat(intervalMs: number): void {
    this.clearHeartbeat();
    this.awaitingAck = false;
    const beat = () => {
      if (this.awaitingAck) {
        // No answer to the last heartbeat: the connection is dead even if the socket has not noticed.
        this.socket?.close(CLIENT_LOST, 'heartbeat unanswered');
        this.lost(CLIENT_LOST);
        return;
      }
      this.awaitingAck = true;
      this.send('heartbeat');
      this.heartbeat = this.deps.setTimeout(beat, intervalMs);
    };
    this.heartbeat = this.deps.setTimeout(beat, intervalMs);
  }

  private lost(code: number): void {
    this.socket = null;
    this.clearTimers();
    for (const pending of this.pending.values()) pending.reject(new GatewayError('disconnected', 'The connection dropped.'));
    this.pending.clear();
    if (this.stopped) return;
    if (code === CloseCode.AuthenticationFailed) {
      this.stopped = true;
      this.handlers.status('stopped');
      this.handlers.authFailed();
      return;
    }
    if (code === CloseCode.AccountDisabled) {
      // Every session of the account is gone; reconnecting could only fail.
      this.stopped = true;
      this.handlers.status('disabled');
      this.handlers.accountDisabled();
      return;
    }
    if (code === CloseCode.TooManySessions) {
      // Newer tabs or devices took this one's place; reconnecting would only push out another.
      this.stopped = true;
      this.handlers.status('displaced');
      return;
    }
    if (code === CloseCode.SessionEnded || code === CloseCode.NotAuthenticated || code === CloseCode.RoleChanged) {
      this.sessionId = null;
      this.seq = 0;
    }
    this.handlers.status('reconnecting');
    // What the account may see changed, or its login may be gone: a new session must replace the
    // old one now, not after a back-off (identify then either brings `ready` or is refused with
    // 4004, which stops the client). Only the first time, though: a server that keeps closing
    // gets the back-off.
    const immediately = (code === CloseCode.RoleChanged || code === CloseCode.SessionEnded) && this.attempt === 0;
    const delay = immediately ? 0 : backoffDelay(this.attempt, this.deps.random());
    this.attempt++;
    this.reconnect = this.deps.setTimeout(() => {
      this.reconnect = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private clearHeartbeat(): void {
    if (this.heartbeat !== null) this.deps.clearTimeout(this.heartbeat);
    this.heartbeat = null;
  }

  private clearTimers(): void {
    this.clearHeartbeat();
    if (this.reconnect !== null) this.deps.clearTimeout(this.reconnect);
    this.reconnect = null;
  }
}

/** The gateway URL for the page's origin. */
export function gatewayUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/gateway`;
}
