// Settings → Profile's pure parts: what a save of the form changes (only what differs from the
// account, an emptied display name or email removed), where a refusal shows, whether an image
// may be sent as an avatar, and what a refused account deletion says.

import type { Me, MeChange } from './api/protocol';
import { ApiError, AVATAR_MAX_BYTES } from './api/rest';
import { rateLimitText } from './account';

/** The profile form as typed. */
export interface ProfileForm {
  username: string;
  displayName: string;
  email: string;
}

/** Errors of the profile form by field; `form` goes above the button. */
export interface ProfileErrors {
  username?: string;
  displayName?: string;
  email?: string;
  form?: string;
}

/** The form filled from the account. */
export function profileForm(me: Me): ProfileForm {
  return { username: me.username, displayName: me.display_name ?? '', email: me.email ?? '' };
}

/** What `PATCH /users/@me` should send for the form: only what changed, trimmed, and an
 * emptied display name or email as `null` (removed). Null when nothing changed. */
export function profileChange(me: Me, form: ProfileForm): MeChange | null {
  const change: MeChange = {};
  const username = form.username.trim();
  const displayName = form.displayName.trim();
  const email = form.email.trim();
  if (username !== me.username) change.username = username;
  if (displayName !== (me.display_name ?? '')) change.display_name = displayName === '' ? null : displayName;
  if (email !== (me.email ?? '')) change.email = email === '' ? null : email;
  return Object.keys(change).length === 0 ? null : change;
}

const FIELDS: Record<string, keyof ProfileErrors> = { username: 'username', display_name: 'displayName', email: 'email' };

/** Where a refused profile change shows: under the field the server named, else above the button. */
export function profileErrors(error: unknown): ProfileErrors {
  if (!(error instanceof ApiError)) return { form: 'Something went wrong.' };
  if (error.status === 429) return { form: rateLimitText(error.retryAfterMs) };
  const field = error.field ? FIELDS[error.field] : undefined;
  return field ? { [field]: error.message } : { form: error.message };
}

/** "1.4 MiB", "312 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/** Why a chosen file cannot be an avatar, before sending it, or null when it may be tried
 * (the server decides whether it decodes). */
export function avatarProblem(file: { size: number; type: string }): string | null {
  if (file.size > AVATAR_MAX_BYTES) return `The image is ${formatBytes(file.size)}; avatars are at most ${formatBytes(AVATAR_MAX_BYTES)}.`;
  if (file.size === 0) return 'The file is empty.';
  if (file.type !== '' && !file.type.startsWith('image/')) return 'Choose an image: PNG, JPEG, GIF or WebP.';
  return null;
}

/** What a refused avatar upload says. */
export function avatarUploadError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong.';
  if (error.status === 413) return `The image is too large; avatars are at most ${formatBytes(AVATAR_MAX_BYTES)}.`;
  if (error.status === 429) return rateLimitText(error.retryAfterMs);
  return error.message;
}

/** Errors of the delete-account dialog: the password, or the whole form. */
export function deleteAccountErrors(error: unknown): { password?: string; form?: string } {
  if (!(error instanceof ApiError)) return { form: 'Something went wrong.' };
  if (error.status === 429) return { form: rateLimitText(error.retryAfterMs) };
  if (error.code === 'invalid_credentials') return { password: 'The password is wrong.' };
  if (error.field === 'password') return { password: error.message };
  return { form: error.message };
}
