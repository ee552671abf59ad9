// "Forgot password?" under the login form: on a server that can send mail, the address to mail
// a reset link to (the answer is the same whether or not an account uses it, so nobody learns
// which addresses have accounts); on one that cannot, who can help instead.

import { useState } from 'preact/hooks';
import type { AuthOptions } from '../api/protocol';
import { NO_MAIL, RESET_LINK_SENT } from '../authFlow';
import { rateLimitText } from '../account';
import { api, ApiError } from '../state/store';

export function ForgotPassword(props: { options: AuthOptions; back(): void }) {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.requestPasswordReset(email.trim());
      setSent(true);
    } catch (e) {
      setError(e instanceof ApiError ? (e.status === 429 ? rateLimitText(e.retryAfterMs) : e.message) : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  };

  const back = (
    <p class="auth-link">
      <button type="button" class="link" onClick={props.back}>
        Back to login
      </button>
    </p>
  );

  if (!props.options.password_reset) {
    return (
      <section class="auth-card" aria-label="Forgot password">
        <h1>Forgot password?</h1>
        <p class="auth-text">{NO_MAIL}</p>
        {back}
      </section>
    );
  }
  return (
    <form class="auth-card" aria-label="Forgot password" onSubmit={submit}>
      <h1>Forgot password?</h1>
      <p class="auth-text">Enter the email address of your account and we will mail you a link to set a new password.</p>
      {sent && (
        <p class="form-success" role="status">
          {RESET_LINK_SENT}
        </p>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="field">
        <label for="forgot-email">Email</label>
        <input id="forgot-email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
      </div>
      <button class="primary" type="submit" disabled={busy}>
        Send link
      </button>
      {back}
    </form>
  );
}
