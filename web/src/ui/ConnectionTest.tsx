// The browser connection test's screen: a button that runs every check from this browser
// (connectionProbe.ts), then each check with its verdict, timing and hint, and a line for the
// whole run. Shown in the settings (Test connection) and on its own page, /connection-test,
// which works before login so someone can try their network before registering.

import { useEffect, useRef, useState } from 'preact/hooks';
import { gatewayUrl } from '../api/gateway';
import type { IceConfig } from '../api/protocol';
import { settingsPath } from '../routes';
import { navigate } from '../state/navigation';
import { api } from '../state/store';
import { runConnectionTest, type ConnectionTestProgress } from '../voice/connectionProbe';
import { CHECK_LABELS, summarize, waitingResults, type CheckStatus } from '../voice/connectionTest';
import './connectionTest.css';

const STATUS_TEXT: Record<CheckStatus, string> = {
  waiting: 'waiting',
  running: 'testing',
  pass: 'pass',
  warn: 'warning',
  fail: 'fail',
  skip: 'skipped',
};

export function ConnectionTest() {
  const [progress, setProgress] = useState<ConnectionTestProgress | null>(null);
  const running = progress !== null && !progress.done;
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const run = () => {
    setProgress({ results: waitingResults(), notice: null, done: false });
    const deps = { fetchIce: () => api.request<IceConfig>('GET', '/connection-test'), gatewayUrl: gatewayUrl(location) };
    runConnectionTest(deps, setProgress, () => !mounted.current).catch((error: unknown) => {
      if (mounted.current) setProgress((p) => p && { ...p, notice: `The test stopped: ${error instanceof Error ? error.message : String(error)}`, done: true });
    });
  };

  const summary = progress?.done && !progress.notice ? summarize(progress.results) : null;
  return (
    <section class="connection-test" aria-label="Connection test" aria-busy={running}>
      <p class="hint-left">
        Checks from this browser whether your network lets a call through to this server: the live connection, STUN, the relay over UDP, TCP and TLS, and
        a call through the relay that measures delay and loss for a few seconds.
      </p>
      <div class="connection-test-toolbar">
        <button type="button" class="primary small" onClick={run} disabled={running}>
          {running ? 'Testing…' : progress ? 'Run again' : 'Run test'}
        </button>
      </div>
      {progress?.notice && (
        <p class="form-error" role="alert">
          {progress.notice}
        </p>
      )}
      {summary && (
        <p class={`connection-summary ${summary.tone}`} role="status">
          {summary.text}
        </p>
      )}
      {progress && (
        <ul class="connection-checks" aria-label="Checks">
          {progress.results.map((result) => (
            <li key={result.id} class={`connection-check ${result.status}`} aria-label={CHECK_LABELS[result.id]} data-check={result.id} data-status={result.status}>
              <span class="check-status">{STATUS_TEXT[result.status]}</span>
              <strong class="check-name">{CHECK_LABELS[result.id]}</strong>
              {result.ms !== null && <span class="check-ms">{result.ms} ms</span>}
              {result.detail && <span class="check-detail">{result.detail}</span>}
              {result.hint && <p class="check-hint">{result.hint}</p>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The way into the test from the chat, for everyone: opens Settings → Test connection. */
export function ConnectionTestButton() {
  return (
    <button type="button" class="ghost icon-button" aria-label="Test connection" title="Test connection" onClick={() => navigate(settingsPath('connection'))}>
      <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
        <path fill="currentColor" d="M3 17h3v4H3zm5-4h3v8H8zm5-4h3v12h-3zm5-5h3v17h-3z" />
      </svg>
    </button>
  );
}

/** /connection-test: the test on a page of its own, for anyone, logged in or not. */
export function ConnectionTestPage(props: { signedIn: boolean }) {
  return (
    <main class="auth">
      <section class="auth-card connection-test-card" aria-label="Test your connection">
        <h1>Test your connection</h1>
        <ConnectionTest />
        <p class="auth-link">
          <a
            href="/"
            onClick={(e) => {
              e.preventDefault();
              navigate('/');
            }}
          >
            {props.signedIn ? 'Back to the chat' : 'Back to log in'}
          </a>
        </p>
      </section>
    </main>
  );
}
