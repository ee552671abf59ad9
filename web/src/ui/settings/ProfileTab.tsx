// Settings → Profile, for everyone: the avatar (see AvatarEditor), username, display name and
// email, and deleting the account (see DeleteAccount). A save sends only what changed, and a
// refusal shows under the field it concerns. Everyone else sees a change at once (`user_update`).

import { useEffect, useState } from 'preact/hooks';
import type { Me } from '../../api/protocol';
import { profileChange, profileErrors, profileForm, type ProfileErrors, type ProfileForm } from '../../profile';
import { account, api, profileChanged } from '../../state/store';
import { errorText } from '../FormDialog';
import { AvatarEditor } from './AvatarEditor';
import { DeleteAccount } from './DeleteAccount';
import { EmailField, TextField } from './fields';

export function ProfileTab() {
  const [me, setMe] = useState<Me | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    api.me().then(setMe, (e) => setLoadError(errorText(e)));
  }, []);

  // The account as the rest of the app knows it, for changes made on another device meanwhile.
  const known = account.value;
  const shown = me && known && known.id === me.id ? { ...me, username: known.username, display_name: known.display_name, avatar: known.avatar } : me;

  const changed = (next: Me) => {
    setMe(next);
    profileChanged(next);
  };

  if (loadError) {
    return (
      <p class="form-error" role="alert">
        {loadError}
      </p>
    );
  }
  if (!shown) return <p class="hint-left">Loading…</p>;
  return (
    <>
      <AvatarEditor me={shown} changed={changed} />
      <ProfileDetails me={shown} changed={changed} />
      <DeleteAccount />
    </>
  );
}

function ProfileDetails(props: { me: Me; changed(me: Me): void }) {
  const [form, setForm] = useState<ProfileForm>(() => profileForm(props.me));
  const [errors, setErrors] = useState<ProfileErrors>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof ProfileForm) => (value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setSaved(false);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const change = profileChange(props.me, form);
    setErrors({});
    if (!change) {
      setSaved(true);
      return;
    }
    setBusy(true);
    try {
      const me = await api.updateMe(change);
      props.changed(me);
      setForm(profileForm(me));
      setSaved(true);
    } catch (error) {
      setErrors(profileErrors(error));
    } finally {
      setBusy(false);
    }
  };

  const email = props.me.email;
  const emailHint = !email ? 'Optional.' : props.me.email_verified ? 'Confirmed.' : 'Not confirmed yet: follow the link we mailed you.';
  return (
    <form class="settings-section narrow" aria-label="Name and email" onSubmit={submit}>
      <h3>Name and email</h3>
      <TextField id="profile-username" label="Username" autocomplete="username" required value={form.username} set={set('username')} error={errors.username} />
      <TextField
        id="profile-display-name"
        label="Display name"
        autocomplete="nickname"
        maxLength={32}
        placeholder={form.username}
        hint="Shown instead of your username. Leave it empty to show your username."
        value={form.displayName}
        set={set('displayName')}
        error={errors.displayName}
      />
      <EmailField id="profile-email" label="Email" autocomplete="email" hint={emailHint} value={form.email} set={set('email')} error={errors.email} />
      {errors.form && (
        <p class="form-error" role="alert">
          {errors.form}
        </p>
      )}
      {saved && (
        <p class="form-success" role="status">
          Profile saved.
        </p>
      )}
      <div>
        <button class="primary" type="submit" disabled={busy}>
          Save profile
        </button>
      </div>
    </form>
  );
}
