// Settings → Password, for everyone logged in: change the password. The server checks the
// current one (rate-limited like a login) and ends every other session of the account.

import { useState } from 'preact/hooks';
import { PASSWORD_CHANGED, passwordChangeErrors, passwordMismatch, type PasswordErrors } from '../../account';
import { api } from '../../state/store';
import { PasswordField } from './fields';

export function PasswordTab() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<PasswordErrors>({});
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(false);
    const mismatch = passwordMismatch(next, confirm);
    if (mismatch) {
      setErrors(mismatch);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await api.changePassword(current, next);
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    } catch (error) {
      setErrors(passwordChangeErrors(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="settings-section account-password" aria-label="Change password" onSubmit={submit}>
      <h3>Change password</h3>
      <PasswordField id="account-current-password" label="Current password" autocomplete="current-password" value={current} set={setCurrent} error={errors.current} />
      <PasswordField id="account-new-password" label="New password" autocomplete="new-password" value={next} set={setNext} error={errors.next} />
      <PasswordField id="account-confirm-password" label="Confirm new password" autocomplete="new-password" value={confirm} set={setConfirm} error={errors.confirm} />
      {errors.form && (
        <p class="form-error" role="alert">
          {errors.form}
        </p>
      )}
      {done && (
        <p class="form-success" role="status">
          {PASSWORD_CHANGED}
        </p>
      )}
      <div>
        <button class="primary" type="submit" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}
