import { parseSequenceHeader, readTemporalUnit, splitObus } from './av1.ts';

/** One encoded frame from an IVF stream (what ffmpeg writes with `-f ivf`). */
export interface IvfFrame {
  /** Presentation time in milliseconds from the stream's first frame. */
  ptsMs: number;
  keyframe: boolean;
  data: Buffer;
}

export type VideoCodec = 'vp8' | 'vp9' | 'av1';

export interface IvfHeader {
  codec: VideoCodec;
  width: number;
  height: number;
  /** AV1: the first sequence header OBU seen (the WebM track's CodecPrivate is built from it). */
  sequenceHeader?: Buffer;
}

const FOURCC: Record<string, VideoCodec> = { VP80: 'vp8', VP90: 'vp9', AV01: 'av1' };

/**
 * Incremental IVF parser: a 32-byte file header (`DKIF`, fourcc, width, height, time base), then
 * frames of a 12-byte header (size, 64-bit pts) and the payload. VP8 and VP9 mark a keyframe with
 * bit 0 of the first byte (VP8: 0 = key; VP9: frame type bit in the uncompressed header).
 * AV1 frames are temporal units of OBUs: the first frame header tells a key frame, and the
 * temporal delimiter OBUs ffmpeg's IVF muxer inserts are dropped (Matroska blocks carry none).
 */
export class IvfReader {
  private buf: Buffer = Buffer.alloc(0);
  header: IvfHeader | null = null;
  private timeBase = 1;
  private reducedStill = false;

  push(data: Buffer): IvfFrame[] {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const out: IvfFrame[] = [];
    if (!this.header) {
      if (this.buf.length < 32) return out;
      if (this.buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error('the encoder did not produce an IVF stream');
      const fourcc = this.buf.toString('ascii', 8, 12);
      const den = this.buf.readUInt32LE(16);
      const num = this.buf.readUInt32LE(20);
      this.timeBase = den > 0 ? (num * 1000) / den : 1;
      const codec = FOURCC[fourcc];
      if (!codec) throw new Error(`the encoder produced ${JSON.stringify(fourcc)} video, not VP8, VP9 or AV1`);
      this.header = { codec, width: this.buf.readUInt16LE(12), height: this.buf.readUInt16LE(14) };
      this.buf = this.buf.subarray(this.buf.readUInt16LE(6) || 32);
    }
    let off = 0;
    while (this.buf.length - off >= 12) {
      const size = this.buf.readUInt32LE(off);
      if (this.buf.length - off < 12 + size) break;
      const pts = Number(this.buf.readBigUInt64LE(off + 4));
      const data = Buffer.from(this.buf.subarray(off + 12, off + 12 + size));
      const ptsMs = Math.round(pts * this.timeBase);
      if (this.header.codec === 'av1') {
        const tu = readTemporalUnit(data, this.reducedStill);
        if (tu.sequenceHeader) {
          this.header.sequenceHeader ??= Buffer.from(tu.sequenceHeader);
          this.reducedStill = parseSequenceHeader(splitObus(tu.sequenceHeader)[0]!.payload).reducedStillPictureHeader;
        }
        out.push({ ptsMs, keyframe: tu.keyframe, data: tu.data });
      } else {
        out.push({ ptsMs, keyframe: isKeyframe(this.header.codec, data), data });
      }
      off += 12 + size;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }
}

function isKeyframe(codec: 'vp8' | 'vp9', data: Buffer): boolean {
  if (data.length === 0) return false;
  if (codec === 'vp8') return (data[0]! & 0x01) === 0;
  // VP9 uncompressed header: frame_marker(2) profile_low(1) profile_high(1) [reserved(1) if profile 3]
  // show_existing_frame(1) frame_type(1, 0 = key).
  const b = data[0]!;
  const profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
  let bit = profile === 3 ? 5 : 4; // bits consumed so far, counting from the most significant
  const showExisting = (b >> (7 - bit)) & 1;
  if (showExisting) return false;
  bit += 1;
  return ((b >> (7 - bit)) & 1) === 0;
}
