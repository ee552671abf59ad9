// How people are named and pictured: display name over username, "Deleted user", the @handle
// only where it adds something, initials, and a colour that depends on the id alone.

import { describe, expect, it } from 'vitest';
import { avatarUrl } from '../src/api/rest';
import { AVATAR_COLOURS, avatarColour, displayName, handle, initials } from '../src/people';

describe('displayName and handle', () => {
  it('shows the display name where one is set, else the username', () => {
    expect(displayName({ id: '1', username: 'amy', display_name: 'Amy Pond' })).toBe('Amy Pond');
    expect(displayName({ id: '1', username: 'amy' })).toBe('amy');
    expect(displayName({ id: '1', username: 'amy', display_name: '   ' })).toBe('amy');
    expect(handle({ id: '1', username: 'amy', display_name: 'Amy Pond' })).toBe('@amy');
    expect(handle({ id: '1', username: 'amy' })).toBeNull();
    expect(handle({ id: '1', username: 'amy', display_name: 'amy' })).toBeNull();
  });

  it('names a deleted account "Deleted user", whatever else it carries', () => {
    expect(displayName({ id: '1', username: 'amy', display_name: 'Amy', deleted: true })).toBe('Deleted user');
    expect(handle({ id: '1', username: 'amy', display_name: 'Amy', deleted: true })).toBeNull();
  });
});

describe('initials', () => {
  it('takes the first letters of the first two words', () => {
    expect(initials('Amy Pond')).toBe('AP');
    expect(initials('amy')).toBe('A');
    expect(initials('rory the roman')).toBe('RT');
    expect(initials('john_smith')).toBe('JS');
    expect(initials('  ')).toBe('?');
  });

  it('keeps a letter outside the BMP whole', () => {
    expect(initials('😀 party')).toBe('😀P');
  });
});

describe('avatarColour', () => {
  it('depends on the id alone, and spreads ids over every colour', () => {
    expect(avatarColour('7531164806213009408')).toBe(avatarColour('7531164806213009408'));
    const seen = new Set(Array.from({ length: 200 }, (_, i) => avatarColour(String(7531164806213009408n + BigInt(i)))));
    expect(seen.size).toBe(AVATAR_COLOURS);
    for (const colour of seen) expect(colour).toBeGreaterThanOrEqual(0);
  });
});

describe('avatarUrl', () => {
  it('carries the size and the version, so a new upload is a new address', () => {
    expect(avatarUrl('42', 'v7', 128)).toBe('/api/v1/users/42/avatar?size=128&v=v7');
    expect(avatarUrl('42', 'a b', 32)).toBe('/api/v1/users/42/avatar?size=32&v=a%20b');
  });
});
