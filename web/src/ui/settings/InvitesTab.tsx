// Server settings, Invites & registration: who may register (anyone, people with an invite, or
// nobody), whether members may create invites, and the invites with their links, uses and
// expiry: create one with optional limits, copy its link, delete it.

import { useEffect, useState } from 'preact/hooks';
import type { Invite, Registration, ServerSettings } from '../../api/protocol';
import { INVITE_LIFETIME_CHOICES, inviteUsable, inviteUses } from '../../moderation';
import { api, chat } from '../../state/store';
import { formatTimestamp } from '../../time';
import { errorText } from '../FormDialog';

const REGISTRATION_CHOICES: { value: Registration; label: string }[] = [
  { value: 'open', label: 'Anyone can register' },
  { value: 'invite', label: 'Only people with an invite' },
  { value: 'closed', label: 'Nobody (admins create accounts)' },
];

export function InvitesTab() {
  const [settings, setSettings] = useState<ServerSettings | null>(null);
  const [settingsError, setSettingsError] = useState<string | null>(null);
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);

  useEffect(() => {
    api.settings().then(setSettings, (e) => setSettingsError(errorText(e)));
    api.invites().then(setInvites, (e) => setListError(errorText(e)));
  }, []);

  const change = async (patch: Partial<Pick<ServerSettings, 'registration' | 'members_can_invite'>>) => {
    setSettingsError(null);
    try {
      setSettings(await api.updateSettings(patch));
    } catch (e) {
      setSettingsError(errorText(e));
    }
  };

  return (
    <>
      <section class="settings-section" aria-label="Registration">
        <h3>Registration</h3>
        {settings ? (
          <>
            <fieldset class="choices">
              <legend>Who can register</legend>
              {REGISTRATION_CHOICES.map((choice) => (
                <label class="check" key={choice.value}>
                  <input
                    type="radio"
                    name="registration"
                    value={choice.value}
                    checked={settings.registration === choice.value}
                    onChange={() => void change({ registration: choice.value })}
                  />
                  {choice.label}
                </label>
              ))}
            </fieldset>
            <label class="check">
              <input type="checkbox" checked={settings.members_can_invite} onChange={(e) => void change({ members_can_invite: (e.target as HTMLInputElement).checked })} />
              Members can create invites
            </label>
          </>
        ) : (
          !settingsError && <p class="hint-left">Loading…</p>
        )}
        {settingsError && (
          <p class="form-error" role="alert">
            {settingsError}
          </p>
        )}
      </section>
      <CreateInvite created={(invite) => setInvites((list) => [invite, ...(list ?? [])])} />
      <section class="settings-section" aria-label="Invites">
        <h3>Invites</h3>
        {listError && (
          <p class="form-error" role="alert">
            {listError}
          </p>
        )}
        {invites?.length === 0 && <p class="hint-left">No invites yet.</p>}
        {invites && invites.length > 0 && (
          <ul class="invites" aria-label="Invite list">
            {invites.map((invite) => (
              <InviteRow key={invite.code} invite={invite} deleted={() => setInvites((list) => (list ?? []).filter((i) => i.code !== invite.code))} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function CreateInvite(props: { created(invite: Invite): void }) {
  const [maxUses, setMaxUses] = useState('');
  const [lifetime, setLifetime] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const uses = maxUses.trim() ? Number(maxUses) : undefined;
      const seconds = lifetime ? Number(lifetime) : undefined;
      props.created(await api.createInvite({ ...(uses ? { max_uses: uses } : {}), ...(seconds ? { expires_in_secs: seconds } : {}) }));
      setMaxUses('');
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="settings-section invite-form" aria-label="Create invite" onSubmit={submit}>
      <h3>Create invite</h3>
      <div class="inline-fields">
        <label class="field">
          <span>Max uses</span>
          <input name="max-uses" type="number" min={1} max={1000} step={1} placeholder="No limit" value={maxUses} onInput={(e) => setMaxUses((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>Expires after</span>
          <select name="expires" value={lifetime} onChange={(e) => setLifetime((e.target as HTMLSelectElement).value)}>
            {INVITE_LIFETIME_CHOICES.map((choice) => (
              <option key={choice.label} value={choice.seconds === null ? '' : String(choice.seconds)}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary small" disabled={busy}>
          Create invite
        </button>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function InviteRow(props: { invite: Invite; deleted(): void }) {
  const invite = props.invite;
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const creator = chat.value.users[invite.creator_id]?.username ?? 'someone';
  const now = Date.now();
  const expired = invite.expires_at !== null && invite.expires_at <= now;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(invite.url);
      setNote('Copied');
    } catch {
      // No clipboard (a plain-HTTP page on another machine): select the link for Ctrl+C.
      const field = document.getElementById(`invite-url-${invite.code}`) as HTMLInputElement | null;
      field?.select();
      setNote('Press Ctrl+C to copy');
    }
  };

  const remove = async () => {
    setError(null);
    try {
      await api.deleteInvite(invite.code);
      props.deleted();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <li class={`invite${inviteUsable(invite, now) ? '' : ' spent'}`} aria-label={`Invite ${invite.code}`} data-code={invite.code}>
      <input id={`invite-url-${invite.code}`} class="invite-url" readOnly value={invite.url} aria-label="Invite link" onFocus={(e) => (e.target as HTMLInputElement).select()} />
      <span class="invite-meta">
        <span title="Uses">{inviteUses(invite)} uses</span>
        <span>{invite.expires_at === null ? 'never expires' : `${expired ? 'expired' : 'expires'} ${formatTimestamp(invite.expires_at)}`}</span>
        <span>by {creator}</span>
      </span>
      <span class="invite-actions">
        <button type="button" class="ghost" onClick={() => void copy()}>
          Copy link
        </button>
        <button type="button" class="ghost danger" onClick={() => void remove()}>
          Delete
        </button>
        {note && <small role="status">{note}</small>}
      </span>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
