// Settings → Profile's pure parts: only what changed is sent, emptied fields are removed,
// refusals show under their field, and images are checked before they are sent.

import { describe, expect, it } from 'vitest';
import type { Me } from '../src/api/protocol';
import { ApiError, AVATAR_MAX_BYTES } from '../src/api/rest';
import { avatarProblem, avatarUploadError, deleteAccountErrors, formatBytes, profileChange, profileErrors, profileForm } from '../src/profile';

const me: Me = { id: '1', username: 'amy', admin: false, display_name: 'Amy', email: 'amy@example.org', email_verified: true };

describe('profileChange', () => {
  it('sends nothing when nothing changed', () => {
    expect(profileChange(me, profileForm(me))).toBeNull();
    expect(profileChange(me, { username: ' amy ', displayName: 'Amy', email: 'amy@example.org' })).toBeNull();
  });

  it('sends only the fields that changed, trimmed', () => {
    expect(profileChange(me, { username: 'amelia', displayName: 'Amy', email: 'amy@example.org' })).toEqual({ username: 'amelia' });
    expect(profileChange(me, { username: 'amy', displayName: ' Amy Pond ', email: 'amy@example.org' })).toEqual({ display_name: 'Amy Pond' });
  });

  it('removes an emptied display name or email with null', () => {
    expect(profileChange(me, { username: 'amy', displayName: '', email: '' })).toEqual({ display_name: null, email: null });
    const bare: Me = { id: '1', username: 'amy', admin: false, email: null, email_verified: false };
    expect(profileForm(bare)).toEqual({ username: 'amy', displayName: '', email: '' });
    expect(profileChange(bare, { username: 'amy', displayName: '', email: '' })).toBeNull();
  });
});

describe('profileErrors', () => {
  it('shows a refusal under the field the server named', () => {
    const taken = new ApiError(409, { code: 'username_taken', message: 'That username is taken.', field: 'username' });
    expect(profileErrors(taken)).toEqual({ username: 'That username is taken.' });
    const long = new ApiError(400, { code: 'invalid_display_name', message: 'Display names are 1 to 32 characters.', field: 'display_name' });
    expect(profileErrors(long)).toEqual({ displayName: 'Display names are 1 to 32 characters.' });
    const email = new ApiError(409, { code: 'email_taken', message: 'Another account uses that address.', field: 'email' });
    expect(profileErrors(email)).toEqual({ email: 'Another account uses that address.' });
  });

  it('shows anything else above the button', () => {
    expect(profileErrors(new ApiError(500, { code: 'internal', message: 'Oops.' }))).toEqual({ form: 'Oops.' });
    expect(profileErrors(new Error('x'))).toEqual({ form: 'Something went wrong.' });
    expect(profileErrors(new ApiError(429, { code: 'rate_limited', message: 'Slow down.' }, 5000)).form).toMatch(/^Too many attempts/);
  });
});

describe('avatars', () => {
  it('refuses an image over 2 MiB, or an empty or non-image file, before sending it', () => {
    expect(avatarProblem({ size: AVATAR_MAX_BYTES, type: 'image/png' })).toBeNull();
    expect(avatarProblem({ size: AVATAR_MAX_BYTES + 1, type: 'image/png' })).toBe('The image is 2.0 MiB; avatars are at most 2.0 MiB.');
    expect(avatarProblem({ size: 3 * 1024 * 1024, type: 'image/jpeg' })).toMatch(/^The image is 3.0 MiB/);
    expect(avatarProblem({ size: 0, type: 'image/png' })).toBe('The file is empty.');
    expect(avatarProblem({ size: 100, type: 'text/plain' })).toMatch(/^Choose an image/);
    // Some systems give no type; the server decides.
    expect(avatarProblem({ size: 100, type: '' })).toBeNull();
  });

  it('says what a refused upload means', () => {
    expect(avatarUploadError(new ApiError(413, { code: 'payload_too_large', message: 'Too large.' }))).toBe('The image is too large; avatars are at most 2.0 MiB.');
    expect(avatarUploadError(new ApiError(415, { code: 'unsupported_image', message: 'That is not an image we can read.' }))).toBe('That is not an image we can read.');
  });

  it('formats sizes', () => {
    expect(formatBytes(1536)).toBe('2 KiB');
    expect(formatBytes(10)).toBe('1 KiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
  });
});

describe('deleteAccountErrors', () => {
  it('puts a wrong password under the password, and the last admin above the button', () => {
    expect(deleteAccountErrors(new ApiError(401, { code: 'invalid_credentials', message: 'Wrong password.', field: 'password' }))).toEqual({ password: 'The password is wrong.' });
    const last = new ApiError(409, { code: 'last_admin', message: 'You are the last admin; make someone else an admin first' });
    expect(deleteAccountErrors(last)).toEqual({ form: 'You are the last admin; make someone else an admin first' });
  });
});
