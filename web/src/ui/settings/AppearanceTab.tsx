// Settings → Appearance (dark or light theme) and Settings → Notifications (the sound for new
// messages in channels that are not open): preferences that follow the user to every device,
// applied here the moment they change.

import type { Preferences } from '../../api/protocol';
import { preferences } from '../../state/store';
import { usePreferenceSaver } from '../voiceControls';

export function AppearanceTab() {
  const { save, error } = usePreferenceSaver();
  const theme = preferences.value.theme;
  const choice = (value: Preferences['theme'], label: string) => (
    <label class="check">
      <input type="radio" name="theme" value={value} checked={theme === value} onChange={() => save({ theme: value })} />
      {label}
    </label>
  );
  return (
    <section class="settings-section narrow" aria-label="Appearance">
      <fieldset class="choices">
        <legend>Theme</legend>
        {choice('dark', 'Dark')}
        {choice('light', 'Light')}
      </fieldset>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function NotificationsTab() {
  const { save, error } = usePreferenceSaver();
  return (
    <section class="settings-section narrow" aria-label="Notifications">
      <label class="check">
        <input type="checkbox" checked={preferences.value.notification_sound} onChange={(e) => save({ notification_sound: (e.target as HTMLInputElement).checked })} />
        Play a sound for new messages in other channels
      </label>
      <p class="hint-left">Also for the open channel while this page is in the background.</p>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
