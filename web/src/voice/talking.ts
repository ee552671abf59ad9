// How the user talks: the tuning the engine takes from their server preferences (voice
// activity or push-to-talk, the key, the sensitivity), and the push-to-talk key itself, held
// while it is down outside text fields and let go when the page loses focus or hides.

import { DEFAULT_SENSITIVITY, isPushToTalk } from './status';

export interface VoiceTuning {
  mode: 'vad' | 'ptt';
  /** A `KeyboardEvent.code`. */
  pttKey: string;
  /** 0–100, see `speakingThresholds`. */
  sensitivity: number;
}

/** Until the server's preferences arrive. */
export const DEFAULT_TUNING: VoiceTuning = { mode: 'vad', pttKey: 'KeyV', sensitivity: DEFAULT_SENSITIVITY };

/** Watches the page's keyboard for the push-to-talk key. */
export class PushToTalkKey {
  /** Whether the key is down now. */
  held = false;

  /** `listening` names the key while push-to-talk is in use (null otherwise); `changed` hears
   * every press and release. */
  constructor(
    private readonly listening: () => string | null,
    private readonly changed: () => void,
  ) {
    addEventListener('keydown', (e) => this.onKey(e, true));
    addEventListener('keyup', (e) => this.onKey(e, false));
    addEventListener('blur', () => this.set(false));
    document.addEventListener('visibilitychange', () => document.hidden && this.set(false));
  }

  /** Counts the key as up, e.g. when another key replaces it. */
  release(): void {
    this.set(false);
  }

  private onKey(event: KeyboardEvent, down: boolean): void {
    const key = this.listening();
    if (key === null) return;
    // Pressing the key in a text field types; releasing it anywhere always releases.
    const relevant = down ? isPushToTalk(event, key) : event.code === key;
    if (relevant && !event.repeat) this.set(down);
  }

  private set(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    this.changed();
  }
}
