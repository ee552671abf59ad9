// Server settings, People: every account (avatar, username and display name) with its admin
// badge, ban and timeout; per person
// promote or demote, ban (with a reason and how many hours of their messages to delete) or
// unban, time out or remove the timeout, set a password, take them out of voice or server-mute
// them there (and lift it); and "Create account". A refusal (say, demoting the last admin) shows
// the server's message on that row.

import { useEffect, useState } from 'preact/hooks';
import type { AdminUser } from '../../api/protocol';
import { MAX_DELETE_HOURS, TIMEOUT_CHOICES } from '../../moderation';
import { account, api, chat } from '../../state/store';
import { formatTimestamp } from '../../time';
import { Avatar } from '../Avatar';
import { errorText, FormDialog } from '../FormDialog';

type Dialog = { kind: 'ban' | 'timeout' | 'password'; user: AdminUser } | { kind: 'create' };

function byName(users: AdminUser[]): AdminUser[] {
  return [...users].sort((a, b) => a.username.toLowerCase().localeCompare(b.username.toLowerCase()));
}

export function PeopleTab() {
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [now, setNow] = useState(Date.now());

  const load = () =>
    api.adminUsers().then(
      (list) => {
        setUsers(byName(list));
        setNow(Date.now());
      },
      (e) => setLoadError(errorText(e)),
    );

  useEffect(() => {
    void load();
  }, []);

  /** Puts the server's answer for one account in its row. */
  const replace = (updated: AdminUser) => {
    setUsers((list) => byName([...(list ?? []).filter((u) => u.id !== updated.id), updated]));
    setNow(Date.now());
  };

  /** Runs a change of one row, showing a refusal on that row. */
  const act = async (user: AdminUser, change: () => Promise<AdminUser | void>) => {
    setRowErrors(({ [user.id]: _old, ...rest }) => rest);
    try {
      const updated = await change();
      if (updated) replace(updated);
    } catch (e) {
      setRowErrors((errors) => ({ ...errors, [user.id]: errorText(e) }));
    }
  };

  const me = account.value;
  const inVoice = chat.value.voice;
  // Display names and avatars as the chat knows them, for a server whose list leaves them out.
  const known = chat.value.users;
  const displayNameOf = (user: AdminUser) => user.display_name ?? known[user.id]?.display_name;

  return (
    <section class="settings-section" aria-label="People">
      <div class="settings-toolbar">
        <p class="hint-left">{users ? `${users.length} ${users.length === 1 ? 'account' : 'accounts'}` : ''}</p>
        <button type="button" class="primary small" onClick={() => setDialog({ kind: 'create' })}>
          Create account
        </button>
      </div>
      {loadError && (
        <p class="form-error" role="alert">
          {loadError}
        </p>
      )}
      {users === null && !loadError && <p class="hint-left">Loading…</p>}
      {users && (
        <ul class="people" aria-label="Accounts">
          {users.map((user) => {
            const timedOut = user.timeout_until !== null && user.timeout_until > now;
            return (
              <li key={user.id} class={`person${user.disabled ? ' disabled' : ''}`} aria-label={user.username} data-user-id={user.id}>
                <div class="person-who">
                  <Avatar person={{ ...known[user.id], ...user }} look="small" />
                  <strong>{user.username}</strong>
                  {displayNameOf(user) && <span class="person-display-name">“{displayNameOf(user)}”</span>}
                  {user.id === me?.id && <small>(you)</small>}
                  {user.admin && <span class="badge admin">admin</span>}
                  {user.disabled && <span class="badge danger-badge">banned</span>}
                  {timedOut && <span class="badge warn-badge">timed out until {formatTimestamp(user.timeout_until!)}</span>}
                </div>
                <div class="person-actions">
                  <button type="button" class="ghost" onClick={() => void act(user, () => api.updateAccount(user.id, { admin: !user.admin }))}>
                    {user.admin ? 'Demote' : 'Promote'}
                  </button>
                  {user.disabled ? (
                    <button type="button" class="ghost" onClick={() => void act(user, () => api.updateAccount(user.id, { disabled: false }))}>
                      Unban
                    </button>
                  ) : (
                    <button type="button" class="ghost danger" onClick={() => setDialog({ kind: 'ban', user })}>
                      Ban
                    </button>
                  )}
                  {timedOut ? (
                    <button type="button" class="ghost" onClick={() => void act(user, () => api.endTimeout(user.id))}>
                      Remove timeout
                    </button>
                  ) : (
                    <button type="button" class="ghost" disabled={user.disabled} onClick={() => setDialog({ kind: 'timeout', user })}>
                      Timeout
                    </button>
                  )}
                  <button type="button" class="ghost" onClick={() => setDialog({ kind: 'password', user })}>
                    Set password
                  </button>
                  {inVoice[user.id] && (
                    <button type="button" class="ghost" onClick={() => void act(user, () => api.disconnectFromVoice(user.id))}>
                      Disconnect from voice
                    </button>
                  )}
                  {inVoice[user.id] && (
                    <button type="button" class="ghost" onClick={() => void act(user, () => api.serverMute(user.id, !inVoice[user.id].server_muted))}>
                      {inVoice[user.id].server_muted ? 'Server unmute' : 'Server mute'}
                    </button>
                  )}
                </div>
                {rowErrors[user.id] && (
                  <p class="form-error" role="alert">
                    {rowErrors[user.id]}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {dialog?.kind === 'ban' && <BanDialog user={dialog.user} done={replace} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'timeout' && <TimeoutDialog user={dialog.user} done={replace} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'password' && <PasswordDialog user={dialog.user} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'create' && <CreateAccountDialog done={replace} onClose={() => setDialog(null)} />}
    </section>
  );
}

function value(e: Event): string {
  return (e.target as HTMLInputElement | HTMLSelectElement).value;
}

function BanDialog(props: { user: AdminUser; done(user: AdminUser): void; onClose(): void }) {
  const [reason, setReason] = useState('');
  const [hours, setHours] = useState('0');
  return (
    <FormDialog
      title={`Ban ${props.user.username}`}
      submitLabel="Ban"
      danger
      onClose={props.onClose}
      onSubmit={async () => {
        const deleteHours = Math.round(Number(hours) || 0);
        const change = { disabled: true, ...(reason.trim() ? { reason: reason.trim() } : {}), ...(deleteHours > 0 ? { delete_messages_hours: deleteHours } : {}) };
        props.done(await api.updateAccount(props.user.id, change));
      }}
    >
      <p class="dialog-text">They are logged out everywhere, leave voice, and cannot log in until unbanned.</p>
      <label class="field">
        <span>Reason (for the audit log)</span>
        <input name="reason" value={reason} maxLength={512} autoFocus onInput={(e) => setReason(value(e))} />
      </label>
      <label class="field">
        <span>Delete messages from the last N hours (0–{MAX_DELETE_HOURS})</span>
        <input name="delete-hours" type="number" min={0} max={MAX_DELETE_HOURS} step={1} value={hours} onInput={(e) => setHours(value(e))} />
      </label>
    </FormDialog>
  );
}

function TimeoutDialog(props: { user: AdminUser; done(user: AdminUser): void; onClose(): void }) {
  const [seconds, setSeconds] = useState(String(TIMEOUT_CHOICES[1].seconds));
  const [reason, setReason] = useState('');
  return (
    <FormDialog
      title={`Time out ${props.user.username}`}
      submitLabel="Time out"
      onClose={props.onClose}
      onSubmit={async () => {
        const until = Date.now() + Number(seconds) * 1000;
        props.done(await api.timeOut(props.user.id, until, reason.trim() || undefined));
      }}
    >
      <p class="dialog-text">Until then they can read, but not post, type or join voice.</p>
      <label class="field">
        <span>Duration</span>
        <select name="duration" value={seconds} onChange={(e) => setSeconds(value(e))}>
          {TIMEOUT_CHOICES.map((choice) => (
            <option key={choice.seconds} value={String(choice.seconds)}>
              {choice.label}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>Reason (for the audit log)</span>
        <input name="reason" value={reason} maxLength={512} onInput={(e) => setReason(value(e))} />
      </label>
    </FormDialog>
  );
}

function PasswordDialog(props: { user: AdminUser; onClose(): void }) {
  const [password, setPassword] = useState('');
  return (
    <FormDialog title={`Set the password of ${props.user.username}`} submitLabel="Set password" onClose={props.onClose} onSubmit={() => api.setPassword(props.user.id, password)}>
      <p class="dialog-text">Their sessions end; they log in again with the new password.</p>
      <label class="field">
        <span>New password</span>
        <input name="new-password" type="password" autoComplete="new-password" minLength={8} required autoFocus value={password} onInput={(e) => setPassword(value(e))} />
      </label>
    </FormDialog>
  );
}

function CreateAccountDialog(props: { done(user: AdminUser): void; onClose(): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [admin, setAdmin] = useState(false);
  return (
    <FormDialog
      title="Create account"
      submitLabel="Create account"
      onClose={props.onClose}
      onSubmit={async () => props.done(await api.createAccount({ username, password, email: email.trim() || undefined, admin }))}
    >
      <label class="field">
        <span>Username</span>
        <input name="new-username" autoComplete="off" required autoFocus value={username} onInput={(e) => setUsername(value(e))} />
      </label>
      <label class="field">
        <span>Password</span>
        <input name="new-password" type="password" autoComplete="new-password" required value={password} onInput={(e) => setPassword(value(e))} />
      </label>
      <label class="field">
        <span>Email (optional)</span>
        <input name="new-email" type="email" autoComplete="off" value={email} onInput={(e) => setEmail(value(e))} />
      </label>
      <label class="check">
        <input type="checkbox" checked={admin} onChange={(e) => setAdmin((e.target as HTMLInputElement).checked)} />
        Admin
      </label>
    </FormDialog>
  );
}
