// Top-level screens: a splash while the session is checked, the auth screen, the chat layout,
// the settings (the server's tabs for admins only; everyone gets their own account's), the
// connection test's own page (/connection-test, logged in or not), the pages mailed links
// open (a password reset, an address confirmation; logged in or not), or the notice that an
// admin disabled the account. The open channel lives in the URL (/channels/ID) so reloads and links land in
// the same place.

import { useEffect } from 'preact/hooks';
import { channelPath, MEMBER_SETTINGS_TABS, parseRoute } from '../routes';
import { navigate, path, route } from '../state/navigation';
import { account, accountDisabled, backToLogin, chat, connection, openChannel } from '../state/store';
import { AuthScreen } from './AuthScreen';
import { ConnectionTestPage } from './ConnectionTest';
import { ResetPasswordPage, VerifyEmailPage } from './MailedLinkPages';
import { MemberList } from './MemberList';
import { MessagePane } from './MessagePane';
import { ServerSettings } from './settings/ServerSettings';
import { Sidebar } from './Sidebar';

export function App() {
  const user = account.value;
  const where = route.value;
  if (accountDisabled.value) return <DisabledScreen />;
  if (where.page === 'connection-test') return <ConnectionTestPage signedIn={!!user} />;
  if (where.page === 'reset-password') return <ResetPasswordPage token={where.token} />;
  if (where.page === 'verify-email') return <VerifyEmailPage token={where.token} />;
  if (user === undefined) return <div class="splash" aria-busy="true">Loading…</div>;
  if (user === null) return <AuthScreen invite={where.page === 'invite' ? where.code : null} />;
  // Members never get the admin settings, whatever the address says: they see the chat.
  if (where.page === 'settings' && (user.admin || MEMBER_SETTINGS_TABS.includes(where.tab))) return <ServerSettings tab={where.tab} />;
  return <ChatLayout />;
}

/** Shown instead of everything else once the server closed the connection with 4013. */
function DisabledScreen() {
  return (
    <main class="auth">
      <section class="auth-card" role="alert" aria-label="Account disabled">
        <h1>Account disabled</h1>
        <p class="disabled-message">An admin disabled your account.</p>
        <button type="button" class="primary" onClick={backToLogin}>
          Back to login
        </button>
      </section>
    </main>
  );
}

function ChatLayout() {
  const state = chat.value;
  const current = state.current;
  const where = route.value;

  useEffect(() => {
    const wanted = where.page === 'chat' ? where.channelId : null;
    if (wanted && state.channels.some((c) => c.id === wanted && c.kind === 'text') && wanted !== current) void openChannel(wanted);
    else if (current && !state.messages[current]) void openChannel(current);
  }, [state.channels.length > 0]);

  useEffect(() => {
    const shown = parseRoute(location.pathname);
    if (current && (shown.page !== 'chat' || shown.channelId !== current)) navigate(channelPath(current), true);
  }, [current]);

  useEffect(() => {
    // An address that is not a channel here (an invite link once registered, the settings for a
    // member) becomes the open channel's.
    if (current && where.page !== 'chat') navigate(channelPath(current), true);
  }, [path.value]);

  useEffect(() => {
    const onPop = () => {
      const popped = parseRoute(location.pathname);
      if (popped.page === 'chat' && popped.channelId) void openChannel(popped.channelId);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const status = connection.value;
  return (
    <div class="layout">
      {status === 'reconnecting' && (
        <div class="banner" role="status">
          Reconnecting…
        </div>
      )}
      {status === 'displaced' && (
        <div class="banner" role="status">
          You have Cromulent open in too many tabs or devices, so this one was disconnected. Reload to use it here.
        </div>
      )}
      <Sidebar />
      <MessagePane />
      <MemberList />
    </div>
  );
}
