// The server settings, for admins: a full-screen page with tabs for people, invites and
// registration, channels, the audit log, and voice and relay. Its address is /settings/TAB; Close or Escape goes
// back to the open channel. The chat stays connected underneath.

import { useEffect } from 'preact/hooks';
import { channelPath, SETTINGS_TABS, settingsPath, type SettingsTab } from '../../routes';
import { navigate } from '../../state/navigation';
import { chat } from '../../state/store';
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
};

function close(): void {
  const current = chat.value.current;
  navigate(current ? channelPath(current) : '/');
}

export function ServerSettings(props: { tab: SettingsTab }) {
  const current = props.tab;
  useEffect(() => {
    // Escape closes, unless a dialog inside took it first.
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('.dialog') && close();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <div class="settings">
      <nav class="settings-nav" aria-label="Server settings">
        <h1>Server settings</h1>
        <div role="tablist" aria-orientation="vertical">
          {SETTINGS_TABS.map((tab) => (
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
        </div>
      </main>
    </div>
  );
}
