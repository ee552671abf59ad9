// The voice bar: a coloured dot and label from the real peer connections (or why this page
// cannot use voice at all), who cannot be reached, the path and round trip, mute/deafen/leave
// (no unmute while an admin holds a server mute), "Move here" after a refused join, and voice
// settings; in its place, why an admin ended the call.

import { useEffect, useState } from 'preact/hooks';
import { codeSpans, phaseLabel, SERVER_MUTED_NOTE, unreachableNote } from '../voice/status';
import { chat, voiceEngine, voiceView } from '../state/store';

export function VoiceBar() {
  const view = voiceView.value;
  const [settings, setSettings] = useState(false);
  if (view.phase === 'idle') return view.notice ? <VoiceEndedNotice text={view.notice} /> : null;
  const channel = chat.value.channels.find((c) => c.id === view.channelId);
  const label = phaseLabel(view.phase, channel?.name ?? '', view.disconnection);
  const colour = view.phase === 'connected' ? 'green' : view.phase === 'disconnected' ? 'red' : 'yellow';
  // A red bar already says why nothing works; naming who is unreachable would only distract.
  const note = view.phase === 'disconnected' ? '' : unreachableNote(view.unreachable.map((id) => chat.value.users[id]?.username ?? 'someone'));
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

function VoiceSettings() {
  const view = voiceView.value;
  const prefs = voiceEngine.preferences;
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [capturing, setCapturing] = useState(false);

  useEffect(() => {
    void navigator.mediaDevices?.enumerateDevices().then(setDevices).catch(() => {});
  }, []);

  const inputs = devices.filter((d) => d.kind === 'audioinput');
  const outputs = devices.filter((d) => d.kind === 'audiooutput');
  return (
    <div class="voice-settings">
      <label class="field">
        <span>Input mode</span>
        <select value={view.mode} onChange={(e) => voiceEngine.setMode((e.target as HTMLSelectElement).value as 'vad' | 'ptt')}>
          <option value="vad">Voice activity</option>
          <option value="ptt">Push to talk</option>
        </select>
      </label>
      {view.mode === 'ptt' && (
        <label class="field">
          <span>Push-to-talk key</span>
          <button
            type="button"
            class="ghost key"
            onClick={() => setCapturing(true)}
            onKeyDown={(e) => {
              if (!capturing) return;
              e.preventDefault();
              voiceEngine.setMode('ptt', e.code);
              setCapturing(false);
            }}
          >
            {capturing ? 'Press a key…' : view.pttKey}
          </button>
        </label>
      )}
      <DeviceSelect label="Microphone" devices={inputs} value={prefs.inputId} choose={(id) => voiceEngine.setInput(id)} />
      {outputs.length > 0 && <DeviceSelect label="Speaker" devices={outputs} value={prefs.outputId} choose={(id) => voiceEngine.setOutput(id)} />}
    </div>
  );
}

/** A device picker whose first choice is the system default. */
function DeviceSelect(props: { label: string; devices: MediaDeviceInfo[]; value: string | null; choose(id: string | null): Promise<void> }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <select value={props.value ?? ''} onChange={(e) => void props.choose((e.target as HTMLSelectElement).value || null)}>
        <option value="">Default</option>
        {props.devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || props.label}
          </option>
        ))}
      </select>
    </label>
  );
}
