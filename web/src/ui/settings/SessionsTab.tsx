// Settings → Sessions, for everyone logged in: where the account is logged in (address,
// client, last use), with a way to log out any other session or all of them at once. The list
// reloads after each.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { LoginSession } from '../../api/protocol';
import { describeUserAgent, lastActiveText, orderSessions } from '../../account';
import { api, ApiError } from '../../state/store';
import { formatTimestamp, isoTimestamp } from '../../time';
import { errorText } from '../FormDialog';

export function SessionsTab() {
  const [sessions, setSessions] = useState<LoginSession[] | null>(null);
  const [loadedAt, setLoadedAt] = useState(() => Date.now());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Only the newest load may fill the list: an older answer arriving late would undo a logout.
  const latestLoad = useRef(0);

  const load = async () => {
    const ticket = ++latestLoad.current;
    try {
      const list = await api.sessions();
      if (ticket !== latestLoad.current) return;
      setSessions(orderSessions(list));
      setLoadedAt(Date.now());
      setError(null);
    } catch (e) {
      if (ticket === latestLoad.current) setError(errorText(e));
    }
  };

  useEffect(() => {
    void load();
  }, []);

  /** Ends sessions, then reloads the list either way; one already gone (404) is no error. */
  const end = async (action: () => Promise<void>) => {
    setBusy(true);
    let failure: string | null = null;
    try {
      await action();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) failure = errorText(e);
    }
    await load();
    if (failure) setError(failure);
    setBusy(false);
  };

  const others = sessions?.filter((s) => !s.current).length ?? 0;
  return (
    <section class="settings-section" aria-label="Where you're logged in">
      <div class="settings-toolbar">
        <h3>Where you're logged in</h3>
        {others > 0 && (
          <button type="button" class="ghost danger" disabled={busy} onClick={() => void end(() => api.endOtherSessions())}>
            Log out everywhere else
          </button>
        )}
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {sessions === null && !error && <p class="hint-left">Loading…</p>}
      {sessions && others === 0 && <p class="hint-left">You are logged in only here.</p>}
      {sessions && sessions.length > 0 && (
        <ul class="sessions" aria-label="Sessions">
          {sessions.map((session) => (
            <SessionRow key={session.id} session={session} now={loadedAt} busy={busy} logOut={() => void end(() => api.endSession(session.id))} />
          ))}
        </ul>
      )}
    </section>
  );
}

function SessionRow(props: { session: LoginSession; now: number; busy: boolean; logOut(): void }) {
  const { session } = props;
  const client = describeUserAgent(session.user_agent);
  return (
    <li class={`session${session.current ? ' current' : ''}`} aria-label={session.current ? `${client}, this device` : client}>
      <div class="session-who">
        <strong title={session.user_agent || undefined}>{client}</strong>
        {session.current && <span class="badge current-badge">This device</span>}
      </div>
      <div class="session-meta">
        <span class="session-ip">{session.ip}</span>
        <span>
          Last active{' '}
          <time dateTime={isoTimestamp(session.last_used_at)} title={formatTimestamp(session.last_used_at)}>
            {lastActiveText(session.last_used_at, props.now)}
          </time>
        </span>
        <span>
          Logged in <time dateTime={isoTimestamp(session.created_at)}>{formatTimestamp(session.created_at)}</time>
        </span>
      </div>
      {!session.current && (
        <button type="button" class="ghost danger" disabled={props.busy} onClick={props.logOut}>
          Log out
        </button>
      )}
    </li>
  );
}
