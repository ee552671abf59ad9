// Settings → Voice & audio, for everyone: voice activity or push-to-talk and its key, how
// quiet a voice still counts as speaking, and the microphone and speaker. The first three
// follow the user to every device they log in from; the devices are this browser's own.

import { voiceView } from '../../state/store';
import { DevicePickers, InputModeSelect, PushToTalkKey, SensitivitySlider, usePreferenceSaver } from '../voiceControls';

export function VoiceAudioTab() {
  const { save, error } = usePreferenceSaver();
  const ptt = voiceView.value.mode === 'ptt';
  return (
    <>
      <section class="settings-section narrow" aria-label="How you talk">
        <h3>How you talk</h3>
        <p class="hint-left">These follow you to every device you log in from.</p>
        <InputModeSelect id="settings-voice-mode" save={save} />
        {ptt && <PushToTalkKey id="settings-ptt-key" save={save} />}
        <SensitivitySlider id="settings-sensitivity" save={save} />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
      </section>
      <section class="settings-section narrow" aria-label="Devices">
        <h3>Devices</h3>
        <p class="hint-left">Chosen for this browser only: other devices have other microphones.</p>
        <DevicePickers idPrefix="settings" />
      </section>
    </>
  );
}
