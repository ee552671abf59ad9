// What happens to voice events that came while our join was in flight: state updates are all
// applied; signals only from those the join puts in our channel, in the order they came.

import { describe, expect, it } from 'vitest';
import { joinBacklog, type HeldVoiceEvent } from '../src/voice/joining';

const signal = (from: string, sdp = 'x'): HeldVoiceEvent => ({ t: 'voice_signal', from, signal: { description: { type: 'offer', sdp } } });
const moved = (userId: string, channelId: string | null): HeldVoiceEvent => ({ t: 'voice_state_update', d: { user_id: userId, channel_id: channelId } });

describe('joinBacklog', () => {
  it('keeps signals of the participants the reply lists', () => {
    const held = [signal('7', 'a'), signal('8', 'b')];
    expect(joinBacklog(held, '100', ['5', '7'])).toEqual([signal('7', 'a')]);
  });

  it('keeps signals of someone whose arrival in the channel came before them', () => {
    const held = [moved('7', '100'), signal('7')];
    expect(joinBacklog(held, '100', ['5'])).toEqual(held);
  });

  it('drops signals that came before the arrival, and after a departure', () => {
    const early = signal('7', 'early');
    const late = signal('8', 'late');
    const held = [early, moved('7', '100'), moved('8', null), late];
    expect(joinBacklog(held, '100', ['5', '8'])).toEqual([moved('7', '100'), moved('8', null)]);
  });

  it('drops signals of someone who is in another channel', () => {
    const held = [moved('9', '200'), signal('9')];
    expect(joinBacklog(held, '100', ['5'])).toEqual([moved('9', '200')]);
  });
});
