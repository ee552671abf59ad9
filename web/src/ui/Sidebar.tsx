// Channel sidebar: Text and Voice sections (who is in each voice channel, with their avatars),
// unread channels in bold, an admin's "create channel" dialog and "Server settings" button, and
// the current user (avatar, display name) with the connection test, their account settings and
// a log-out button at the bottom.

import { useState } from 'preact/hooks';
import type { ChannelKind } from '../api/protocol';
import { channelPath, settingsPath } from '../routes';
import { displayName, handle } from '../people';
import { navigate } from '../state/navigation';
import { account, ApiError, chat, createChannel, logout, openChannel, voiceEngine, voiceView } from '../state/store';
import { showsSpeaking } from '../voice/status';
import { Avatar } from './Avatar';
import { ConnectionTestButton } from './ConnectionTest';
import { VoiceBar } from './VoiceBar';

export function Sidebar() {
  const state = chat.value;
  const me = account.value;
  const [creating, setCreating] = useState<ChannelKind | null>(null);
  const text = state.channels.filter((c) => c.kind === 'text');
  const voice = state.channels.filter((c) => c.kind === 'voice');

  return (
    <nav class="sidebar" aria-label="Channels">
      <header class="server-name">
        <span>Cromulent</span>
        {me?.admin && (
          <button type="button" class="ghost icon-button" aria-label="Server settings" title="Server settings" onClick={() => navigate(settingsPath('people'))}>
            <GearIcon />
          </button>
        )}
      </header>
      <Section title="Text channels" kind="text" admin={!!me?.admin} onCreate={setCreating}>
        {text.map((c) => (
          <li key={c.id}>
            <a
              href={`/channels/${c.id}`}
              class={`channel${state.current === c.id ? ' active' : ''}${state.unread[c.id] ? ' unread' : ''}`}
              aria-current={state.current === c.id ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(channelPath(c.id));
                void openChannel(c.id);
              }}
            >
              <span aria-hidden="true">#</span> {c.name}
              {c.private && <span class="badge" title="Private channel">private</span>}
            </a>
          </li>
        ))}
      </Section>
      <Section title="Voice channels" kind="voice" admin={!!me?.admin} onCreate={setCreating}>
        {voice.map((c) => (
          <li key={c.id}>
            <button
              type="button"
              class={`channel voice${voiceView.value.channelId === c.id ? ' active' : ''}`}
              aria-label={`Join voice channel ${c.name}`}
              onClick={() => void voiceEngine.join(c.id)}
            >
              <SpeakerIcon /> {c.name}
              {c.private && <span class="badge">private</span>}
            </button>
            <VoiceParticipants channelId={c.id} />
          </li>
        ))}
      </Section>
      <VoiceBar />
      <footer class="user-panel">
        {me && <Avatar person={me} />}
        <span class="who" title={me ? `@${me.username}` : undefined}>
          <strong>{me ? displayName(me) : ''}</strong>
          {me && handle(me) && <small class="who-handle">{handle(me)}</small>}
          {me?.admin && <small>admin</small>}
        </span>
        <ConnectionTestButton />
        <button type="button" class="ghost icon-button" aria-label="My account" title="My account" onClick={() => navigate(settingsPath('profile'))}>
          <PersonIcon />
        </button>
        <button type="button" class="ghost" onClick={logout} aria-label="Log out">
          Log out
        </button>
      </footer>
      {creating && <CreateChannelDialog kind={creating} onClose={() => setCreating(null)} />}
    </nav>
  );
}

/** Who is in a voice channel, with mute, deafen, an admin's server mute, speaking and
 * connection quality. */
function VoiceParticipants(props: { channelId: string }) {
  const state = chat.value;
  const view = voiceView.value;
  const inside = Object.values(state.voice).filter((v) => v.channel_id === props.channelId);
  if (inside.length === 0) return null;
  return (
    <ul class="voice-participants" aria-label="In voice">
      {inside.map((v) => {
        const quality = view.channelId === props.channelId ? view.peers[v.user_id] : undefined;
        const user = state.users[v.user_id];
        return (
          <li key={v.user_id} class={`participant${showsSpeaking(v) ? ' speaking' : ''}`} data-user-id={v.user_id}>
            <Avatar person={user ?? { id: v.user_id, username: '?' }} look="small" />
            <span class="name" title={user ? `@${user.username}` : undefined}>
              {user ? displayName(user) : 'someone'}
            </span>
            {v.server_muted && (
              <span class="flag server-muted" title="An admin muted them">
                server muted
              </span>
            )}
            {v.deafened ? <span class="flag">deafened</span> : v.muted && !v.server_muted && <span class="flag">muted</span>}
            {quality && (
              <small class={`quality ${quality.state}`} title={`Connection: ${quality.state}${quality.lossPct !== null ? `, ${quality.lossPct}% loss` : ''}`}>
                {quality.rttMs !== null ? `${quality.rttMs} ms` : quality.state}
              </small>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function PersonIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path fill="currentColor" d="M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5z" />
    </svg>
  );
}

function GearIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path
        fill="currentColor"
        fill-rule="evenodd"
        d="M18.4 13a7.7 7.7 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.4 7.4 0 0 0-1.7-1L14 3.3h-4l-.4 2.6a7.4 7.4 0 0 0-1.7 1l-2.5-1-2 3.5L5.6 11a7.7 7.7 0 0 0 0 2l-2.2 1.6 2 3.5 2.5-1a7.4 7.4 0 0 0 1.7 1l.4 2.6h4l.4-2.6a7.4 7.4 0 0 0 1.7-1l2.5 1 2-3.5zM12 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z"
      />
    </svg>
  );
}

function SpeakerIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      <path fill="currentColor" d="M3 9v6h4l5 4V5L7 9H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z" />
    </svg>
  );
}

function Section(props: { title: string; kind: ChannelKind; admin: boolean; onCreate(kind: ChannelKind): void; children: preact.ComponentChildren }) {
  return (
    <section class="channel-section">
      <h2>
        <span>{props.title}</span>
        {props.admin && (
          <button type="button" class="ghost icon" aria-label={`Create ${props.kind} channel`} onClick={() => props.onCreate(props.kind)}>
            +
          </button>
        )}
      </h2>
      <ul>{props.children}</ul>
    </section>
  );
}

function CreateChannelDialog(props: { kind: ChannelKind; onClose(): void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<ChannelKind>(props.kind);
  const [isPrivate, setPrivate] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await createChannel(name, kind, isPrivate);
      props.onClose();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Something went wrong.');
    }
  };

  return (
    <div class="dialog-backdrop" role="dialog" aria-modal="true" aria-label="Create channel" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <form
        class="dialog"
        aria-label="Create channel"
        onSubmit={submit}
        onKeyDown={(e) => e.key === 'Escape' && props.onClose()}
      >
        <h2>Create channel</h2>
        <label class="field">
          <span>Name</span>
          <input name="channel-name" value={name} autoFocus required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          {error && (
            <span class="field-error" role="alert">
              {error}
            </span>
          )}
        </label>
        <label class="field">
          <span>Kind</span>
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as ChannelKind)}>
            <option value="text">Text</option>
            <option value="voice">Voice</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate((e.target as HTMLInputElement).checked)} />
          Private (only members and admins see it)
        </label>
        <div class="actions">
          <button type="button" class="ghost" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Create
          </button>
        </div>
      </form>
    </div>
  );
}
