// Settings: a full-screen page with the user's own tabs for everyone (profile, password,
// sessions, voice and audio, notifications, appearance, the connection test) and, for admins,
// the server's (people, invites and registration, channels, the audit log, voice and relay).
// Its address is /settings/TAB; Close or Escape goes back to the open channel. The chat stays
// connected underneath.

import { useEffect } from 'preact/hooks';
import { channelPath, SERVER_SETTINGS_TABS, settingsPath, USER_SETTINGS_TABS, type SettingsTab } from '../../routes';
import { navigate } from '../../state/navigation';
import { account, chat } from '../../state/store';
import { ConnectionTest } from '../ConnectionTest';
import { AppearanceTab, NotificationsTab } from './AppearanceTab';
import { AuditTab } from './AuditTab';
import { ChannelsTab } from './ChannelsTab';
import { InvitesTab } from './InvitesTab';
import { PasswordTab } from './PasswordTab';
import { PeopleTab } from './PeopleTab';
import { ProfileTab } from './ProfileTab';
import { SessionsTab } from './SessionsTab';
import { VoiceAudioTab } from './VoiceAudioTab';
import { VoiceTab } from './VoiceTab';

const TAB_LABELS: Record<SettingsTab, string> = {
  profile: 'Profile',
  password: 'Password',
  sessions: 'Sessions',
  audio: 'Voice & audio',
  notifications: 'Notifications',
  appearance: 'Appearance',
  connection: 'Test connection',
  people: 'People',
  invites: 'Invites & registration',
  channels: 'Channels',
  audit: 'Audit log',
  voice: 'Voice & relay',
};

function close(): void {
  const current = chat.value.current;
  navigate(current ? channelPath(current) : '/');
}

export function ServerSettings(props: { tab: SettingsTab }) {
  const current = props.tab;
  const admin = !!account.value?.admin;
  useEffect(() => {
    // Escape closes, unless a dialog inside (or a key being captured) took it first.
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('.dialog') && close();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <div class="settings">
      <nav class="settings-nav" aria-label="Settings">
        <TabGroup title="My account" tabs={USER_SETTINGS_TABS} current={current} />
        {admin && <TabGroup title="Server settings" tabs={SERVER_SETTINGS_TABS} current={current} />}
      </nav>
      <main class="settings-main">
        <header class="settings-header">
          <h2>{TAB_LABELS[current]}</h2>
          <button type="button" class="ghost" aria-label="Close settings" onClick={close}>
            Close <kbd>Esc</kbd>
          </button>
        </header>
        <div id="settings-panel" role="tabpanel" aria-labelledby={`settings-tab-${current}`}>
          {current === 'profile' && <ProfileTab />}
          {current === 'password' && <PasswordTab />}
          {current === 'sessions' && <SessionsTab />}
          {current === 'audio' && <VoiceAudioTab />}
          {current === 'notifications' && <NotificationsTab />}
          {current === 'appearance' && <AppearanceTab />}
          {current === 'connection' && <ConnectionTest />}
          {current === 'people' && <PeopleTab />}
          {current === 'invites' && <InvitesTab />}
          {current === 'channels' && <ChannelsTab />}
          {current === 'audit' && <AuditTab />}
          {current === 'voice' && <VoiceTab />}
        </div>
      </main>
    </div>
  );
}

function TabGroup(props: { title: string; tabs: readonly SettingsTab[]; current: SettingsTab }) {
  const id = `settings-group-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <>
      <h1 id={id}>{props.title}</h1>
      <div role="tablist" aria-orientation="vertical" aria-labelledby={id}>
        {props.tabs.map((tab) => (
          <button
            key={tab}
            type="button"
            role="tab"
            id={`settings-tab-${tab}`}
            aria-selected={tab === props.current}
            aria-controls="settings-panel"
            onClick={() => navigate(settingsPath(tab))}
          >
            {TAB_LABELS[tab]}
          </button>
        ))}
      </div>
    </>
  );
}
