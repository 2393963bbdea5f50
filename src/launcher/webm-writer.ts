import { av1CodecConfiguration } from './av1.ts';
import type { VideoCodec } from './ivf-reader.ts';

/**
 * A live WebM muxer for the launcher's screen video. Every encoded frame is written the moment it
 * arrives (a SimpleBlock), so a chunk cut each second and a live viewer are never behind by more
 * than the encoder; ffmpeg's own muxer holds a whole cluster back until the next one starts.
 *
 * Layout: EBML header, Segment of unknown size, Info, Tracks — the *init segment* a Media Source
 * needs first — then Clusters of unknown size, each keyframe starting one. The timecode scale is
 * 10 ms, so a cluster spans at most 327 s: when keyframes (large on a 1080p screen) are further
 * apart, a new cluster starts with an inter frame (Matroska allows it; players decode on from the
 * keyframe before). The server remuxes the result into a seekable file at session end.
 */

const CODEC_ID: Record<VideoCodec, string> = { vp8: 'V_VP8', vp9: 'V_VP9', av1: 'V_AV1' };

export const TIMECODE_SCALE_NS = 10_000_000;
const UNIT_MS = TIMECODE_SCALE_NS / 1_000_000;
const MAX_RELATIVE = 32767;

const ID = {
  EBML: 0x1a45dfa3, EBMLVersion: 0x4286, EBMLReadVersion: 0x42f7, EBMLMaxIDLength: 0x42f2, EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282, DocTypeVersion: 0x4287, DocTypeReadVersion: 0x4285,
  Segment: 0x18538067, Info: 0x1549a966, TimecodeScale: 0x2ad7b1, MuxingApp: 0x4d80, WritingApp: 0x5741,
  Tracks: 0x1654ae6b, TrackEntry: 0xae, TrackNumber: 0xd7, TrackUID: 0x73c5, TrackType: 0x83, FlagLacing: 0x9c, CodecID: 0x86,
  CodecPrivate: 0x63a2, Video: 0xe0, PixelWidth: 0xb0, PixelHeight: 0xba,
  Cluster: 0x1f43b675, Timecode: 0xe7, SimpleBlock: 0xa3,
} as const;

function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
}

function sizeBytes(n: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const b = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        b[i] = v & 0xff;
        v = Math.floor(v / 256);
      }
      b[0]! |= 1 << (8 - len);
      return b;
    }
  }
  throw new Error('EBML element too large');
}

const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function el(id: number, body: Buffer): Buffer {
  return Buffer.concat([idBytes(id), sizeBytes(body.length), body]);
}
function uint(id: number, v: number): Buffer {
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return el(id, Buffer.from(bytes.length ? bytes : [0]));
}
const str = (id: number, v: string): Buffer => el(id, Buffer.from(v, 'utf8'));

export class WebmWriter {
  private clusterStart: number | null = null;
  private lastTime = -1;
  /** Bytes of the init segment (header up to the first cluster), for viewers that join late. */
  readonly init: Buffer;
  /** Bytes since the last keyframe (its cluster first), for viewers that join late. */
  private sinceKey: Buffer[] = [];

  constructor(opts: { codec: VideoCodec; width: number; height: number; sequenceHeader?: Buffer }) {
    if (opts.codec === 'av1' && !opts.sequenceHeader) throw new Error('an AV1 track needs the sequence header for its CodecPrivate');
    const header = el(ID.EBML, Buffer.concat([
      uint(ID.EBMLVersion, 1), uint(ID.EBMLReadVersion, 1), uint(ID.EBMLMaxIDLength, 4), uint(ID.EBMLMaxSizeLength, 8),
      str(ID.DocType, 'webm'), uint(ID.DocTypeVersion, 2), uint(ID.DocTypeReadVersion, 2),
    ]));
    const info = el(ID.Info, Buffer.concat([uint(ID.TimecodeScale, TIMECODE_SCALE_NS), str(ID.MuxingApp, 'vigil-launcher'), str(ID.WritingApp, 'vigil-launcher')]));
    const tracks = el(ID.Tracks, el(ID.TrackEntry, Buffer.concat([
      uint(ID.TrackNumber, 1), uint(ID.TrackUID, 1), uint(ID.TrackType, 1), uint(ID.FlagLacing, 0),
      str(ID.CodecID, CODEC_ID[opts.codec]),
      // AV1 (Matroska codec mapping): CodecPrivate is the av1C record with the sequence header.
      ...(opts.codec === 'av1' ? [el(ID.CodecPrivate, av1CodecConfiguration(opts.sequenceHeader!))] : []),
      el(ID.Video, Buffer.concat([uint(ID.PixelWidth, opts.width), uint(ID.PixelHeight, opts.height)])),
    ])));
    this.init = Buffer.concat([header, idBytes(ID.Segment), UNKNOWN_SIZE, info, tracks]);
  }

  /**
   * The bytes for one frame at `timeMs` (milliseconds from the recording's origin): a new
   * cluster first when the frame is a keyframe or the cluster's relative timecode would overflow.
   */
  frame(timeMs: number, keyframe: boolean, data: Buffer): Buffer {
    let t = Math.max(0, Math.round(timeMs / UNIT_MS));
    if (t <= this.lastTime) t = this.lastTime + 1; // strictly increasing, as players expect
    this.lastTime = t;
    const parts: Buffer[] = [];
    if (this.clusterStart === null || keyframe || t - this.clusterStart > MAX_RELATIVE) {
      this.clusterStart = t;
      if (keyframe) this.sinceKey = [];
      parts.push(idBytes(ID.Cluster), UNKNOWN_SIZE, uint(ID.Timecode, t));
    }
    const head = Buffer.alloc(4);
    head[0] = 0x81; // track 1
    head.writeInt16BE(t - this.clusterStart, 1);
    head[3] = keyframe ? 0x80 : 0x00;
    parts.push(el(ID.SimpleBlock, Buffer.concat([head, data])));
    const out = Buffer.concat(parts);
    this.sinceKey.push(out);
    return out;
  }

  /** What a viewer joining now needs: the init segment and everything from the last keyframe on. */
  joinPoint(): Buffer {
    return Buffer.concat([this.init, ...this.sinceKey]);
  }

  get timeMs(): number {
    return this.lastTime < 0 ? 0 : this.lastTime * UNIT_MS;
  }
}
