// Server settings, Audit log: every admin action, newest first, with who did it to whom, the
// reason and what changed; "Load more" pages back from the oldest entry shown.

import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry, Id } from '../../api/protocol';
import { auditAction, auditDetail } from '../../moderation';
import { api, chat } from '../../state/store';
import { formatTimestamp, isoTimestamp } from '../../time';
import { errorText } from '../FormDialog';

/** Entries per page. */
const PAGE = 50;

export function AuditTab() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  /** Names of accounts the chat's directory may not know yet (created from these settings). */
  const [names, setNames] = useState<Record<Id, string>>({});

  const load = async (before?: Id) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.auditLog(before, PAGE);
      setEntries((shown) => (before ? [...shown, ...page] : page));
      setHasMore(page.length === PAGE);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load();
    api.adminUsers().then((users) => setNames(Object.fromEntries(users.map((u) => [u.id, u.username]))), () => {});
  }, []);

  const users = chat.value.users;
  const nameOf = (id: Id | null) => (id === null ? '' : (names[id] ?? users[id]?.username ?? id));

  return (
    <section class="settings-section" aria-label="Audit log">
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!loading && entries.length === 0 && !error && <p class="hint-left">Nothing yet.</p>}
      {entries.length > 0 && (
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Admin</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id} data-action={entry.action}>
                <td>
                  <time dateTime={isoTimestamp(entry.at)}>{formatTimestamp(entry.at)}</time>
                </td>
                <td>{nameOf(entry.actor_id)}</td>
                <td title={entry.action}>{auditAction(entry.action)}</td>
                <td>{nameOf(entry.target)}</td>
                <td>{entry.reason ?? ''}</td>
                <td>{auditDetail(entry, formatTimestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loading && <p class="hint-left">Loading…</p>}
      {hasMore && !loading && (
        <button type="button" class="ghost load-more" onClick={() => void load(entries.at(-1)?.id)}>
          Load more
        </button>
      )}
    </section>
  );
}
