// Profiles in a real browser, seen by someone else live. Amy uploads an avatar (a PNG made in
// the test) and Bob, in another browser, sees the picture load in his member list and beside
// Amy's message, with the new version in its address; a file over 2 MiB is refused before it
// is sent; removing it brings the initials back. Amy's new display name replaces her username
// in Bob's member list (her @username under it) and on her message already on his screen.
// Bob deletes his account (the password asked first): Amy sees his message signed "Deleted
// user" and Bob gone from the member list, Bob lands on the login screen and cannot log in
// again; the last admin cannot delete hers.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, logIn, messages, openMySettings, register, say, Server, whoAmI, withScreenshots } from './harness.mjs';
import { solidPng } from './images.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function person(server, username, pages) {
  const page = await (await browser.newContext()).newPage();
  pages[username] = page;
  await register(page, server.url, username);
  return page;
}

/** Someone's row in a member list, by the name it shows. */
const memberRow = (page, name) => page.getByRole('list', { name: 'Online members' }).getByRole('listitem').filter({ hasText: name });

/** Waits until `image` (a locator of an <img>) has loaded a real picture, and returns its address. */
async function loadedImage(image) {
  await image.waitFor();
  await image.evaluate((img) => (img.complete && img.naturalWidth > 0 ? null : new Promise((done, fail) => ((img.onload = done), (img.onerror = () => fail(new Error(`${img.src} did not load`)))))));
  assert.ok((await image.evaluate((img) => img.naturalWidth)) > 0, 'the image decoded');
  return image.getAttribute('src');
}

test('an avatar and a display name reach the others live: member list and messages', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('profile-live', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await say(amy, 'hello from amy');
      await messages(bob, 'hello from amy').waitFor();
      await memberRow(bob, 'amy').waitFor();
      assert.equal(await memberRow(bob, 'amy').locator('img').count(), 0, 'no picture before an upload');
      assert.equal(await memberRow(bob, 'amy').locator('.avatar-initials').textContent(), 'A', 'her initial instead');

      await openMySettings(amy, 'Profile');
      const file = amy.getByLabel('Avatar image');

      // Too large: refused here, before anything is sent.
      await file.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.concat([solidPng(), Buffer.alloc(2 * 1024 * 1024)]) });
      await amy.getByRole('alert').filter({ hasText: 'avatars are at most 2.0 MiB' }).waitFor();
      assert.equal(await amy.getByRole('button', { name: 'Upload avatar' }).count(), 0, 'nothing to upload');

      await file.setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: solidPng(64) });
      await loadedImage(amy.getByRole('img', { name: 'Preview of your new avatar' }));
      await amy.getByRole('button', { name: 'Upload avatar' }).click();
      await amy.getByRole('button', { name: 'Remove avatar' }).waitFor();
      const { id, avatar } = await whoAmI(amy);
      assert.ok(avatar, 'the server has a version for the avatar');
      const version = `v=${encodeURIComponent(avatar)}`;

      // Bob sees it without reloading: in the member list and beside her message.
      const listed = await loadedImage(memberRow(bob, 'amy').locator('img.avatar'));
      assert.ok(listed.includes(`/api/v1/users/${id}/avatar?`) && listed.endsWith(version), `the member list shows the new version: ${listed}`);
      const signed = await loadedImage(messages(bob, 'hello from amy').locator('img.avatar'));
      assert.ok(signed.endsWith(version), `the message shows the new version: ${signed}`);
      await amy.getByLabel('Display name').fill('Amy Pond');
      await amy.getByRole('button', { name: 'Save profile' }).click();
      await amy.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
      await bob.getByRole('listitem', { name: 'Amy Pond: hello from amy' }).waitFor();
      await memberRow(bob, 'Amy Pond').getByText('@amy', { exact: true }).waitFor();
      assert.equal(await messages(bob, 'hello from amy').locator('.author').textContent(), 'Amy Pond');
      assert.equal(await messages(bob, 'hello from amy').locator('.author').getAttribute('title'), '@amy', 'the username on hover');
      // And Amy sees herself so in her own corner, back in the chat.
      await amy.keyboard.press('Escape');
      assert.ok((await loadedImage(amy.locator('.user-panel img.avatar'))).endsWith(version));
      assert.equal(await amy.locator('.user-panel .who strong').textContent(), 'Amy Pond');

      // A reload on Bob's side reads the same from the server.
      await bob.reload();
      await bob.getByRole('listitem', { name: 'Amy Pond: hello from amy' }).waitFor();
      assert.ok((await loadedImage(memberRow(bob, 'Amy Pond').locator('img.avatar'))).endsWith(version));

      await openMySettings(amy, 'Profile');
      await amy.getByRole('button', { name: 'Remove avatar' }).click();
      await memberRow(bob, 'Amy Pond').locator('img').waitFor({ state: 'detached' });
      assert.equal(await memberRow(bob, 'Amy Pond').locator('.avatar-initials').textContent(), 'AP');
      assert.equal((await whoAmI(amy)).avatar, undefined, 'the server forgot the avatar');
    });
  } finally {
    await server.stop();
  }
});

test('a deleted account leaves its messages, signed "Deleted user", and the member list', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('profile-delete', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await say(bob, 'bye all');
      await messages(amy, 'bye all').waitFor();
      await memberRow(amy, 'bob').waitFor();

      // The last admin may not go.
      await openMySettings(amy, 'Profile');
      await amy.getByRole('button', { name: 'Delete account…' }).click();
      await amy.getByLabel('Your password').fill('correct horse battery');
      await amy.getByRole('button', { name: 'Delete my account' }).click();
      await amy.getByRole('alert').filter({ hasText: 'last admin' }).waitFor();
      await amy.getByRole('button', { name: 'Cancel' }).click();
      await amy.keyboard.press('Escape');

      await openMySettings(bob, 'Profile');
      await bob.getByRole('button', { name: 'Delete account…' }).click();
      const dialog = bob.getByRole('dialog', { name: 'Delete your account' });
      await dialog.getByLabel('Your password').fill('not my password');
      await dialog.getByRole('button', { name: 'Delete my account' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'The password is wrong.' }).waitFor();
      assert.equal(await dialog.getByLabel('Your password').getAttribute('aria-invalid'), 'true');

      await dialog.getByLabel('Your password').fill('correct horse battery');
      await dialog.getByRole('button', { name: 'Delete my account' }).click();
      await bob.getByRole('status').filter({ hasText: 'Your account was deleted.' }).waitFor();
      await bob.getByRole('button', { name: 'Log in', exact: true }).last().waitFor();

      // Amy: the message stays, by "Deleted user", muted; Bob is off the list.
      await amy.getByRole('listitem', { name: 'Deleted user: bye all' }).waitFor();
      assert.equal(await messages(amy, 'bye all').locator('.author.deleted').textContent(), 'Deleted user');
      await amy.locator('.members li.member', { hasText: 'bob' }).waitFor({ state: 'detached' });
      await amy.reload();
      await amy.getByRole('listitem', { name: 'Deleted user: bye all' }).waitFor();
      await memberRow(amy, 'amy').waitFor();
      assert.equal(await amy.locator('.members li.member', { hasText: 'bob' }).count(), 0, 'still gone after a reload');

      await bob.getByLabel('Username or email').fill('bob');
      await bob.getByLabel('Password', { exact: true }).fill('correct horse battery');
      await bob.getByRole('button', { name: 'Log in', exact: true }).last().click();
      await bob.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
      // Amy, for her part, still gets in.
      await amy.getByRole('button', { name: 'Log out' }).click();
      await logIn(amy, 'amy');
    });
  } finally {
    await server.stop();
  }
});
