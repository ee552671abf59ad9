// Voice events that arrive while this page's `voice_join` is in flight. The server puts us in
// the channel before it answers (it fetches ICE servers in between), so someone who joins right
// after us may already offer to us before our reply arrives. Such events wait in a backlog and
// are applied in order once the join is confirmed; signals from anyone the join does not put in
// our channel are left over from the channel we were leaving, and are dropped. Pure, so it is
// tested without a browser.

import type { Id } from '../api/protocol';
import type { Signal } from './peer';

/** A voice event held while joining. */
export type HeldVoiceEvent =
  | { t: 'voice_signal'; from: Id; signal: Signal }
  | { t: 'voice_state_update'; d: Record<string, unknown> };

/** The held events to apply, in order, now that the join into `channelId` went through with
 * `participants` (the reply's list): every state update, and the signals of participants and
 * of those a state update placed in the channel before their signal came. */
export function joinBacklog(held: HeldVoiceEvent[], channelId: Id, participants: Id[]): HeldVoiceEvent[] {
  const inChannel = new Set(participants);
  return held.filter((event) => {
    if (event.t === 'voice_signal') return inChannel.has(event.from);
    const userId = event.d.user_id as Id;
    if (event.d.channel_id === channelId) inChannel.add(userId);
    else inChannel.delete(userId);
    return true;
  });
}
