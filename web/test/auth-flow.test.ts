// The login screen's pure parts: where refusals show, what an unusable mailed link says, and
// where a confirmation link can be sent again.

import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/rest';
import { authErrors, LINK_USED, resendAddress, resetErrors } from '../src/authFlow';

describe('authErrors', () => {
  it('puts an error under the field the server named, others above the form', () => {
    expect(authErrors(new ApiError(409, { code: 'username_taken', message: 'Taken.', field: 'username' }))).toEqual({ username: 'Taken.' });
    expect(authErrors(new ApiError(401, { code: 'invalid_credentials', message: 'Wrong username or password.' }))).toEqual({ form: 'Wrong username or password.' });
    expect(authErrors(new ApiError(403, { code: 'account_disabled', message: 'x' }))).toEqual({ form: 'An admin disabled your account.' });
    expect(authErrors(new ApiError(400, { code: 'invalid_invite', message: 'No such invite.' }))).toEqual({ invite: 'No such invite.' });
  });

  it('says an unconfirmed address above the form, whatever field the server names', () => {
    const unconfirmed = new ApiError(403, { code: 'email_not_verified', message: 'Confirm your address first.', field: 'username' });
    expect(authErrors(unconfirmed)).toEqual({ form: 'Confirm your address first.' });
  });
});

describe('resetErrors', () => {
  it('offers a new link for a used or expired one', () => {
    expect(resetErrors(new ApiError(400, { code: 'invalid_token', message: 'x' }))).toEqual({ form: LINK_USED, expired: 'true' });
  });

  it('puts a weak password under the new password', () => {
    const weak = new ApiError(400, { code: 'invalid_password', message: 'Passwords are 8 to 128 characters long.', field: 'new_password' });
    expect(resetErrors(weak)).toEqual({ new_password: 'Passwords are 8 to 128 characters long.' });
  });
});

describe('resendAddress', () => {
  it('uses the login when it is an address, else the address typed for the purpose', () => {
    expect(resendAddress(' amy@example.org ', '')).toBe('amy@example.org');
    expect(resendAddress('amy', 'amy@example.org')).toBe('amy@example.org');
    expect(resendAddress('amy', 'amy')).toBeNull();
  });
});
