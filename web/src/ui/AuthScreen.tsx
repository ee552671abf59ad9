// Log in or register. Errors appear next to the field the server named, others above the form.
// An invite link (/invite/CODE) opens the registration form with its code filled in. "Forgot
// password?" asks for a mailed link (ForgotPassword.tsx). Where the server confirms addresses,
// registering needs an email and ends with "check your inbox", and a login before confirming
// offers to send the link again. A link leads to the connection test, which works before
// registering.

import { useEffect, useState } from 'preact/hooks';
import type { AuthOptions } from '../api/protocol';
import { authErrors, CHECK_INBOX, LINK_SENT_AGAIN, resendAddress, type FieldErrors } from '../authFlow';
import { rateLimitText } from '../account';
import { navigate } from '../state/navigation';
import { api, ApiError, authIntent, connect } from '../state/store';
import { ForgotPassword } from './ForgotPassword';

type Mode = 'login' | 'register' | 'forgot';

/** Until the server says otherwise: nothing mailed, email optional. */
const NO_OPTIONS: AuthOptions = { password_reset: false, email_verification: false };

/** What the server offers before login, read once per screen. */
function useAuthOptions(): AuthOptions {
  const [options, setOptions] = useState(NO_OPTIONS);
  useEffect(() => {
    api.authOptions().then(setOptions, () => {});
  }, []);
  return options;
}

export function AuthScreen(props: { invite: string | null }) {
  // A notice or form asked for by whoever sent us here (a reset password, a deleted account).
  const [intent] = useState(() => authIntent.peek());
  useEffect(() => {
    authIntent.value = null;
  }, []);
  const [mode, setMode] = useState<Mode>(props.invite ? 'register' : (intent?.mode ?? 'login'));
  const [notice, setNotice] = useState<string | null>(intent?.notice ?? null);
  const options = useAuthOptions();

  const switchTo = (next: Mode) => {
    setMode(next);
    setNotice(null);
  };

  return (
    <main class="auth">
      {mode === 'forgot' ? (
        <ForgotPassword options={options} back={() => switchTo('login')} />
      ) : (
        <LoginForm mode={mode} invite={props.invite} options={options} notice={notice} setNotice={setNotice} switchTo={switchTo} />
      )}
    </main>
  );
}

function LoginForm(props: {
  mode: 'login' | 'register';
  invite: string | null;
  options: AuthOptions;
  notice: string | null;
  setNotice(notice: string | null): void;
  switchTo(mode: Mode): void;
}) {
  const { mode, notice, setNotice } = props;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [invite, setInvite] = useState(props.invite ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [unconfirmed, setUnconfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const emailRequired = mode === 'register' && props.options.email_verification;

  // What the other tab said does not concern this one; what was typed carries over.
  useEffect(() => {
    setErrors({});
    setUnconfirmed(false);
  }, [mode]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setNotice(null);
    setUnconfirmed(false);
    try {
      const response =
        mode === 'login' ? await api.login(username, password) : await api.register(username, password, email || undefined, invite.trim() || undefined);
      if ('user' in response) connect(response.user);
      else {
        setPassword('');
        setNotice(CHECK_INBOX);
      }
    } catch (error) {
      setErrors(authErrors(error));
      setUnconfirmed(error instanceof ApiError && error.code === 'email_not_verified');
    } finally {
      setBusy(false);
    }
  };

  const field = (name: string, label: string, value: string, set: (v: string) => void, type: 'text' | 'email' | 'password', autocomplete: string, required: boolean) => {
    const common = {
      name,
      value,
      autocomplete,
      required,
      'aria-invalid': errors[name] ? ('true' as const) : undefined,
      'aria-describedby': errors[name] ? `${name}-error` : undefined,
      onInput: (e: Event) => set((e.target as HTMLInputElement).value),
    };
    return (
      <div class="field">
        <label for={`auth-${name}`}>{label}</label>
        {type === 'password' ? (
          <input id={`auth-${name}`} type="password" {...common} />
        ) : type === 'email' ? (
          <input id={`auth-${name}`} type="email" {...common} />
        ) : (
          <input id={`auth-${name}`} type="text" {...common} />
        )}
        {errors[name] && (
          <span class="field-error" id={`${name}-error`} role="alert">
            {errors[name]}
          </span>
        )}
      </div>
    );
  };

  return (
    <form class="auth-card" onSubmit={submit} aria-label={mode === 'login' ? 'Log in' : 'Register'}>
      <h1>Cromulent</h1>
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={mode === 'login'} onClick={() => props.switchTo('login')}>
          Log in
        </button>
        <button type="button" role="tab" aria-selected={mode === 'register'} onClick={() => props.switchTo('register')}>
          Register
        </button>
      </div>
      {notice && (
        <p class="form-success" role="status">
          {notice}
        </p>
      )}
      {errors.form && (
        <p class="form-error" role="alert">
          {errors.form}
        </p>
      )}
      {unconfirmed && <ResendConfirmation identifier={username} />}
      {field('username', mode === 'login' ? 'Username or email' : 'Username', username, setUsername, 'text', 'username', true)}
      {mode === 'register' && field('email', emailRequired ? 'Email' : 'Email (optional)', email, setEmail, 'email', 'email', emailRequired)}
      {field('password', 'Password', password, setPassword, 'password', mode === 'login' ? 'current-password' : 'new-password', true)}
      {mode === 'register' && field('invite', 'Invite code (if you have one)', invite, setInvite, 'text', 'off', false)}
      <button class="primary" type="submit" disabled={busy}>
        {mode === 'login' ? 'Log in' : 'Create account'}
      </button>
      <p class="auth-link">
        {mode === 'login' && (
          <>
            <button type="button" class="link" onClick={() => props.switchTo('forgot')}>
              Forgot password?
            </button>
            {' · '}
          </>
        )}
        <a
          href="/connection-test"
          onClick={(e) => {
            e.preventDefault();
            navigate('/connection-test');
          }}
        >
          Test your connection
        </a>
      </p>
    </form>
  );
}

/** "Send the link again" after a login refused for an unconfirmed address: to the address
 * typed as the login, or one typed here. */
function ResendConfirmation(props: { identifier: string }) {
  const [typed, setTyped] = useState('');
  const [state, setState] = useState<{ sent?: boolean; error?: string; busy?: boolean }>({});
  const address = resendAddress(props.identifier, typed);
  const needsAddress = !props.identifier.includes('@');

  const resend = async () => {
    if (!address) {
      setState({ error: 'Enter the address you registered with.' });
      return;
    }
    setState({ busy: true });
    try {
      await api.resendVerification(address);
      setState({ sent: true });
    } catch (error) {
      const text = error instanceof ApiError ? (error.status === 429 ? rateLimitText(error.retryAfterMs) : error.message) : 'Something went wrong.';
      setState({ error: text });
    }
  };

  return (
    <div class="resend">
      {needsAddress && (
        <div class="field">
          <label for="auth-resend-email">Your email address</label>
          <input id="auth-resend-email" type="email" autocomplete="email" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        </div>
      )}
      <button type="button" class="ghost bordered" disabled={state.busy} onClick={() => void resend()}>
        Send the link again
      </button>
      {state.sent && (
        <p class="form-success" role="status">
          {LINK_SENT_AGAIN}
        </p>
      )}
      {state.error && (
        <p class="form-error" role="alert">
          {state.error}
        </p>
      )}
    </div>
  );
}
