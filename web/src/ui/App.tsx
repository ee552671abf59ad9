// Top-level screens: a splash while the session is checked, the auth screen, or the chat layout.
// The open channel lives in the URL (/channels/ID) so reloads and links land in the same place.

import { useEffect } from 'preact/hooks';
import { account, chat, connection, openChannel } from '../state/store';
import { AuthScreen } from './AuthScreen';
import { MemberList } from './MemberList';
import { MessagePane } from './MessagePane';
import { Sidebar } from './Sidebar';

function channelFromPath(): string | null {
  return /^\/channels\/(\d+)$/.exec(location.pathname)?.[1] ?? null;
}

export function App() {
  const user = account.value;
  if (user === undefined) return <div class="splash" aria-busy="true">Loading…</div>;
  if (user === null) return <AuthScreen />;
  return <ChatLayout />;
}

function ChatLayout() {
  const state = chat.value;
  const current = state.current;

  useEffect(() => {
    const wanted = channelFromPath();
    if (wanted && state.channels.some((c) => c.id === wanted && c.kind === 'text') && wanted !== current) void openChannel(wanted);
    else if (current && !state.messages[current]) void openChannel(current);
  }, [state.channels.length > 0]);

  useEffect(() => {
    if (current && channelFromPath() !== current) history.replaceState(null, '', `/channels/${current}`);
  }, [current]);

  useEffect(() => {
    const onPop = () => {
      const wanted = channelFromPath();
      if (wanted) void openChannel(wanted);
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
