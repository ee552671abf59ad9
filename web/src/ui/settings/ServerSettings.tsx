// The server settings, for admins: a full-screen page with tabs for people, invites and
// registration, channels, the audit log, and voice and relay. Its address is /settings/TAB; Close or Escape goes
// back to the open channel. The chat stays connected underneath. Everyone, members too, gets
// the Test connection and My account tabs (members only those).

import { useEffect } from 'preact/hooks';
import { channelPath, MEMBER_SETTINGS_TABS, SETTINGS_TABS, settingsPath, type SettingsTab } from '../../routes';
import { navigate } from '../../state/navigation';
import { account, chat } from '../../state/store';
import { ConnectionTest } from '../ConnectionTest';
import { AccountTab } from './AccountTab';
import { AuditTab } from './AuditTab';
import { ChannelsTab } from './ChannelsTab';
import { InvitesTab } from './InvitesTab';
import { PeopleTab } from './PeopleTab';
import { VoiceTab } from './VoiceTab';

const TAB_LABELS: Record<SettingsTab, string> = {
  people: 'People',
  invites: 'Invites & registration',
  channels: 'Channels',
  audit: 'Audit log',
  voice: 'Voice & relay',
  connection: 'Test connection',
  account: 'My account',
};

function close(): void {
  const current = chat.value.current;
  navigate(current ? channelPath(current) : '/');
}

export function ServerSettings(props: { tab: SettingsTab }) {
  const current = props.tab;
  const admin = !!account.value?.admin;
  const tabs = SETTINGS_TABS.filter((tab) => admin || MEMBER_SETTINGS_TABS.includes(tab));
  useEffect(() => {
    // Escape closes, unless a dialog inside took it first.
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('.dialog') && close();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <div class="settings">
      <nav class="settings-nav" aria-label="Server settings">
        <h1>{admin ? 'Server settings' : 'Settings'}</h1>
        <div role="tablist" aria-orientation="vertical">
          {tabs.map((tab) => (
            <button
              key={tab}
              type="button"
              role="tab"
              id={`settings-tab-${tab}`}
              aria-selected={tab === current}
              aria-controls="settings-panel"
              onClick={() => navigate(settingsPath(tab))}
            >
              {TAB_LABELS[tab]}
            </button>
          ))}
        </div>
      </nav>
      <main class="settings-main">
        <header class="settings-header">
          <h2>{TAB_LABELS[current]}</h2>
          <button type="button" class="ghost" aria-label="Close settings" onClick={close}>
            Close <kbd>Esc</kbd>
          </button>
        </header>
        <div id="settings-panel" role="tabpanel" aria-labelledby={`settings-tab-${current}`}>
          {current === 'people' && <PeopleTab />}
          {current === 'invites' && <InvitesTab />}
          {current === 'channels' && <ChannelsTab />}
          {current === 'audit' && <AuditTab />}
          {current === 'voice' && <VoiceTab />}
          {current === 'connection' && <ConnectionTest />}
          {current === 'account' && <AccountTab />}
        </div>
      </main>
    </div>
  );
}
