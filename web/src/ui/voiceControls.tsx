// The voice settings' controls, shared by the voice bar's quick settings and Settings → Voice &
// audio: input mode, the push-to-talk key (press the button, then the key), the input
// sensitivity and the microphone and speaker. Mode, key and sensitivity are server preferences
// that follow the user to every device; the devices belong to this browser. The controls show
// what the voice engine applies, not just what was asked for.

import { useEffect, useState } from 'preact/hooks';
import type { Preferences } from '../api/protocol';
import { keyName } from '../preferences';
import { savePreferences, voiceEngine, voiceView } from '../state/store';
import { errorText } from './FormDialog';

/** Saves preference changes, keeping the last refusal to show. */
export function usePreferenceSaver(): { save(change: Partial<Preferences>): void; error: string | null } {
  const [error, setError] = useState<string | null>(null);
  const save = (change: Partial<Preferences>) => {
    setError(null);
    savePreferences(change).catch((e) => setError(errorText(e)));
  };
  return { save, error };
}

export function InputModeSelect(props: { id: string; save(change: Partial<Preferences>): void }) {
  return (
    <div class="field">
      <label for={props.id}>Input mode</label>
      <select id={props.id} value={voiceView.value.mode} onChange={(e) => props.save({ voice_mode: (e.target as HTMLSelectElement).value as 'vad' | 'ptt' })}>
        <option value="vad">Voice activity</option>
        <option value="ptt">Push to talk</option>
      </select>
    </div>
  );
}

/** A button that shows the key and, once pressed, takes the next key as the new one (Escape
 * keeps the old key). */
export function PushToTalkKey(props: { id: string; save(change: Partial<Preferences>): void }) {
  const [capturing, setCapturing] = useState(false);
  const key = voiceView.value.pttKey;
  return (
    <div class="field">
      <label for={props.id}>Push-to-talk key</label>
      <button
        id={props.id}
        type="button"
        class="ghost key"
        aria-describedby={`${props.id}-now`}
        onClick={() => setCapturing(true)}
        onBlur={() => setCapturing(false)}
        onKeyDown={(e) => {
          if (!capturing) return;
          e.preventDefault();
          e.stopPropagation();
          setCapturing(false);
          if (e.key !== 'Escape') props.save({ ptt_key: e.code });
        }}
      >
        {capturing ? 'Press a key…' : keyName(key)}
      </button>
      <small class="hint-left" id={`${props.id}-now`} data-key={key}>
        {capturing ? 'Escape keeps the current key.' : `Hold ${keyName(key)} to talk.`}
      </small>
    </div>
  );
}

/** The input sensitivity: it moves as it is dragged, and is saved when let go. */
export function SensitivitySlider(props: { id: string; save(change: Partial<Preferences>): void }) {
  const applied = voiceView.value.sensitivity;
  const [dragged, setDragged] = useState<number | null>(null);
  const value = dragged ?? applied;
  return (
    <div class="field">
      <label for={props.id}>Input sensitivity</label>
      <div class="slider-row">
        <input
          id={props.id}
          type="range"
          min={0}
          max={100}
          step={1}
          value={value}
          aria-describedby={`${props.id}-hint`}
          onInput={(e) => setDragged(Number((e.target as HTMLInputElement).value))}
          onChange={(e) => {
            setDragged(null);
            props.save({ input_sensitivity: Number((e.target as HTMLInputElement).value) });
          }}
        />
        <output for={props.id}>{value}</output>
      </div>
      <small class="hint-left" id={`${props.id}-hint`}>
        Higher picks up quieter speech; lower ignores more background noise.
      </small>
    </div>
  );
}

/** The browser's audio devices, read once the component shows. */
export function useAudioDevices(): { inputs: MediaDeviceInfo[]; outputs: MediaDeviceInfo[] } {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    void navigator.mediaDevices?.enumerateDevices().then(setDevices).catch(() => {});
  }, []);
  return { inputs: devices.filter((d) => d.kind === 'audioinput'), outputs: devices.filter((d) => d.kind === 'audiooutput') };
}

/** Microphone and (where the browser lets pages choose) speaker, kept in this browser. */
export function DevicePickers(props: { idPrefix: string }) {
  const { inputs, outputs } = useAudioDevices();
  const [chosen, setChosen] = useState(voiceEngine.chosenDevices);
  const choose = async (change: Promise<void>) => {
    await change.catch(() => {});
    setChosen(voiceEngine.chosenDevices);
  };
  return (
    <>
      <DeviceSelect id={`${props.idPrefix}-input`} label="Microphone" devices={inputs} value={chosen.inputId} choose={(id) => void choose(voiceEngine.setInput(id))} />
      {outputs.length > 0 && <DeviceSelect id={`${props.idPrefix}-output`} label="Speaker" devices={outputs} value={chosen.outputId} choose={(id) => void choose(voiceEngine.setOutput(id))} />}
    </>
  );
}

/** A device picker whose first choice is the system default. */
function DeviceSelect(props: { id: string; label: string; devices: MediaDeviceInfo[]; value: string | null; choose(id: string | null): void }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value ?? ''} onChange={(e) => props.choose((e.target as HTMLSelectElement).value || null)}>
        <option value="">Default</option>
        {props.devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || props.label}
          </option>
        ))}
      </select>
    </div>
  );
}
