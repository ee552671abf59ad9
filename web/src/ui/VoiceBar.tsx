// The voice bar: a coloured dot and label from the real peer connections (or why this page
// cannot use voice at all), who cannot be reached, the path and round trip, mute/deafen/leave
// (no unmute while an admin holds a server mute), "Move here" after a refused join, and voice
// settings; in its place, why an admin ended the call.

import { useState } from 'preact/hooks';
import type { User } from '../api/protocol';
import { displayName } from '../people';
import { codeSpans, phaseLabel, SERVER_MUTED_NOTE, unreachableNote } from '../voice/status';
import { chat, voiceEngine, voiceView } from '../state/store';
import { DevicePickers, InputModeSelect, PushToTalkKey, usePreferenceSaver } from './voiceControls';

export function VoiceBar() {
  const view = voiceView.value;
  const [settings, setSettings] = useState(false);
  if (view.phase === 'idle') return view.notice ? <VoiceEndedNotice text={view.notice} /> : null;
  const channel = chat.value.channels.find((c) => c.id === view.channelId);
  const label = phaseLabel(view.phase, channel?.name ?? '', view.disconnection);
  const colour = view.phase === 'connected' ? 'green' : view.phase === 'disconnected' ? 'red' : 'yellow';
  // A red bar already says why nothing works; naming who is unreachable would only distract.
  const note = view.phase === 'disconnected' ? '' : unreachableNote(view.unreachable.map((id) => nameOf(chat.value.users[id])));
  return (
    <section class="voice-bar" aria-label="Voice connection" data-phase={view.phase}>
      <div class="voice-status" role="status">
        <span class={`dot ${colour}`} aria-hidden="true" />
        <span class="voice-label">{codeSpans(label).map((part) => (part.code ? <code>{part.text}</code> : part.text))}</span>
        {note && (
          <span class="voice-unreachable" title="They are in the channel, but their client never answered our connection.">
            {note}
          </span>
        )}
      </div>
      {view.phase !== 'disconnected' && (view.path || view.rttMs !== null) && (
        <small class="voice-path">
          {view.path === 'relay' ? 'via relay' : view.path === 'direct' ? 'direct' : ''}
          {view.rttMs !== null && ` · ${view.rttMs} ms`}
        </small>
      )}
      {view.degraded && <small class="voice-warning">TURN relay unavailable: calls behind strict networks may fail.</small>}
      {view.serverMuted && view.phase !== 'disconnected' && (
        <small class="voice-warning" id="server-muted-note">
          {SERVER_MUTED_NOTE}
        </small>
      )}
      <div class="voice-actions">
        {view.disconnection?.canMoveHere && (
          <button type="button" class="primary small" onClick={() => void voiceEngine.moveHere()}>
            Move here
          </button>
        )}
        {view.phase === 'disconnected' ? (
          <button type="button" class="ghost" onClick={() => voiceEngine.dismiss()}>
            Dismiss
          </button>
        ) : (
          <>
            {view.serverMuted ? (
              <button type="button" class="ghost" aria-pressed="true" aria-label="Server muted" aria-describedby="server-muted-note" title={SERVER_MUTED_NOTE} disabled>
                Server muted
              </button>
            ) : (
              <button type="button" class="ghost" aria-pressed={view.muted} aria-label={view.muted ? 'Unmute' : 'Mute'} onClick={() => voiceEngine.setMuted(!view.muted)}>
                {view.muted ? 'Unmute' : 'Mute'}
              </button>
            )}
            <button type="button" class="ghost" aria-pressed={view.deafened} aria-label={view.deafened ? 'Undeafen' : 'Deafen'} onClick={() => voiceEngine.setDeafened(!view.deafened)}>
              {view.deafened ? 'Undeafen' : 'Deafen'}
            </button>
            <button type="button" class="ghost" aria-label="Voice settings" aria-expanded={settings} onClick={() => setSettings(!settings)}>
              Settings
            </button>
            <button type="button" class="ghost danger" aria-label="Leave voice" onClick={() => void voiceEngine.leave()}>
              Leave
            </button>
          </>
        )}
      </div>
      {settings && view.phase !== 'disconnected' && <VoiceSettings />}
    </section>
  );
}

/** Why the server ended this page's call (an admin took it out of voice, timed it out or turned
 * voice off), until dismissed or the next join. */
function VoiceEndedNotice(props: { text: string }) {
  return (
    <section class="voice-bar voice-ended" role="alert" aria-label="Voice ended">
      <div class="voice-status">
        <span class="dot red" aria-hidden="true" />
        <span class="voice-label">{props.text}</span>
      </div>
      <div class="voice-actions">
        <button type="button" class="ghost" onClick={() => voiceEngine.dismiss()}>
          Dismiss
        </button>
      </div>
    </section>
  );
}

/** The quick voice settings under the bar; Settings → Voice & audio has them all. */
function VoiceSettings() {
  const { save, error } = usePreferenceSaver();
  const view = voiceView.value;
  return (
    <div class="voice-settings">
      <InputModeSelect id="voice-bar-mode" save={save} />
      {view.mode === 'ptt' && <PushToTalkKey id="voice-bar-ptt-key" save={save} />}
      <DevicePickers idPrefix="voice-bar" />
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A name for the voice bar's notes. */
function nameOf(user: User | undefined): string {
  return user ? displayName(user) : 'someone';
}
