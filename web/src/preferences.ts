// The user's preferences as the app applies them: the defaults until the server's arrive (and
// for anything a reply leaves out), the part the voice engine takes, the push-to-talk key in
// words, and the theme on the page. The theme is also remembered in this browser, so the next
// visit starts in it (the login screen too) before any preferences arrive.

import type { Preferences } from './api/protocol';
import type { VoiceTuning } from './voice/talking';
import { DEFAULT_SENSITIVITY } from './voice/status';

export const DEFAULT_PREFERENCES: Preferences = {
  voice_mode: 'vad',
  ptt_key: 'KeyV',
  input_sensitivity: DEFAULT_SENSITIVITY,
  notification_sound: true,
  theme: 'dark',
};

export type Theme = Preferences['theme'];

const THEME_KEY = 'cromulent.theme';

/** Preferences as the server sent them, with anything missing or out of range at its default. */
export function withDefaults(raw: Partial<Preferences> | null | undefined): Preferences {
  const p = raw ?? {};
  const sensitivity = typeof p.input_sensitivity === 'number' && Number.isFinite(p.input_sensitivity) ? Math.round(Math.min(100, Math.max(0, p.input_sensitivity))) : DEFAULT_PREFERENCES.input_sensitivity;
  return {
    voice_mode: p.voice_mode === 'ptt' ? 'ptt' : 'vad',
    ptt_key: typeof p.ptt_key === 'string' && p.ptt_key !== '' ? p.ptt_key : DEFAULT_PREFERENCES.ptt_key,
    input_sensitivity: sensitivity,
    notification_sound: typeof p.notification_sound === 'boolean' ? p.notification_sound : DEFAULT_PREFERENCES.notification_sound,
    theme: p.theme === 'light' ? 'light' : 'dark',
  };
}

/** What the voice engine applies of them. */
export function voiceTuning(p: Preferences): VoiceTuning {
  return { mode: p.voice_mode, pttKey: p.ptt_key, sensitivity: p.input_sensitivity };
}

const SIDES: Record<string, string> = { Left: 'Left', Right: 'Right' };
const NAMED: Record<string, string> = {
  Control: 'Ctrl',
  Meta: 'Meta',
  Backquote: '`',
  Minus: '-',
  Equal: '=',
  BracketLeft: '[',
  BracketRight: ']',
  Backslash: '\\',
  Semicolon: ';',
  Quote: "'",
  Comma: ',',
  Period: '.',
  Slash: '/',
};

/** A `KeyboardEvent.code` as people call the key: `KeyV` → "V", `Digit1` → "1",
 * `ShiftLeft` → "Left Shift", `Numpad4` → "Numpad 4", `CapsLock` → "Caps Lock". */
export function keyName(code: string): string {
  const letter = /^Key([A-Z])$/.exec(code);
  if (letter) return letter[1];
  const digit = /^Digit(\d)$/.exec(code);
  if (digit) return digit[1];
  const sided = /^(Shift|Control|Alt|Meta)(Left|Right)$/.exec(code);
  if (sided) return `${SIDES[sided[2]]} ${NAMED[sided[1]] ?? sided[1]}`;
  if (NAMED[code]) return NAMED[code];
  const numpad = /^Numpad(.+)$/.exec(code);
  if (numpad) return `Numpad ${numpad[1]}`;
  // CapsLock, ArrowUp, PageDown: words apart.
  return code.replace(/([a-z])([A-Z0-9])/g, '$1 $2') || code;
}

/** Puts the page in a theme (styles.css keys its palettes on `data-theme`) and remembers it here. */
export function applyTheme(theme: Theme): void {
  if (typeof document === 'undefined') return;
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // Not remembered: the next visit starts dark until the preferences arrive.
  }
}

/** The theme this browser last showed, for the first paint. */
export function rememberedTheme(): Theme {
  try {
    return localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}
