// Log in or register. Errors appear next to the field the server named, others above the form.
// An invite link (/invite/CODE) opens the registration form with its code filled in. A link
// leads to the connection test, which works before registering.

import { useState } from 'preact/hooks';
import { navigate } from '../state/navigation';
import { api, ApiError, connect } from '../state/store';

type Mode = 'login' | 'register';

/** What a refused login or registration says, and next to which field. */
function placeError(error: ApiError): Record<string, string> {
  if (error.code === 'account_disabled') return { form: 'An admin disabled your account.' };
  if (error.code === 'invalid_invite') return { invite: error.message };
  return { [error.field ?? 'form']: error.message };
}

export function AuthScreen(props: { invite: string | null }) {
  const [mode, setMode] = useState<Mode>(props.invite ? 'register' : 'login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [invite, setInvite] = useState(props.invite ?? '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const response =
        mode === 'login'
          ? await api.login(username, password)
          : await api.register(username, password, email || undefined, invite.trim() || undefined);
      connect(response.user);
    } catch (error) {
      if (error instanceof ApiError) setErrors(placeError(error));
      else setErrors({ form: 'Something went wrong.' });
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (next: Mode) => {
    setMode(next);
    setErrors({});
  };

  const field = (name: string, label: string, value: string, set: (v: string) => void, type: 'text' | 'email' | 'password', autocomplete: string) => {
    const common = {
      name,
      value,
      autocomplete,
      required: name !== 'email' && name !== 'invite',
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
    <main class="auth">
      <form class="auth-card" onSubmit={submit} aria-label={mode === 'login' ? 'Log in' : 'Register'}>
        <h1>Cromulent</h1>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'login'} onClick={() => switchTo('login')}>
            Log in
          </button>
          <button type="button" role="tab" aria-selected={mode === 'register'} onClick={() => switchTo('register')}>
            Register
          </button>
        </div>
        {errors.form && (
          <p class="form-error" role="alert">
            {errors.form}
          </p>
        )}
        {field('username', mode === 'login' ? 'Username or email' : 'Username', username, setUsername, 'text', 'username')}
        {mode === 'register' && field('email', 'Email (optional)', email, setEmail, 'email', 'email')}
        {field('password', 'Password', password, setPassword, 'password', mode === 'login' ? 'current-password' : 'new-password')}
        {mode === 'register' && field('invite', 'Invite code (if you have one)', invite, setInvite, 'text', 'off')}
        <button class="primary" type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
        <p class="auth-link">
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
    </main>
  );
}
