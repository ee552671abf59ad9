// Server settings, Voice & relay: voice on or off, forcing every call through a relay (so nobody
// sees anyone's IP address), and where calls get their STUN/TURN servers. Save & Test tries the
// TURN settings first and saves them only when every check passed (or the admin says so); what
// the server's configuration sets is shown read-only with where it is set.

import { useEffect, useState } from 'preact/hooks';
import type { IceTestResult, VoiceServerSettings, VoiceSettingsChange } from '../../api/protocol';
import { api } from '../../state/store';
import { errorText } from '../FormDialog';
import { ICE_PROVIDERS, type IceForm, iceFormFrom, iceLocks, iceRequest, testPassed } from './iceForm';

/** Text areas styled like the form's inputs (the stylesheet styles `.field input` only). */
const TEXTAREA_STYLE = { background: 'var(--bg)', border: '1px solid var(--border)', borderRadius: 'var(--radius)', padding: '9px 10px', resize: 'vertical' };

export function VoiceTab() {
  const [settings, setSettings] = useState<VoiceServerSettings | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.voiceSettings().then(setSettings, (e) => setError(errorText(e)));
  }, []);

  const change = async (patch: Pick<VoiceSettingsChange, 'voice_enabled' | 'force_relay'>) => {
    setError(null);
    try {
      setSettings(await api.updateVoiceSettings(patch));
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <>
      <section class="settings-section" aria-label="Voice">
        <h3>Voice</h3>
        {settings ? (
          <>
            <Switch
              label="Voice channels"
              checked={settings.voice_enabled}
              lockedBy={settings.locked['voice.enabled']}
              onChange={(on) => void change({ voice_enabled: on })}
            />
            <Switch
              label="Force relay (hide everyone's IP address)"
              checked={settings.force_relay}
              lockedBy={settings.locked['voice.force_relay']}
              onChange={(on) => void change({ force_relay: on })}
            />
          </>
        ) : (
          !error && <p class="hint-left">Loading…</p>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
      </section>
      {settings && <TurnForm settings={settings} saved={setSettings} />}
    </>
  );
}

function Switch(props: { label: string; checked: boolean; lockedBy?: string; onChange(on: boolean): void }) {
  return (
    <div>
      <label class="check">
        <input type="checkbox" checked={props.checked} disabled={props.lockedBy !== undefined} onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} />
        {props.label}
      </label>
      {props.lockedBy !== undefined && <p class="hint-left">Set by {props.lockedBy}</p>}
    </div>
  );
}

function TurnForm(props: { settings: VoiceServerSettings; saved(settings: VoiceServerSettings): void }) {
  const ice = props.settings.ice;
  const [form, setForm] = useState<IceForm>(() => iceFormFrom(ice));
  const [result, setResult] = useState<IceTestResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const locks = iceLocks(props.settings.locked);
  const readOnly = locks.length > 0;
  const set = (field: keyof IceForm) => (e: Event) => {
    const value = (e.target as HTMLInputElement).value;
    setForm((f) => ({ ...f, [field]: value }));
    setNote(null);
  };

  /** Runs `step` with the buttons disabled and server errors shown under the form. */
  const run = async (step: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await step();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    const settings = await api.updateVoiceSettings({ ice: iceRequest(form) });
    props.saved(settings);
    setForm(iceFormFrom(settings.ice));
    setNote('Saved.');
  };

  const test = () =>
    run(async () => {
      setResult(null);
      setResult(await api.testIce(iceRequest(form)));
    });

  const saveAndTest = () =>
    run(async () => {
      setResult(null);
      const tried = await api.testIce(iceRequest(form));
      setResult(tried);
      if (testPassed(tried)) await save();
      else setNote('Not saved: fix what failed, or save anyway.');
    });

  const saveAnyway = () => run(save);

  const submit = (event: Event) => {
    event.preventDefault();
    void saveAndTest();
  };

  const showTurn = form.provider === 'coturn';
  const showStun = form.provider === 'coturn' || form.provider === 'none' || form.provider === 'metered';
  const showMetered = form.provider === 'metered';

  return (
    <form class="settings-section" aria-label="TURN provider" onSubmit={submit}>
      <h3>TURN provider</h3>
      <p class="hint-left">Where calls get their STUN and TURN servers, used when two people cannot reach each other directly, and for everyone when the relay is forced.</p>
      {readOnly && (
        <ul class="hint-left" aria-label="Set by the configuration">
          {locks.map(([key, where]) => (
            <li key={key}>
              <code>{key}</code> is set by {where}
            </li>
          ))}
        </ul>
      )}
      <fieldset disabled={readOnly || busy} style={{ border: 0, padding: 0, margin: 0, display: 'flex', flexDirection: 'column', gap: '12px' }}>
        <label class="field">
          <span>Provider</span>
          <select name="provider" value={form.provider} onChange={set('provider')}>
            {ICE_PROVIDERS.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        {showTurn && (
          <label class="field">
            <span>TURN URLs (one per line)</span>
            <textarea name="urls" rows={3} style={TEXTAREA_STYLE} placeholder="turn:turn.example.org:3478?transport=udp" value={form.urls} onInput={set('urls')} />
          </label>
        )}
        {showStun && (
          <label class="field">
            <span>STUN URLs (one per line)</span>
            <textarea name="stun-urls" rows={2} style={TEXTAREA_STYLE} placeholder="stun:stun.example.org:3478" value={form.stunUrls} onInput={set('stunUrls')} />
          </label>
        )}
        {showTurn && (
          <label class="field">
            <span>Shared secret</span>
            <input
              name="secret"
              type="password"
              autocomplete="off"
              placeholder={ice.secret_set ? 'set (type to replace)' : "coturn's static-auth-secret"}
              value={form.secret}
              onInput={set('secret')}
            />
          </label>
        )}
        {showMetered && (
          <>
            <label class="field">
              <span>Metered API URL</span>
              <input name="metered-api-url" type="url" placeholder="https://YOURAPP.metered.live" value={form.meteredApiUrl} onInput={set('meteredApiUrl')} />
            </label>
            <label class="field">
              <span>Metered API key</span>
              <input
                name="metered-api-key"
                type="password"
                autocomplete="off"
                placeholder={ice.metered_api_key_set ? 'set (type to replace)' : 'API key'}
                value={form.meteredApiKey}
                onInput={set('meteredApiKey')}
              />
            </label>
          </>
        )}
        <div class="settings-toolbar">
          <button type="submit" class="primary small">
            Save &amp; Test
          </button>
          <button type="button" class="ghost" onClick={() => void test()}>
            Test
          </button>
          {result && !testPassed(result) && (
            <button type="button" class="ghost danger" onClick={() => void saveAnyway()}>
              Save anyway
            </button>
          )}
        </div>
      </fieldset>
      {busy && (
        <p class="hint-left" role="status">
          Working…
        </p>
      )}
      {note && (
        <p class="hint-left" role="status">
          {note}
        </p>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {result && <Checks result={result} />}
    </form>
  );
}

function Checks(props: { result: IceTestResult }) {
  const passed = testPassed(props.result);
  return (
    <div aria-label="Test results">
      <p class={passed ? 'hint-left' : 'form-error'} role="status">
        {passed ? 'Every check passed.' : 'Some checks failed.'}
      </p>
      <ul aria-label="Checks">
        {props.result.checks.map((check, i) => (
          <li key={i} aria-label={check.name} data-ok={check.ok}>
            <strong>{check.name}</strong>: <span class={check.ok ? undefined : 'form-error'}>{check.ok ? 'ok' : 'failed'}</span>
            {check.detail && <span class="hint-left"> — {check.detail}</span>}
            {check.hint && <p class="hint-left">{check.hint}</p>}
          </li>
        ))}
      </ul>
    </div>
  );
}
