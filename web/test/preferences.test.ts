// The user's preferences as the app applies them: defaults for anything missing or out of
// range, the voice part for the engine, push-to-talk keys in words, and when a new message
// plays the sound.

import { describe, expect, it } from 'vitest';
import { CHIME_GAP_MS, shouldChime, type ChimeCase } from '../src/notificationSound';
import { DEFAULT_PREFERENCES, keyName, voiceTuning, withDefaults } from '../src/preferences';

describe('withDefaults', () => {
  it('keeps what the server sent', () => {
    const sent = { voice_mode: 'ptt', ptt_key: 'KeyB', input_sensitivity: 80, notification_sound: false, theme: 'light' } as const;
    expect(withDefaults(sent)).toEqual(sent);
  });

  it('fills in what is missing or makes no sense', () => {
    expect(withDefaults(undefined)).toEqual(DEFAULT_PREFERENCES);
    expect(withDefaults({ theme: 'light' })).toEqual({ ...DEFAULT_PREFERENCES, theme: 'light' });
    expect(withDefaults({ input_sensitivity: 180 }).input_sensitivity).toBe(100);
    expect(withDefaults({ input_sensitivity: -3 }).input_sensitivity).toBe(0);
    expect(withDefaults({ ptt_key: '' }).ptt_key).toBe('KeyV');
    expect(withDefaults({ voice_mode: 'shout' as 'vad' }).voice_mode).toBe('vad');
    expect(withDefaults({ theme: 'sepia' as 'dark' }).theme).toBe('dark');
  });

  it('gives the voice engine its part', () => {
    expect(voiceTuning({ ...DEFAULT_PREFERENCES, voice_mode: 'ptt', ptt_key: 'Space', input_sensitivity: 70 })).toEqual({ mode: 'ptt', pttKey: 'Space', sensitivity: 70 });
  });
});

describe('keyName', () => {
  it('names keys as people call them', () => {
    expect(keyName('KeyV')).toBe('V');
    expect(keyName('Digit1')).toBe('1');
    expect(keyName('ShiftLeft')).toBe('Left Shift');
    expect(keyName('ControlRight')).toBe('Right Ctrl');
    expect(keyName('Numpad4')).toBe('Numpad 4');
    expect(keyName('CapsLock')).toBe('Caps Lock');
    expect(keyName('Space')).toBe('Space');
    expect(keyName('F13')).toBe('F13');
    expect(keyName('Backquote')).toBe('`');
  });
});

describe('shouldChime', () => {
  const base: ChimeCase = { enabled: true, authorId: '2', channelId: '10', me: '1', current: '12', hidden: false, now: 10_000, lastChimeAt: null };

  it('sounds for someone else\'s message in a channel that is not open', () => {
    expect(shouldChime(base)).toBe(true);
  });

  it('stays quiet when turned off, for one\'s own messages, and in the open channel while the page shows', () => {
    expect(shouldChime({ ...base, enabled: false })).toBe(false);
    expect(shouldChime({ ...base, authorId: '1' })).toBe(false);
    expect(shouldChime({ ...base, current: '10' })).toBe(false);
    expect(shouldChime({ ...base, current: '10', hidden: true })).toBe(true);
  });

  it('sounds at most once a second', () => {
    expect(shouldChime({ ...base, lastChimeAt: base.now - CHIME_GAP_MS + 1 })).toBe(false);
    expect(shouldChime({ ...base, lastChimeAt: base.now - CHIME_GAP_MS })).toBe(true);
  });
});
