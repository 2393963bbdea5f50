import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { launcherWebm, testWebm } from './helpers/media.ts';
import { ensureWebBuilt, launchBrowser, screenshot, watchPage, type PageWatch } from './helpers/browser.ts';
import { ADMIN_PASSWORD, Api, startTestServer, uniqueName, type TestServer } from './helpers/server.ts';

/**
 * The admin console in a real Chromium against a real server: sign-in, search → recording at the
 * hit, grid and activity-map seeks, Watch Live, message/terminate, settings validation, XSS
 * payloads in every attacker-controlled field, and what a user without permissions sees.
 */

const XSS_IMG = '<img src=x onerror=window.__xss=1;alert(1)>';
const XSS_SCRIPT = '</script><script>window.__xss=1;alert(1)</script>';
const KEYWORD = 'zanzibar';

interface Seeded {
  id: string;
  token: string;
}

/** An asciicast v2 with output every few seconds over `seconds`, each line naming its second. */
function cast(seconds: number): string {
  const lines = [JSON.stringify({ version: 2, width: 100, height: 28, timestamp: 1_700_000_000 })];
  lines.push(JSON.stringify([0.2, 'o', 'root@web01:~# ']));
  for (let s = 2; s <= seconds; s += 2) lines.push(JSON.stringify([s, 'o', `echo second-${s}\r\nsecond-${s}\r\nroot@web01:~# `]));
  return `${lines.join('\n')}\n`;
}

async function putChunk(base: string, token: string, id: string, seq: number, data: string | Buffer): Promise<void> {
  const res = await fetch(`${base}/api/v1/ingest/sessions/${id}/chunks/${seq}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(typeof data === 'string' ? Buffer.from(data) : data) });
  assert.equal(res.status, 200, await res.text());
}

describe('web console', { timeout: 180_000 }, () => {
  let t: TestServer;
  let admin: Api;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let secret: { id: string; name: string };
  let searchSession: Seeded;
  let xssSession: Seeded;
  let liveSession: Seeded;
  const nobody = { username: uniqueName('nobody'), password: 'nobody-password' };

  const open = async (id: string, opts: { media?: 'cast' | 'webm' } = {}): Promise<Seeded> => {
    const { sessions } = t.server.services;
    const s = await sessions.open({
      kind: opts.media === 'webm' ? 'desktop' : 'ssh', component: 'ssh-proxy', user: { id: null, name: 'alice' }, secret: { id: secret.id, name: secret.name, recording: { video: true, keystrokes: true } },
      target: { host: `${id}.example.test`, user: 'root' }, clientAddress: '192.0.2.7', nodeId: null, media: opts.media ?? 'cast',
    });
    return { id: s.id, token: await sessions.issueUploadCredential(s.id) };
  };
  const events = async (s: Seeded, source: 'proxy' | 'agent', list: Array<{ at: number; type: string; text: string; details?: Record<string, unknown> }>) => {
    const res = await new Api(t.base, s.token).post(`/api/v1/ingest/sessions/${s.id}/events`, { source, events: list.map((e, seq) => ({ seq, ...e })) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const close = async (s: Seeded) => {
    const res = await new Api(t.base, s.token).post(`/api/v1/ingest/sessions/${s.id}/close`, { status: 'ended' });
    assert.equal(res.status, 200);
  };
  const currentMs = async () => Number(await page.locator('.player-time').getAttribute('data-current-ms'));
  const waitCurrent = async (ms: number) => {
    await page.waitForFunction((want) => Number(document.querySelector('.player-time')?.getAttribute('data-current-ms')) === want, ms, { timeout: 10_000 });
  };
  const signIn = async (p: Page, username: string, password: string) => {
    await p.goto(`${t.base}/login`);
    await p.fill('#username', username);
    await p.fill('#password', password);
    await p.click('button[type=submit]');
    await p.waitForSelector('.shell');
  };

  before(async () => {
    ensureWebBuilt();
    t = await startTestServer({}, { heartbeatTimeoutMs: 3_600_000 });
    const routes = t.server.routes.map((r) => `${r.method} ${r.url}`);
    assert.ok(routes.includes('GET /*'), 'registerWebRoutes is not wired into src/server/server.ts');
    admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    assert.equal((await admin.post('/api/v1/users', { ...nobody, roles: [roles.User] })).status, 201);
    const s = await admin.post('/api/v1/secrets', { name: uniqueName('web-prod'), kind: 'ssh', host: 'web01.example.test', username: 'root', password: 'Target-Pa55' });
    secret = { id: s.body.id, name: s.body.name };

    searchSession = await open('search');
    await putChunk(t.base, searchSession.token, searchSession.id, 0, cast(60));
    await events(searchSession, 'proxy', [
      { at: 4_000, type: 'keystrokes', text: 'ls -la\r' },
      { at: 12_345, type: 'keystrokes', text: `cat /etc/${KEYWORD}.conf\r` },
      { at: 12_400, type: 'command', text: `cat /etc/${KEYWORD}.conf` },
      { at: 30_000, type: 'command', text: 'systemctl restart nginx' },
    ]);
    await events(searchSession, 'agent', [
      { at: 20_000, type: 'process-start', text: 'nginx', details: { path: '/usr/sbin/nginx', cwd: '/etc/nginx', user: 'www-data', pid: 4242, args: ['nginx', '-g', 'daemon off;'] } },
      { at: 41_000, type: 'window', text: 'Terminal', details: { title: 'root@web01: ~', app: 'xterm' } },
    ]);
    await close(searchSession);

    xssSession = await open('xss');
    // Screen output with the payloads too (the terminal view renders text spans, never HTML).
    await putChunk(t.base, xssSession.token, xssSession.id, 0, cast(20).replace('\n', `\n${JSON.stringify([0.5, 'o', `${XSS_IMG}\r\n${XSS_SCRIPT}\r\n`])}\n`));
    await events(xssSession, 'proxy', [
      { at: 1_000, type: 'keystrokes', text: `echo ${XSS_IMG}` },
      { at: 2_000, type: 'command', text: `echo ${XSS_SCRIPT}` },
      { at: 3_000, type: 'file-transfer', text: `upload ${XSS_IMG}`, details: { operation: 'upload', path: `/tmp/${XSS_IMG}`, fileName: XSS_SCRIPT } },
    ]);
    await events(xssSession, 'agent', [
      { at: 4_000, type: 'window', text: XSS_IMG, details: { title: XSS_SCRIPT, app: XSS_IMG } },
      { at: 5_000, type: 'process-start', text: 'sh', details: { path: '/bin/sh', args: ['sh', '-c', XSS_IMG, XSS_SCRIPT], cwd: XSS_IMG, user: XSS_SCRIPT, pid: 7 } },
    ]);
    await close(xssSession);

    liveSession = await open('live');
    await putChunk(t.base, liveSession.token, liveSession.id, 0, cast(4));

    browser = await launchBrowser();
    ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await ctx.newPage();
    watch = watchPage(page);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('serves the console under the CSP: shell for client routes, hashed assets, no traversal, API 404s stay JSON', async () => {
    const root = await fetch(`${t.base}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(root.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/);
    const html = await root.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
    assert.doesNotMatch(html, /\sstyle=/, 'no inline style attribute');
    const deep = await fetch(`${t.base}/sessions/00000000-0000-4000-8000-000000000000/recording?at=5`);
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), html);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(t.base + asset);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000/);
    for (const bad of ['/..%2fpackage.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/.env', '/assets/nope.js']) {
      const res = await fetch(t.base + bad);
      assert.equal(res.status, 404, bad);
      assert.doesNotMatch(await res.text(), /"name": "vigil"/, bad);
    }
    const api = await fetch(`${t.base}/api/v1/nonexistent`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'not-found');
  });

  it('signs in and lists active sessions, refreshing by itself', async () => {
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.waitForSelector(`tbody[data-session-id="${liveSession.id}"]`);
    const row = page.locator(`tbody[data-session-id="${liveSession.id}"]`);
    assert.ok(await row.getByRole('link', { name: 'Watch Live' }).isVisible());
    assert.ok(await row.getByRole('button', { name: 'Terminate' }).isVisible());
    // A session opened now appears without reloading the page.
    const late = await open('late');
    await page.waitForSelector(`tbody[data-session-id="${late.id}"]`, { timeout: 15_000 });
    await close(late);
    await screenshot(page, 'monitoring-active');
  });

  it('finds a session by a keystroke substring and opens its recording at the hit', async () => {
    await page.getByRole('tab', { name: 'Ended sessions' }).click();
    await page.fill('input[aria-label="Search sessions"]', KEYWORD.slice(1, 7));
    await page.click('button:has-text("Search")');
    const group = page.locator(`tbody[data-session-id="${searchSession.id}"]`);
    await group.waitFor();
    // The unfiltered list (which also shows the search session) is replaced once the search answers.
    await page.locator(`tbody[data-session-id="${xssSession.id}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    const hit = group.locator('.hit').first();
    assert.match(await hit.innerText(), new RegExp(`cat /etc/${KEYWORD}\\.conf`));
    await screenshot(page, 'monitoring-search');
    await group.getByRole('link', { name: 'Watch session recording' }).click();
    await page.waitForSelector('.player-time');
    await waitCurrent(12_345);
    assert.match(page.url(), /\/recording\?at=12345/);
    // The grid opens filtered by the search term.
    assert.equal(await page.inputValue('input[aria-label="Search activity"]'), KEYWORD.slice(1, 7));
    await page.waitForSelector('.grid-row');
  });

  it('seeks the player from the activity grid and shows the row details', async () => {
    await page.fill('input[aria-label="Search activity"]', '');
    await page.waitForSelector('.grid-row[data-at="30000"]');
    await page.click('.grid-row[data-at="30000"]');
    await waitCurrent(30_000);
    // The terminal shows what was on screen at 0:30.
    await page.waitForFunction(() => document.querySelector('.terminal')?.textContent?.includes('second-30'));
    assert.equal((await page.locator('.terminal').innerText()).includes('second-32'), false);
    await page.click('.grid-row[data-at="20000"]');
    await waitCurrent(20_000);
    const details = page.locator('section[aria-label="Details"]');
    for (const text of ['/usr/sbin/nginx', '/etc/nginx', 'www-data', '4242', 'nginx -g daemon off;']) assert.ok((await details.innerText()).includes(text), text);
    await page.click('.grid-row[data-at="41000"]');
    assert.ok((await details.innerText()).includes('root@web01: ~'));
    await screenshot(page, 'recording');
  });

  it('downloads the recording and the keystroke and command log', async () => {
    const href = (await page.getByRole('link', { name: /Recording \(\.cast\)/ }).getAttribute('href'))!;
    const media = await page.request.get(t.base + href);
    assert.equal(media.status(), 200);
    assert.match(media.headers()['content-disposition'] ?? '', /attachment/);
    assert.ok((await media.text()).includes('second-60'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Keystroke and command log/ }).click()]);
    const log = await fs.readFile((await download.path())!, 'utf8');
    assert.match(log, new RegExp(`0:12 .*command +cat /etc/${KEYWORD}\\.conf`));
    assert.match(log, /keys +ls -la\\r/);
    assert.equal(log.includes('nginx -g'), false, 'processes are not in the keystroke log');
  });

  it('renders the activity map and seeks where it is clicked', async () => {
    const bars = await page.locator('.activity-map .map-bar').count();
    assert.ok(bars >= 5, `bars: ${bars}`);
    const duration = Number(await page.locator('.activity-map').getAttribute('data-duration-ms'));
    assert.ok(duration >= 41_000);
    const box = (await page.locator('.activity-map-svg').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    const at = await currentMs();
    assert.ok(Math.abs(at - duration * 0.75) <= duration * 0.01, `clicked 75% of ${duration}, player at ${at}`);
    // Player and map cannot disagree on the end: seeking past the recording's last frame clamps.
    assert.ok(at <= 60_000);
    // Play at 4× for a moment, then pause: time moves forward and stops.
    await page.selectOption('select[aria-label="Speed"]', '4');
    await page.click('.player-play');
    await page.waitForFunction((from) => Number(document.querySelector('.player-time')?.getAttribute('data-current-ms')) > from + 1000, at);
    await page.click('.player-play');
    const paused = await currentMs();
    await page.waitForTimeout(300);
    assert.equal(await currentMs(), paused);
  });

  it('watches a live terminal session', async () => {
    const { control } = t.server.services;
    const sub = await control.subscribeControl(liveSession.id, (m) => {
      if (m.type !== 'snapshot-request') return;
      void control.publishLive(liveSession.id, { type: 'snapshot', cols: 90, rows: 20, data: 'root@web01:~# ' });
      setTimeout(() => void control.publishLive(liveSession.id, { type: 'output', data: Buffer.from('tail -f /var/log/live-marker.log\r\n').toString('base64') }), 200);
    });
    try {
      await page.goto(`${t.base}/sessions/${liveSession.id}/live`);
      await page.waitForFunction(() => document.querySelector('.terminal')?.textContent?.includes('live-marker.log'), undefined, { timeout: 10_000 });
      assert.equal(await page.locator('.terminal').getAttribute('data-cols'), '90');
      assert.match(await page.locator('.live-pill').innerText(), /Live/);
      await screenshot(page, 'watch-live');
    } finally {
      await sub.unsubscribe();
    }
  });

  it('watches a live desktop session: the join frame starts the video, a later join frame is skipped', async () => {
    const desk = await open('live-desktop', { media: 'webm' });
    const webm = await testWebm(4);
    const { control } = t.server.services;
    const join = (data: Buffer) => control.publishLive(desk.id, { type: 'media', join: true, data: data.toString('base64') });
    const sub = await control.subscribeControl(desk.id, (m) => {
      if (m.type !== 'snapshot-request') return;
      // A chunk without the WebM header first (a viewer cannot start there), then the join frame.
      void control.publishLive(desk.id, { type: 'media', seq: 7, data: webm.subarray(webm.length - 200).toString('base64') }).then(() => join(webm));
    });
    try {
      await page.goto(`${t.base}/sessions/${desk.id}/live`);
      // Frames decoded and shown (a live viewer sits at the live edge, so readyState may drop
      // back between chunks): the player's own counter says the video really played.
      await page.waitForFunction(() => {
        const v = document.querySelector<HTMLVideoElement>('video[aria-label="Live desktop video"]');
        return v !== null && v.videoWidth === 320 && v.buffered.length > 0 && v.getVideoPlaybackQuality().totalVideoFrames >= 1;
      }, undefined, { timeout: 15_000 });
      const buffered = () => page.evaluate(() => { const b = document.querySelector<HTMLVideoElement>('video')!.buffered; return b.end(b.length - 1); });
      const end = await buffered();
      assert.ok(end >= 3, `4 s of video buffered (got ${end})`);
      assert.equal(await page.locator('.live-video-note').count(), 0, 'no error note');
      await join(webm); // sent for another viewer: must not be appended again
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(await buffered(), end, 'a second join frame does not replay the stream');
    } finally {
      await sub.unsubscribe();
    }
  });

  it('watches a live AV1 desktop session (the launcher\'s own WebM) and plays its recording', async () => {
    const desk = await open('live-av1', { media: 'webm' });
    const webm = await launcherWebm('av1', 4);
    const { control } = t.server.services;
    const sub = await control.subscribeControl(desk.id, (m) => {
      if (m.type === 'snapshot-request') void control.publishLive(desk.id, { type: 'media', join: true, data: webm.toString('base64') });
    });
    try {
      await page.goto(`${t.base}/sessions/${desk.id}/live`);
      // A SourceBuffer made for VP8 would reject the AV1 track: frames decoded prove the type was read from the header.
      await page.waitForFunction(() => {
        const v = document.querySelector<HTMLVideoElement>('video[aria-label="Live desktop video"]');
        return v !== null && v.videoWidth === 320 && v.getVideoPlaybackQuality().totalVideoFrames >= 1;
      }, undefined, { timeout: 15_000 });
      assert.equal(await page.locator('.live-video-note').count(), 0, 'no error note');
    } finally {
      await sub.unsubscribe();
    }
    await putChunk(t.base, desk.token, desk.id, 0, webm);
    await close(desk);
    await page.goto(`${t.base}/sessions/${desk.id}/recording`);
    await page.waitForFunction(() => ((document.querySelector('video') as HTMLVideoElement | null)?.readyState ?? 0) >= 2, undefined, { timeout: 15_000 });
    await page.evaluate(() => { const v = document.querySelector('video')!; v.muted = true; void v.play(); });
    await page.waitForFunction(() => { const v = document.querySelector('video')!; return v.videoWidth === 320 && v.currentTime > 1 && v.getVideoPlaybackQuality().totalVideoFrames >= 2; }, undefined, { timeout: 15_000 });
  });

  it('sends a message, then terminates the session from the Terminate dialog', async () => {
    await page.goto(`${t.base}/`);
    const row = page.locator(`tbody[data-session-id="${liveSession.id}"]`);
    await row.getByRole('button', { name: 'Terminate' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('#control-text').fill('Please save your work');
    await screenshot(page, 'terminate-dialog');
    await dialog.getByRole('button', { name: 'Send message' }).click();
    await page.waitForSelector('.banner-success');
    const afterMessage = await admin.get(`/api/v1/sessions/${liveSession.id}`);
    assert.equal(afterMessage.body.status, 'active', 'a message does not end the session');
    const audit = await admin.get(`/api/v1/audit?action=session.message&targetId=${liveSession.id}`);
    assert.equal(audit.body.items.length, 1);

    await row.getByRole('button', { name: 'Terminate' }).click();
    await dialog.getByLabel(/Terminate the session/).check();
    await dialog.locator('#control-text').fill('Maintenance window closed');
    await dialog.getByRole('button', { name: 'Terminate session' }).click();
    await page.waitForFunction(() => document.querySelector('.banner-success')?.textContent?.includes('terminated'));
    const ended = await admin.get(`/api/v1/sessions/${liveSession.id}`);
    assert.equal(ended.body.status, 'terminated');
    assert.equal(ended.body.endReason, 'Maintenance window closed');
    await page.waitForFunction((id) => !document.querySelector(`tbody[data-session-id="${id}"]`), liveSession.id);
  });

  it('validates settings inline: a local rule and the API\'s own answer, each next to its field', async () => {
    await page.goto(`${t.base}/settings`);
    await page.waitForSelector('#s-deleteAfterDays');
    await page.check('#s-deleteEnabled');
    await page.fill('#s-deleteAfterDays', '0');
    await page.click('button:has-text("Save settings")');
    const local = page.locator('[data-field-error="s-deleteAfterDays"]');
    await local.waitFor();
    assert.match(await local.innerText(), /greater than or equal to 1/);

    // Valid by the schema, refused by the server: the directory cannot be created.
    await page.fill('#s-deleteAfterDays', '400');
    await page.check('#s-archiveEnabled');
    await page.fill('#s-archivePath', '/proc/vigil-cannot-create-this');
    await page.click('button:has-text("Save settings")');
    const server = page.locator('[data-field-error="s-archivePath"]');
    await server.waitFor();
    assert.ok((await server.innerText()).length > 5);
    await screenshot(page, 'settings');
    const saved = await admin.get('/api/v1/settings/session-recording');
    assert.equal(saved.body.archiveEnabled, false, 'nothing was saved');

    await page.uncheck('#s-archiveEnabled');
    await page.fill('#s-failClosedSeconds', '99999');
    await page.click('button:has-text("Save settings")');
    await page.locator('[data-field-error="s-failClosedSeconds"]').waitFor();
    await page.fill('#s-failClosedSeconds', '30');
    await page.check('#s-allowLocalForwarding');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('.banner-success');
    const after = (await admin.get('/api/v1/settings/session-recording')).body;
    assert.deepEqual([after.deleteAfterDays, after.failClosedSeconds, after.allowLocalForwarding], [400, 30, true]);
    assert.equal((await admin.put('/api/v1/settings/session-recording', { ...after, allowLocalForwarding: false })).status, 200);
  });

  it('shows attacker-controlled text as text: keystrokes, commands, window titles, file names, process arguments', async () => {
    await page.goto(`${t.base}/`);
    await page.getByRole('tab', { name: 'Ended sessions' }).click();
    await page.fill('input[aria-label="Search sessions"]', 'onerror');
    await page.click('button:has-text("Search")');
    const group = page.locator(`tbody[data-session-id="${xssSession.id}"]`);
    await group.waitFor();
    assert.ok((await group.locator('.hits').innerText()).includes('<img src=x onerror='));

    await page.goto(`${t.base}/sessions/${xssSession.id}/recording`);
    await page.waitForSelector('.grid-row[data-at="5000"]');
    const grid = await page.locator('.grid-table').innerText();
    assert.ok(grid.includes(`echo ${XSS_IMG}`), 'keystrokes');
    assert.ok(grid.includes(`echo ${XSS_SCRIPT}`), 'command');
    for (const at of [3000, 4000, 5000]) {
      await page.click(`.grid-row[data-at="${at}"]`);
      const details = await page.locator('section[aria-label="Details"]').innerText();
      assert.ok(details.includes(XSS_SCRIPT), `details at ${at}`);
      assert.ok(details.includes(XSS_IMG), `details at ${at}`);
    }
    await page.waitForFunction((want) => document.querySelector('.terminal')?.textContent?.includes(want), XSS_IMG);
    assert.ok((await page.locator('.terminal').innerText()).includes(XSS_SCRIPT), 'terminal output');
    await screenshot(page, 'recording-xss');
    assert.equal(await page.locator('.content img').count(), 0, 'no <img> was created from the payloads');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
    assert.deepEqual(watch.dialogs, []);
  });

  it('shows the other administration pages', async () => {
    const pages: Array<[string, string, string]> = [
      ['/secrets', 'table[aria-label="Secrets"]', 'secrets'],
      ['/users', 'table[aria-label="Users"]', 'users'],
      ['/ssh-keys', 'form', 'ssh-keys'],
      ['/audit', 'table[aria-label="Audit log"]', 'audit'],
    ];
    for (const [path, selector, name] of pages) {
      await page.goto(t.base + path);
      await page.waitForSelector(selector);
      await screenshot(page, name);
    }
    assert.ok((await page.locator('table[aria-label="Audit log"]').innerText()).includes('session.terminate'));
    await page.fill('#a-action', 'settings.*');
    await page.click('button:has-text("Filter")');
    await page.waitForFunction(() => [...document.querySelectorAll('table[aria-label="Audit log"] tbody tr td:nth-child(3)')].every((td) => td.textContent === 'settings.update'));
    // Secrets: a credential is write-only (the form never shows it).
    await page.goto(`${t.base}/secrets`);
    await page.getByRole('button', { name: 'Edit' }).first().click();
    assert.equal(await page.locator('dialog[open] #sec-password').count(), 0, 'edit keeps the credential unless a new one is chosen');
    assert.equal((await page.locator('dialog[open]').innerText()).includes('Target-Pa55'), false);
  });

  it('creates a user, a secret and an SSH key through the forms; the API\'s field errors show next to their field', async () => {
    const fieldError = async (id: string) => {
      const el = page.locator(`[data-field-error="${id}"]`);
      await el.waitFor();
      return el.innerText();
    };
    await page.goto(`${t.base}/users`);
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.locator('dialog[open]');
    const carol = uniqueName('carol');
    await dialog.locator('#u-name').fill(carol);
    await dialog.locator('#u-password').fill('short');
    await dialog.getByRole('button', { name: 'Save' }).click();
    assert.match(await fieldError('u-password'), /8/);
    await dialog.locator('#u-password').fill('long-enough-password');
    await dialog.getByLabel('Auditor').check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction((n) => document.querySelector('.banner-success')?.textContent?.includes(`User ${n} created`), carol);
    const created = (await admin.get('/api/v1/users')).body.items.find((u: { username: string }) => u.username === carol);
    assert.deepEqual(created.roles.map((r: { name: string }) => r.name), ['Auditor']);
    await page.waitForFunction((n) => document.querySelector('table[aria-label="Users"]')?.textContent?.includes(n), carol);

    await page.goto(`${t.base}/secrets`);
    await page.getByRole('button', { name: 'New secret' }).click();
    await dialog.locator('#sec-name').fill('bad name!');
    await dialog.locator('#sec-host').fill('db01.example.test');
    await dialog.locator('#sec-username').fill('postgres');
    await dialog.locator('#sec-password').fill('Db-Pa55-word');
    await dialog.getByRole('button', { name: 'Save' }).click();
    assert.ok((await fieldError('sec-name')).length > 3);
    const dbName = uniqueName('db-prod');
    await dialog.locator('#sec-name').fill(dbName);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction((n) => document.querySelector('.banner-success')?.textContent?.includes(`Secret ${n} created`), dbName);
    const sec = (await admin.get('/api/v1/secrets')).body.items.find((x: { name: string }) => x.name === dbName);
    assert.deepEqual([sec.host, sec.username, sec.credential.type], ['db01.example.test', 'postgres', 'password']);
    assert.equal((await page.locator('table[aria-label="Secrets"]').innerText()).includes('Db-Pa55-word'), false);

    await page.goto(`${t.base}/ssh-keys`);
    await page.fill('#k-public', 'ssh-ed25519 not-a-key');
    await page.click('button:has-text("Add key")');
    assert.ok((await fieldError('k-public')).length > 3);
  });

  it('a user without permissions sees neither Session Monitoring data nor its controls', async () => {
    const other = await ctx.browser()!.newContext();
    const p = await other.newPage();
    const w = watchPage(p);
    try {
      await signIn(p, nobody.username, nobody.password);
      const nav = await p.locator('nav[aria-label="Main"]').innerText();
      assert.equal(nav.includes('Session Monitoring'), false);
      assert.equal(nav.includes('Settings'), false);
      assert.equal(nav.includes('Audit log'), false);
      assert.equal(await p.locator('table.sessions-table').count(), 0);
      await p.goto(`${t.base}/sessions/${searchSession.id}/recording`);
      await p.waitForSelector('text=You do not have permission');
      assert.equal(await p.locator('.player, .grid-row, button:has-text("Terminate")').count(), 0);
      await p.goto(`${t.base}/settings`);
      await p.waitForSelector('text=You do not have permission');
      assert.equal(await p.locator('#s-enabled').count(), 0);
      assert.deepEqual(w.csp, []);
    } finally {
      await other.close();
    }
  });

  it('seeks back and forth in a long terminal recording through the seek index and lands on the same screen', async () => {
    const long = await open('long');
    // A header on row 1 above a scroll region (as full-screen programs draw), then 1.2 MB of
    // scrolling output below it: the header survives only if keyframes keep the scroll region.
    const lines = [JSON.stringify({ version: 2, width: 100, height: 24 }), JSON.stringify([0.5, 'o', '\x1b[1;1HHEADER-ROW\x1b[2;24r\x1b[24;1H'])];
    for (let sec = 1; sec <= 3000; sec++) lines.push(JSON.stringify([sec, 'o', `\x1b[3${sec % 8}mline-${sec}\x1b[0m ${'x'.repeat(400)}\r\n`]));
    await putChunk(t.base, long.token, long.id, 0, `${lines.join('\n')}\n`);
    await events(long, 'proxy', [100, 2000, 2900].map((sec) => ({ at: sec * 1000, type: 'command', text: `mark ${sec}` })));
    await close(long);
    const castSize = Buffer.byteLength(`${lines.join('\n')}\n`);
    const castRequests: Array<string | undefined> = [];
    const onRequest = (r: Request) => {
      if (r.url().includes(`/sessions/${long.id}/recording?format=cast`)) castRequests.push(r.headers().range);
    };
    page.on('request', onRequest);
    await page.goto(`${t.base}/sessions/${long.id}/recording`);
    const screenAt = async (sec: number) => {
      await page.click(`.grid-row[data-at="${sec * 1000}"]`);
      await waitCurrent(sec * 1000);
      await page.waitForFunction((want) => document.querySelector('.terminal')?.textContent?.includes(want), `line-${sec} `);
      return page.locator('.terminal').innerText();
    };
    const at2000 = await screenAt(2000);
    assert.equal(at2000.includes('line-2001'), false);
    assert.ok(at2000.startsWith('HEADER-ROW'), at2000.slice(0, 120));
    await screenAt(2900); // forwards: keyframes are kept on the way
    await screenAt(100); // backwards: restart from a keyframe
    assert.equal(await screenAt(2000), at2000, 'the same screen whichever way the player came');
    page.off('request', onRequest);
    // The player read the cast through the seek index: only Range requests, a fraction of it.
    assert.ok(castRequests.length >= 3, `cast requests: ${castRequests.length}`);
    let fetched = 0;
    for (const r of castRequests) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(r ?? '');
      assert.ok(m && Number(m[1]) > 0, `every cast request is a Range past the header: ${r}`);
      fetched += (m[2] ? Number(m[2]) : castSize - 1) - Number(m[1]) + 1;
    }
    assert.ok(fetched < castSize / 2, `fetched ${fetched} of ${castSize} bytes`);
  });

  it('plays a desktop recording in <video>, seeks it from the grid, and makes the MP4 on request', async () => {
    const desk = await open('desk', { media: 'webm' });
    const webm = await testWebm(8);
    await putChunk(t.base, desk.token, desk.id, 0, webm);
    await events(desk, 'agent', [
      { at: 1_000, type: 'window', text: 'Server Manager', details: { title: 'Server Manager', app: 'ServerManager.exe' } },
      { at: 5_000, type: 'process-start', text: 'regedit.exe', details: { path: 'C:\\Windows\\regedit.exe', pid: 900 } },
    ]);
    await close(desk);
    await page.goto(`${t.base}/sessions/${desk.id}/recording`);
    await page.waitForFunction(() => ((document.querySelector('video') as HTMLVideoElement | null)?.readyState ?? 0) >= 1, undefined, { timeout: 10_000 });
    assert.match((await page.locator('video').getAttribute('src'))!, /format=webm/);
    assert.equal(await page.getByRole('button', { name: 'Request video processing' }).count(), 1);
    await page.click('.grid-row[data-at="5000"]');
    await page.waitForFunction(() => Math.abs((document.querySelector('video') as HTMLVideoElement).currentTime - 5) < 0.5, undefined, { timeout: 10_000 });
    await screenshot(page, 'recording-desktop');
    // Request video processing: progress while the worker converts, then the MP4 plays.
    await page.getByRole('button', { name: 'Request video processing' }).click();
    await page.waitForSelector('[aria-label="Video processing"], button:has-text("MP4 (H.264)")', { timeout: 30_000 });
    await page.getByRole('button', { name: 'MP4 (H.264)' }).click({ timeout: 60_000 });
    await page.waitForFunction(() => /format=mp4/.test((document.querySelector('video') as HTMLVideoElement | null)?.getAttribute('src') ?? ''), undefined, { timeout: 10_000 });
    await page.waitForFunction(() => ((document.querySelector('video') as HTMLVideoElement | null)?.readyState ?? 0) >= 1, undefined, { timeout: 10_000 });
    assert.ok(await page.getByRole('link', { name: /Video \(\.mp4\)/ }).isVisible(), 'the MP4 can be downloaded');
    const audit = await admin.get(`/api/v1/audit?action=recording.processing-request&targetId=${desk.id}`);
    assert.equal(audit.body.items.length, 1);
  });

  it('enrolls an agent with a token made on the Agents page, shows its status as text, and deactivates it', async () => {
    await page.goto(`${t.base}/agents`);
    await page.getByText('No agent is enrolled yet').waitFor();
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const token = (await page.locator('.token-value').innerText()).trim();
    assert.match(token, /^vge_/);
    assert.ok((await page.locator('.enroll-token').innerText()).includes(`vigil agent enroll --server ${t.base}`));
    // The host enrolls (as `vigil agent enroll` does) and reports its status with its own credential.
    const enrolled = await new Api(t.base).post('/api/v1/agents/enroll', { token, hostName: 'db01.example.test', version: '0.1.0', addresses: ['192.0.2.10', XSS_IMG] });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const status = {
      processCapture: 'proc-connector', processCaptureTool: 'vigil-proc-connector', processEventsLost: 0, processCaptureError: null, logins: 'proc', window: 'off',
      activeLogins: 2, heldSessions: 1, spool: { events: 0, bytes: 0, dropped: 0 }, counters: { processStarts: 10, processStops: 9, delivered: 19 },
    };
    const beat = await new Api(t.base, enrolled.body.credential).post('/api/v1/agent/heartbeat', { hostName: 'db01.example.test', version: '0.1.0', addresses: ['192.0.2.10', XSS_IMG], status });
    assert.equal(beat.status, 200, JSON.stringify(beat.body));
    await page.reload();
    const row = page.locator('table[aria-label="Agents"] tbody tr', { hasText: 'db01.example.test' });
    await row.waitFor();
    const text = await row.innerText();
    assert.ok(text.includes('online'));
    assert.ok(text.includes('processes: proc-connector (vigil-proc-connector)'));
    assert.ok(text.includes(XSS_IMG), 'a reported address is shown as text');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.locator('table[aria-label="Agents"] img').count(), 0);
    await screenshot(page, 'agents');
    await row.getByRole('button', { name: 'Deactivate' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Deactivate' }).click();
    await page.waitForFunction(() => document.querySelector('table[aria-label="Agents"]')?.textContent?.includes('deactivated'));
    assert.ok((await page.locator('.notice, [role=status]').first().innerText()).includes('db01.example.test'));
    const again = await new Api(t.base, enrolled.body.credential).post('/api/v1/agent/heartbeat', { hostName: 'db01.example.test', version: '0.1.0', addresses: [], status });
    assert.notEqual(again.status, 200, 'a deactivated agent is refused');
    const actions = (await admin.get('/api/v1/audit?action=agent.*&limit=50')).body.items.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('agent.enrollment-token.create'));
    assert.ok(actions.some((a: string) => a.startsWith('agent.deactivate')), JSON.stringify(actions));
  });

  it('raised no CSP violation, page error or dialog on any page', () => {
    assert.deepEqual(watch.csp, []);
    assert.deepEqual(watch.errors, []);
    assert.deepEqual(watch.dialogs, []);
  });
});
