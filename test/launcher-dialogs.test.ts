import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { changedArea } from '../src/launcher/screen-capture.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ActiveWindowWatcher, DIALOG_INSTANCE, OwnDialogs, parseDialogWindows } from '../src/launcher/x11.ts';
import { startXvfb, until, type XDisplay } from './helpers/xvfb.ts';

/**
 * The launcher's own dialogs must not count as the user's activity (an inactivity warning that
 * kept an idle session alive would defeat the limit): their windows are found on a real X
 * server and their screen areas masked from the activity measure.
 */
describe('launcher dialogs are not user activity', () => {
  let x: XDisplay;
  before(async () => {
    x = await startXvfb({ size: '640x480' });
  });
  after(async () => {
    await x?.stop();
  });
  const withDialogs = async (opts: ConstructorParameters<typeof OwnDialogs>[1], fn: (dialogs: OwnDialogs) => Promise<void>) => {
    const dialogs = new OwnDialogs(x.display, opts);
    try {
      await fn(dialogs);
    } finally {
      dialogs.stop();
    }
  };

  it('finds a dialog window on the display, masks it while shown and a moment after it goes', async () => {
    await withDialogs({ settleMs: 800, margin: 10 }, async (dialogs) => {
      assert.equal(dialogs.quiet, false);
      assert.deepEqual(dialogs.mask(), []);
      dialogs.show('Vigil: test dialog', 'Some <b>text</b> for the user', { timeoutSeconds: 3 });
      assert.equal(dialogs.quiet, true, 'quiet until the window is found');
      const [rect] = await until('the dialog window', () => (dialogs.mask().length === 1 ? dialogs.mask() : null));
      // xmessage -center: the middle of the 640×480 screen is inside the dialog's area.
      assert.ok(rect!.x < 320 && rect!.x + rect!.width > 320 && rect!.y < 240 && rect!.y + rect!.height > 240, JSON.stringify(rect));
      assert.ok(rect!.width < 640 || rect!.height < 480, 'the dialog does not cover the whole screen');
      const tree = await x.tree();
      assert.ok(tree.includes(DIALOG_INSTANCE));
      await until('the end of the settling time', () => !dialogs.quiet, 3000);
      // The dialog times out after 3 s: its area stays masked for the settling time, then clears.
      await until('the dialog to go', async () => !(await x.tree()).includes(DIALOG_INSTANCE), 10_000);
      await until('the mask to clear', () => dialogs.mask().length === 0, 5000);
      await until('quiet to end', () => !dialogs.quiet, 3000);
    });
  });

  it('follows a dialog the window manager or the user moves: the mask moves with it and the move is quiet', async () => {
    await withDialogs({ settleMs: 800, margin: 10 }, async (dialogs) => {
      dialogs.show('Vigil: moving dialog', 'This dialog will be moved', { timeoutSeconds: 20 });
      const [first] = await until('the dialog window', () => (dialogs.mask().length === 1 ? dialogs.mask() : null));
      await until('the end of the settling time', () => !dialogs.quiet, 5000);
      const id = (await x.x('xdotool', ['search', '--classname', DIALOG_INSTANCE])).trim().split('\n')[0]!;
      await x.x('xdotool', ['windowmove', '--sync', id, '15', '330']);
      const moved = await until('the moved window in the tree', async () => {
        const r = parseDialogWindows(await x.tree(), 10)[0];
        return r && (r.x !== first!.x || r.y !== first!.y) ? r : null;
      });
      // Read again within a second or so: the new place is masked, quiet again for the settling time.
      await until('the mask to follow', () => dialogs.mask().some((r) => r.x === moved.x && r.y === moved.y && r.width === moved.width), 3000);
      assert.equal(dialogs.quiet, true, 'a dialog that moved settles again');
      await until('the old place to leave the mask', () => !dialogs.mask().some((r) => r.x === first!.x && r.y === first!.y), 3000);
    });
  });

  it('a dialog taking the focus starts a settling time without a new dialog', async () => {
    await withDialogs({ settleMs: 300 }, async (dialogs) => {
      assert.equal(dialogs.quiet, false);
      dialogs.settle();
      assert.equal(dialogs.quiet, true);
      assert.deepEqual(dialogs.mask(), [], 'settling masks nothing');
      await until('the settling time to pass', () => !dialogs.quiet, 2000);
    });
  });

  it('with a window manager that moves the focus, stays quiet until the new dialog has taken it', async () => {
    await withDialogs({ settleMs: 300, findWithinMs: 4000 }, async (dialogs) => {
      dialogs.focusFollows = true;
      dialogs.show('Vigil: focus test', 'Waiting for the focus', { timeoutSeconds: 10 });
      await until('the dialog window', () => dialogs.mask().length === 1);
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(dialogs.quiet, true, 'found and settled, but the focus has not moved yet');
      dialogs.settle(); // what the session calls when the active window becomes the dialog
      await until('the settling time after the focus moved', () => !dialogs.quiet, 2000);
    });
  });

  it('the active-window watcher leaves no xprop behind once stopped, even with changes in flight', async () => {
    const xprops = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.includes('(xprop)') && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
    const apps = [0, 1].map((i) => spawn('xlogo', ['-geometry', `100x100+${10 + i * 200}+10`, '-title', `watch-${i}`], { env: { ...process.env, ...x.env }, stdio: 'ignore' }));
    try {
      const ids = await until('two windows', async () => {
        const out = (await x.x('xdotool', ['search', '--name', '^watch-']).catch(() => '')).trim().split('\n').filter(Boolean);
        return out.length === 2 ? out : null;
      });
      for (let round = 0; round < 5; round++) {
        const seen: string[] = [];
        const w = new ActiveWindowWatcher(x.display, (info) => seen.push(info.title));
        w.start();
        await x.x('xdotool', ['windowactivate', '--sync', ids[round % 2]!]);
        await until('a window change', () => seen.length > 0, 5000);
        // Activate again and stop at once: the change is in flight as the watcher stops.
        void x.x('xdotool', ['windowactivate', ids[(round + 1) % 2]!]).catch(() => undefined);
        w.stop();
        await new Promise((r) => setTimeout(r, 400));
        assert.deepEqual(xprops(), [], `round ${round}: xprop processes left running`);
      }
    } finally {
      for (const a of apps) a.kill();
    }
  });

  it('parses xwininfo tree lines of the dialogs only, at their absolute position', () => {
    const tree = [
      '     0x400001 (has no name): ()  300x100+170+190  +170+190',
      '        0xa00003 "Vigil: your session will end soon": ("vigil-dialog" "Xmessage")  296x77+0+21  +172+211',
      '     0xc00002 "xlogo": ("xlogo" "XLogo")  200x200+10+10  +10+10',
      '     0xc00009 "off": ("vigil-dialog" "Xmessage")  50x40+0+0  +-5+-7',
    ].join('\n');
    assert.deepEqual(parseDialogWindows(tree), [
      { x: 172, y: 211, width: 296, height: 77 },
      { x: -5, y: -7, width: 50, height: 40 },
    ]);
    assert.deepEqual(parseDialogWindows(tree, 4)[0], { x: 168, y: 207, width: 304, height: 85 });
  });

  it('counts changed pixels outside the mask only, and says where they are', () => {
    // A 4×4 quarter-size picture: pixel i is at (i % 4, i / 4), 4 screen pixels a side.
    const a = Buffer.alloc(16, 0);
    const b = Buffer.alloc(16, 0);
    b[0] = 200;
    b[6] = 200;
    b[15] = 3; // below the noise threshold
    assert.deepEqual(changedArea(a, b, 4), { fraction: 2 / 16, box: { x: 0, y: 0, width: 12, height: 8 } });
    const mask = new Uint8Array(16);
    mask[6] = 1;
    assert.deepEqual(changedArea(a, b, 4, mask), { fraction: 1 / 16, box: { x: 0, y: 0, width: 4, height: 4 } });
    mask[0] = 1;
    assert.deepEqual(changedArea(a, b, 4, mask), { fraction: 0 });
  });
});
