// The voice settings a user picks once and expects back on the next visit: transmit mode,
// push-to-talk key and audio devices, kept in localStorage.

/** Saved preferences. */
export interface VoicePrefs {
  mode: 'vad' | 'ptt';
  pttKey: string;
  inputId: string | null;
  outputId: string | null;
}

const PREFS_KEY = 'cromulent.voice';

export function loadPrefs(): VoicePrefs {
  const defaults: VoicePrefs = { mode: 'vad', pttKey: 'KeyV', inputId: null, outputId: null };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') };
  } catch {
    return defaults;
  }
}

export function savePrefs(prefs: VoicePrefs): void {
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
}
