// Server settings, Channels: per text channel whether only admins may post and its slow mode,
// and for every channel its place in the sidebar (move up or down). Changes take effect at once
// and reach everyone as channel updates.

import { useState } from 'preact/hooks';
import type { Channel, ChannelChange, ChannelKind } from '../../api/protocol';
import { moveChannel, slowmodeLabel, slowmodeOptions } from '../../moderation';
import { chat, updateChannel } from '../../state/store';
import { errorText } from '../FormDialog';

export function ChannelsTab() {
  const channels = chat.value.channels;
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  /** A change on its way to the server, shown already so the control does not flip back. */
  const [draft, setDraft] = useState<{ id: string; change: ChannelChange } | null>(null);

  /** Runs changes of one channel's row, one request at a time, showing a refusal on the row. */
  const run = async (channel: Channel, changes: { id: string; change: ChannelChange }[]) => {
    setBusy(true);
    setDraft(changes.length === 1 ? changes[0] : null);
    setErrors(({ [channel.id]: _old, ...rest }) => rest);
    try {
      for (const { id, change } of changes) await updateChannel(id, change);
    } catch (e) {
      setErrors((all) => ({ ...all, [channel.id]: errorText(e) }));
    } finally {
      setDraft(null);
      setBusy(false);
    }
  };

  /** A channel as its row shows it: with the change on its way, if any. */
  const shown = (channel: Channel): Channel => (draft?.id === channel.id ? { ...channel, ...draft.change } : channel);

  const move = (channel: Channel, direction: -1 | 1) =>
    run(
      channel,
      moveChannel(chat.value.channels, channel.id, direction).map(({ id, position }) => ({ id, change: { position } })),
    );

  const section = (kind: ChannelKind, title: string) => {
    const ofKind = channels.filter((c) => c.kind === kind);
    return (
      <section class="settings-section" aria-label={title}>
        <h3>{title}</h3>
        <ul class="channel-rules">
          {ofKind.map(shown).map((channel, index) => (
            <li key={channel.id} class="channel-rule" aria-label={`${kind === 'text' ? '#' : ''}${channel.name}`} data-channel-id={channel.id}>
              <span class="channel-rule-name">
                {kind === 'text' ? '#' : ''}
                {channel.name}
                {channel.private && <span class="badge">private</span>}
              </span>
              {kind === 'text' && (
                <>
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={channel.write === 'admins'}
                      disabled={busy}
                      onChange={(e) => void run(channel, [{ id: channel.id, change: { write: (e.target as HTMLInputElement).checked ? 'admins' : 'everyone' } }])}
                    />
                    Only admins can post
                  </label>
                  <label class="inline-select">
                    <span>Slow mode</span>
                    <select
                      value={String(channel.slowmode_secs)}
                      disabled={busy}
                      onChange={(e) => void run(channel, [{ id: channel.id, change: { slowmode_secs: Number((e.target as HTMLSelectElement).value) } }])}
                    >
                      {slowmodeOptions(channel.slowmode_secs).map((seconds) => (
                        <option key={seconds} value={String(seconds)}>
                          {slowmodeLabel(seconds)}
                        </option>
                      ))}
                    </select>
                  </label>
                </>
              )}
              <span class="move-buttons">
                <button type="button" class="ghost" aria-label={`Move ${channel.name} up`} disabled={busy || index === 0} onClick={() => void move(channel, -1)}>
                  ↑
                </button>
                <button type="button" class="ghost" aria-label={`Move ${channel.name} down`} disabled={busy || index === ofKind.length - 1} onClick={() => void move(channel, 1)}>
                  ↓
                </button>
              </span>
              {errors[channel.id] && (
                <p class="form-error" role="alert">
                  {errors[channel.id]}
                </p>
              )}
            </li>
          ))}
        </ul>
      </section>
    );
  };

  return (
    <>
      {section('text', 'Text channels')}
      {section('voice', 'Voice channels')}
    </>
  );
}
