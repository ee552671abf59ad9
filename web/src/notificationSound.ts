// The sound for a new message somewhere the user is not looking: another channel than the open
// one, or any channel while the page is hidden. Never for one's own messages, and at most one
// per second, so a busy channel does not turn into a drone. A short two-tone beep made with
// WebAudio, so there is no sound file to ship.

import type { Id } from './api/protocol';

/** Least time between two sounds. */
export const CHIME_GAP_MS = 1_000;

/** What `shouldChime` weighs. */
export interface ChimeCase {
  /** The user's `notification_sound` preference. */
  enabled: boolean;
  authorId: Id;
  channelId: Id;
  me: Id | undefined;
  /** The open channel. */
  current: Id | null;
  /** Whether the page is hidden (another tab, minimised). */
  hidden: boolean;
  now: number;
  /** When the last sound played, or null. */
  lastChimeAt: number | null;
}

export function shouldChime(c: ChimeCase): boolean {
  if (!c.enabled || c.authorId === c.me) return false;
  if (c.channelId === c.current && !c.hidden) return false;
  return c.lastChimeAt === null || c.now - c.lastChimeAt >= CHIME_GAP_MS;
}

let context: AudioContext | null = null;

/** Plays the beep. A page that never had a click may not play sound yet (autoplay policy):
 * then nothing is heard, and nothing fails. */
export function playChime(): void {
  try {
    context ??= new AudioContext();
    void context.resume().catch(() => {});
    const start = context.currentTime;
    const gain = context.createGain();
    gain.connect(context.destination);
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.15, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
    for (const [frequency, at] of [
      [880, 0],
      [1320, 0.08],
    ]) {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(start + at);
      tone.stop(start + 0.25);
    }
  } catch {
    // No WebAudio here: no sound.
  }
}
