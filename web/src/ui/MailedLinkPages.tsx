// The pages mailed links open, logged in or not: /reset-password?token=… asks for a new
// password (twice) and sets it; /verify-email?token=… confirms the address at once. Both end
// on the login screen with what happened, or say the link is spent and offer a new one.

import { useEffect, useState } from 'preact/hooks';
import { EMAIL_CONFIRMED, LINK_USED, PASSWORD_RESET_DONE, resetErrors, type FieldErrors } from '../authFlow';
import { passwordMismatch } from '../account';
import { navigate } from '../state/navigation';
import { account, api, ApiError, authIntent } from '../state/store';
import { PasswordField } from './settings/fields';

/** Leaves for the login screen, which opens with `notice` (or the forgot-password form); or
 * for the chat, when this browser is logged in. */
function toLogin(intent: { notice?: string; mode?: 'login' | 'forgot' }): void {
  if (!account.peek()) authIntent.value = intent;
  navigate('/', true);
}

export function ResetPasswordPage(props: { token: string }) {
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors & { expired?: 'true' }>(props.token ? {} : { form: LINK_USED, expired: 'true' });
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const mismatch = passwordMismatch(next, confirm);
    if (mismatch) {
      setErrors({ confirm: mismatch.confirm ?? '' });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await api.confirmPasswordReset(props.token, next);
      toLogin({ notice: PASSWORD_RESET_DONE });
    } catch (error) {
      setErrors(resetErrors(error));
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <form class="auth-card" aria-label="Set a new password" onSubmit={submit}>
        <h1>Set a new password</h1>
        {errors.form && (
          <p class="form-error" role="alert">
            {errors.form}
          </p>
        )}
        {errors.expired ? (
          <button type="button" class="primary" onClick={() => toLogin({ mode: 'forgot' })}>
            Ask for a new link
          </button>
        ) : (
          <>
            <PasswordField id="reset-new-password" label="New password" autocomplete="new-password" value={next} set={setNext} error={errors.new_password} />
            <PasswordField id="reset-confirm-password" label="Confirm new password" autocomplete="new-password" value={confirm} set={setConfirm} error={errors.confirm} />
            <button class="primary" type="submit" disabled={busy}>
              Set password
            </button>
          </>
        )}
        <p class="auth-link">
          <button type="button" class="link" onClick={() => toLogin({})}>
            Back to login
          </button>
        </p>
      </form>
    </main>
  );
}

export function VerifyEmailPage(props: { token: string }) {
  const [state, setState] = useState<'checking' | 'done' | 'spent' | 'failed'>(props.token ? 'checking' : 'spent');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!props.token) return;
    api.verifyEmail(props.token).then(
      () => setState('done'),
      (e) => {
        if (e instanceof ApiError && e.code === 'invalid_token') setState('spent');
        else {
          setState('failed');
          setError(e instanceof ApiError ? e.message : 'Something went wrong.');
        }
      },
    );
  }, [props.token]);

  return (
    <main class="auth">
      <section class="auth-card" aria-label="Confirm your address" aria-busy={state === 'checking'}>
        <h1>Confirm your address</h1>
        {state === 'checking' && <p class="auth-text">Confirming…</p>}
        {state === 'done' && (
          <p class="form-success" role="status">
            {EMAIL_CONFIRMED}
          </p>
        )}
        {state === 'spent' && (
          <p class="form-error" role="alert">
            {LINK_USED} Log in to have it sent again.
          </p>
        )}
        {state === 'failed' && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {state !== 'checking' && (
          <button type="button" class="primary" onClick={() => toLogin(state === 'done' ? { notice: EMAIL_CONFIRMED } : {})}>
            Log in
          </button>
        )}
      </section>
    </main>
  );
}
