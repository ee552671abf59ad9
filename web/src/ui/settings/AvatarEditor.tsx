// The avatar part of Settings → Profile: the current picture, choosing an image (checked here
// for size first, then previewed before anything is sent), uploading it, and removing the
// avatar to go back to initials. The preview is a data: URL, which the page's
// Content-Security-Policy allows for images (blob: it does not).

import { useState } from 'preact/hooks';
import type { Me } from '../../api/protocol';
import { avatarProblem, avatarUploadError } from '../../profile';
import { api } from '../../state/store';
import { Avatar } from '../Avatar';

type Chosen = { file: File; preview: string };

export function AvatarEditor(props: { me: Me; changed(me: Me): void }) {
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Bumped to empty the file input after an upload or cancel, so the same file can be chosen again.
  const [inputKey, setInputKey] = useState(0);

  const choose = (file: File | undefined) => {
    setError(null);
    setChosen(null);
    if (!file) return;
    const problem = avatarProblem(file);
    if (problem) {
      setError(problem);
      return;
    }
    const reader = new FileReader();
    reader.onload = () => setChosen({ file, preview: String(reader.result) });
    reader.onerror = () => setError('The file could not be read.');
    reader.readAsDataURL(file);
  };

  const run = async (call: () => Promise<Me>) => {
    setBusy(true);
    setError(null);
    try {
      props.changed(await call());
      setChosen(null);
      setInputKey((k) => k + 1);
    } catch (e) {
      setError(avatarUploadError(e));
    } finally {
      setBusy(false);
    }
  };

  const cancel = () => {
    setChosen(null);
    setError(null);
    setInputKey((k) => k + 1);
  };

  return (
    <section class="settings-section narrow" aria-label="Avatar">
      <h3>Avatar</h3>
      <div class="avatar-editor">
        {chosen ? <img class="avatar avatar-large" src={chosen.preview} alt="Preview of your new avatar" /> : <Avatar person={props.me} look="large" />}
        <div class="avatar-editor-controls">
          <div class="field">
            <label for="profile-avatar-file">Avatar image</label>
            <input
              key={inputKey}
              id="profile-avatar-file"
              type="file"
              accept="image/png,image/jpeg,image/gif,image/webp"
              aria-describedby={error ? 'profile-avatar-error' : 'profile-avatar-hint'}
              onChange={(e) => choose((e.target as HTMLInputElement).files?.[0])}
            />
            {error ? (
              <span class="field-error" id="profile-avatar-error" role="alert">
                {error}
              </span>
            ) : (
              <small class="hint-left" id="profile-avatar-hint">
                PNG, JPEG, GIF or WebP, at most 2 MiB.
              </small>
            )}
          </div>
          <div class="avatar-editor-actions">
            {chosen && (
              <>
                <button type="button" class="primary small" disabled={busy} onClick={() => void run(() => api.uploadAvatar(chosen.file))}>
                  Upload avatar
                </button>
                <button type="button" class="ghost" disabled={busy} onClick={cancel}>
                  Cancel
                </button>
              </>
            )}
            {!chosen && props.me.avatar && (
              <button type="button" class="ghost danger" disabled={busy} onClick={() => void run(() => api.removeAvatar())}>
                Remove avatar
              </button>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
