// Delivers pending sends to the server one at a time, in the order the user made them, and keeps
// retrying each with its nonce until the server answers: after a backoff, at once when the
// gateway reconnects, or when the server's Retry-After is over. Because every attempt carries the
// same nonce, a retry of a send that went through returns the first message, never a second.

import { backoffDelay } from '../api/backoff';
import type { Message } from '../api/protocol';
import { ApiError } from '../api/rest';
import type { PendingMessage } from './chat';
import { refusalText } from './posting';

/** A fresh nonce for one send: 128 random bits as 32 hex digits (the server takes 1–64
 * characters), so no other send shares it. Not `crypto.randomUUID`, which exists only on HTTPS
 * pages, and self-hosted servers on a LAN are often reached over plain HTTP. */
export function newNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What to do after a failed attempt. */
export type SendFailure =
  /** Try again later: after `afterMs` if the server said (Retry-After), else after a backoff. */
  | { retry: true; afterMs: number | null }
  /** The server refused it and would again: show `message` and stop. */
  | { retry: false; message: string };

/** Sorts a failed attempt into "try again" and "give up". Unreachable servers, 5xx (restarting,
 * database down), timeouts and rate limits pass; anything else (too long, forbidden, channel
 * gone, timed out by an admin) would be refused again, however often it is sent. So would a
 * channel's slow mode for a while, which may be hours: waiting it out here would hold up every
 * later send, in every channel, so the user retries it when the composer's countdown ends. */
export function classifySendFailure(error: unknown): SendFailure {
  if (!(error instanceof ApiError)) return { retry: false, message: 'Could not send.' };
  const transient = error.status === 0 || error.status === 408 || (error.status === 429 && error.code !== 'slowmode') || error.status >= 500;
  if (transient) return { retry: true, afterMs: error.retryAfterMs ?? null };
  return { retry: false, message: refusalText(error) };
}

/** Injected effects, so the retry schedule can be tested with a fake clock. */
export interface OutboxDeps {
  /** The oldest send still waiting for the server, if any. */
  next(): PendingMessage | null;
  /** One attempt; rejects with an ApiError. */
  post(pending: PendingMessage): Promise<Message>;
  acked(nonce: string, message: Message): void;
  /** Refused for good: `error` is the text to show, `cause` what the server answered. */
  failed(nonce: string, error: string, cause: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

/** Sends pending messages; `kick` after queueing one, `reconnected` when the gateway is back. */
export class Outbox {
  /** The nonce of the attempt under way; one at a time keeps the order and the rate limit. */
  private inFlight: string | null = null;
  private wait: { handle: unknown; askedByServer: boolean } | null = null;
  private failures = 0;
  /** Bumped by `reset`, so answers to attempts from before a logout are ignored. */
  private generation = 0;

  constructor(private readonly deps: OutboxDeps) {}

  /** Sends the next pending message unless an attempt is under way or a retry is scheduled. */
  kick(): void {
    if (this.inFlight !== null || this.wait !== null) return;
    const pending = this.deps.next();
    if (!pending) return;
    const generation = this.generation;
    this.inFlight = pending.nonce;
    this.deps.post(pending).then(
      (message) => {
        if (generation !== this.generation) return;
        this.inFlight = null;
        this.failures = 0;
        this.deps.acked(pending.nonce, message);
        this.kick();
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        this.inFlight = null;
        const failure = classifySendFailure(error);
        if (!failure.retry) {
          this.deps.failed(pending.nonce, failure.message, error);
          this.kick();
          return;
        }
        const askedByServer = failure.afterMs !== null;
        const delay = failure.afterMs ?? backoffDelay(this.failures++, this.deps.random());
        const handle = this.deps.setTimeout(() => {
          this.wait = null;
          this.kick();
        }, delay);
        this.wait = { handle, askedByServer };
      },
    );
  }

  /** The gateway is back, so the server probably is too: retry now instead of after the backoff.
   * A wait the server asked for (Retry-After) is kept. */
  reconnected(): void {
    this.failures = 0;
    if (this.wait && !this.wait.askedByServer) {
      this.deps.clearTimeout(this.wait.handle);
      this.wait = null;
    }
    this.kick();
  }

  /** Forgets everything (logout). */
  reset(): void {
    this.generation++;
    if (this.wait) this.deps.clearTimeout(this.wait.handle);
    this.wait = null;
    this.inFlight = null;
    this.failures = 0;
  }
}
