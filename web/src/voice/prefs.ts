// The audio devices this browser uses for calls, kept in localStorage. Device ids differ from
// one machine to the next, so they stay with the browser; how the user talks (voice activity or
// push-to-talk, the key, the sensitivity) follows them everywhere as server preferences instead
// (see preferences.ts and `VoiceEngine.setTuning`).

/** The chosen devices; null is the system default. */
export interface DevicePrefs {
  inputId: string | null;
  outputId: string | null;
}

// The same key as when mode and key were kept here too: the devices people chose then survive.
const PREFS_KEY = 'cromulent.voice';

export function loadDevices(): DevicePrefs {
  const defaults: DevicePrefs = { inputId: null, outputId: null };
  try {
    const saved = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<DevicePrefs>;
    return { inputId: saved.inputId ?? null, outputId: saved.outputId ?? null };
  } catch {
    return defaults;
  }
}

export function saveDevices(devices: DevicePrefs): void {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(devices));
  } catch {
    // Storage full or refused (private mode): the choice lasts until the page closes.
  }
}
