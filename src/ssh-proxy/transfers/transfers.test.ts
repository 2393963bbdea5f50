import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileOperation, FileTransfer } from './file-transfer.ts';
import { parseScpCommand, ScpObserver } from './scp.ts';
import { SftpObserver } from './sftp.ts';

describe('scp', () => {
  it('reads direction and path from the remote command', () => {
    assert.deepEqual(parseScpCommand('scp -t /tmp/x'), { direction: 'upload', path: '/tmp/x', recursive: false });
    assert.deepEqual(parseScpCommand("scp -r -f -- '/srv/my dir'"), { direction: 'download', path: '/srv/my dir', recursive: true });
    assert.equal(parseScpCommand('ls -t /tmp'), undefined);
  });

  it('follows files and directories in the protocol stream, contents skipped', () => {
    const files: FileTransfer[] = [];
    const o = new ScpObserver({ direction: 'upload', path: '/dst', recursive: true }, (t) => files.push(t));
    const stream = Buffer.concat([Buffer.from('D0755 0 d\nC0644 5 a.txt\n'), Buffer.from('hello'), Buffer.from([0]), Buffer.from('C0600 0 empty\nE\n')]);
    for (let i = 0; i < stream.length; i += 3) o.feed(stream.subarray(i, i + 3)); // any chunking
    assert.deepEqual(files.map((f) => [f.path, f.bytes, f.size, f.complete]), [['/dst/d/a.txt', 5, 5, true], ['/dst/d/empty', 0, 0, true]]);
  });
});

const str = (s: string | Buffer): Buffer => {
  const b = Buffer.from(s);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const packet = (type: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
};

describe('sftp', () => {
  it('reports uploads, downloads and operations from OPEN/HANDLE/WRITE/READ/DATA/CLOSE', () => {
    const files: FileTransfer[] = [];
    const ops: FileOperation[] = [];
    const o = new SftpObserver((t) => files.push(t), (op) => ops.push(op));
    const h = Buffer.from('h1');
    o.fromClient(packet(3, u32(1), str('/up.bin'), u32(0x1a), u32(0)));
    o.fromTarget(packet(102, u32(1), str(h)));
    const data = Buffer.alloc(40_000, 7);
    const write = packet(6, u32(2), str(h), Buffer.alloc(8), str(data));
    o.fromClient(write.subarray(0, 100));
    o.fromClient(write.subarray(100));
    o.fromClient(packet(4, u32(3), str(h)));
    o.fromClient(packet(3, u32(4), str('/down.bin'), u32(1), u32(0)));
    o.fromTarget(packet(102, u32(4), str('h2')));
    o.fromClient(packet(5, u32(5), str('h2'), Buffer.alloc(8), u32(32768)));
    o.fromTarget(packet(103, u32(5), str(Buffer.alloc(1000))));
    o.fromClient(packet(200, u32(6), str('posix-rename@openssh.com'), str('/a'), str('/b')));
    o.end();
    assert.deepEqual(files.map((f) => [f.direction, f.path, f.bytes, f.complete]), [['upload', '/up.bin', 40_000, true], ['download', '/down.bin', 1000, false]]);
    assert.deepEqual(ops, [{ protocol: 'sftp', operation: 'rename', path: '/a', to: '/b' }]);
  });
});
