// Deleting one's own account, at the end of Settings → Profile: a dialog asks for the password
// first. The messages stay, signed "Deleted user"; the session ends and the login screen says
// the account is gone. The last admin is refused (someone else must be made admin first).

import { useState } from 'preact/hooks';
import { deleteAccountErrors } from '../../profile';
import { navigate } from '../../state/navigation';
import { accountDeleted, api } from '../../state/store';
import { PasswordField } from './fields';

export function DeleteAccount() {
  const [open, setOpen] = useState(false);
  return (
    <section class="settings-section narrow" aria-label="Delete account">
      <h3>Delete account</h3>
      <p class="hint-left">Your messages stay, signed “Deleted user”. This cannot be undone.</p>
      <div>
        <button type="button" class="ghost danger bordered" onClick={() => setOpen(true)}>
          Delete account…
        </button>
      </div>
      {open && <DeleteAccountDialog close={() => setOpen(false)} />}
    </section>
  );
}

function DeleteAccountDialog(props: { close(): void }) {
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ password?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await api.deleteAccount(password);
    } catch (error) {
      setErrors(deleteAccountErrors(error));
      setBusy(false);
      return;
    }
    navigate('/', true);
    accountDeleted();
  };

  return (
    <div class="dialog-backdrop" role="dialog" aria-modal="true" aria-label="Delete your account" onClick={(e) => e.target === e.currentTarget && props.close()}>
      <form
        class="dialog"
        aria-label="Delete your account"
        onSubmit={submit}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            props.close();
          }
        }}
      >
        <h2>Delete your account?</h2>
        <p class="dialog-text">Enter your password to confirm. Your messages stay, signed “Deleted user”.</p>
        <PasswordField id="delete-account-password" label="Your password" autocomplete="current-password" value={password} set={setPassword} error={errors.password} />
        {errors.form && (
          <p class="form-error" role="alert">
            {errors.form}
          </p>
        )}
        <div class="actions">
          <button type="button" class="ghost" onClick={props.close}>
            Cancel
          </button>
          <button type="submit" class="primary danger-fill" disabled={busy}>
            Delete my account
          </button>
        </div>
      </form>
    </div>
  );
}
