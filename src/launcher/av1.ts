/**
 * Just enough AV1 bitstream reading for the launcher's WebM writer (AV1 spec §5; Matroska/WebM
 * AV1 codec mapping): split a temporal unit into OBUs, tell whether it starts a key frame, drop
 * the temporal delimiters Matroska blocks must not carry, and build the `av1C` record that is the
 * track's CodecPrivate from the sequence header.
 */

export const OBU = { sequenceHeader: 1, temporalDelimiter: 2, frameHeader: 3, tileGroup: 4, metadata: 5, frame: 6, redundantFrameHeader: 7, tileList: 8, padding: 15 } as const;

export interface Obu {
  type: number;
  /** The whole OBU (header, size field and payload) as it stands in the temporal unit. */
  bytes: Buffer;
  payload: Buffer;
}

function leb128(buf: Buffer, at: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[at + i];
    if (b === undefined) throw new Error('AV1: truncated leb128');
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new Error('AV1: leb128 too long');
}

/** The OBUs of one temporal unit (low-overhead format: every OBU has its size field, as libaom writes). */
export function splitObus(tu: Buffer): Obu[] {
  const out: Obu[] = [];
  let off = 0;
  while (off < tu.length) {
    const h = tu[off]!;
    const type = (h >> 3) & 0x0f;
    const ext = (h >> 2) & 1;
    const hasSize = (h >> 1) & 1;
    const headerLen = 1 + ext;
    let payloadAt = off + headerLen;
    let size: number;
    if (hasSize) {
      const s = leb128(tu, payloadAt);
      size = s.value;
      payloadAt += s.length;
    } else {
      size = tu.length - payloadAt; // the last OBU may omit its size
    }
    const end = payloadAt + size;
    if (end > tu.length) throw new Error('AV1: OBU runs past the temporal unit');
    out.push({ type, bytes: tu.subarray(off, end), payload: tu.subarray(payloadAt, end) });
    off = end;
  }
  return out;
}

class Bits {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  f(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.pos >> 3];
      if (byte === undefined) throw new Error('AV1: sequence header too short');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
  uvlc(): number {
    let zeros = 0;
    while (this.f(1) === 0) zeros++;
    return zeros >= 32 ? 2 ** 32 - 1 : this.f(zeros) + 2 ** zeros - 1;
  }
}

export interface SequenceHeader {
  profile: number;
  level: number;
  tier: number;
  bitDepth: 8 | 10 | 12;
  monochrome: boolean;
  subsamplingX: number;
  subsamplingY: number;
  chromaSamplePosition: number;
  reducedStillPictureHeader: boolean;
}

/** The fields of a sequence header OBU's payload that `av1C` and the codec string repeat (spec 5.5). */
export function parseSequenceHeader(payload: Buffer): SequenceHeader {
  const r = new Bits(payload);
  const profile = r.f(3);
  r.f(1); // still_picture
  const reduced = r.f(1) === 1;
  let level = 0;
  let tier = 0;
  if (reduced) {
    level = r.f(5);
  } else {
    let decoderModelInfo = false;
    let bufferDelayLength = 0;
    if (r.f(1)) { // timing_info_present_flag
      r.f(32); r.f(32); // num_units_in_display_tick, time_scale
      if (r.f(1)) r.uvlc(); // equal_picture_interval → num_ticks_per_picture_minus_1
      decoderModelInfo = r.f(1) === 1;
      if (decoderModelInfo) {
        bufferDelayLength = r.f(5) + 1;
        r.f(32); // num_units_in_decoding_tick
        r.f(5); r.f(5); // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelay = r.f(1) === 1;
    const points = r.f(5) + 1;
    for (let i = 0; i < points; i++) {
      r.f(12); // operating_point_idc
      const lvl = r.f(5);
      const t = lvl > 7 ? r.f(1) : 0;
      if (i === 0) {
        level = lvl;
        tier = t;
      }
      if (decoderModelInfo && r.f(1)) {
        r.f(bufferDelayLength); r.f(bufferDelayLength); r.f(1);
      }
      if (initialDisplayDelay && r.f(1)) r.f(4);
    }
  }
  const wBits = r.f(4) + 1;
  const hBits = r.f(4) + 1;
  r.f(wBits); r.f(hBits);
  if (!reduced && r.f(1)) { r.f(4); r.f(3); } // frame_id_numbers_present_flag
  r.f(1); r.f(1); r.f(1); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.f(1); r.f(1); r.f(1); r.f(1); // interintra, masked compound, warped motion, dual filter
    const orderHint = r.f(1) === 1;
    if (orderHint) { r.f(1); r.f(1); } // jnt_comp, ref_frame_mvs
    const forceScreenContent = r.f(1) ? 2 : r.f(1); // seq_choose_screen_content_tools → SELECT
    if (forceScreenContent > 0 && r.f(1) === 0) r.f(1); // seq_choose_integer_mv, else seq_force_integer_mv
    if (orderHint) r.f(3);
  }
  r.f(1); r.f(1); r.f(1); // superres, cdef, restoration
  // color_config (5.5.2)
  const high = r.f(1) === 1;
  const bitDepth = profile === 2 && high ? (r.f(1) ? 12 : 10) : high ? 10 : 8;
  const monochrome = profile === 1 ? false : r.f(1) === 1;
  let cp = 2, tc = 2, mc = 2;
  if (r.f(1)) { cp = r.f(8); tc = r.f(8); mc = r.f(8); }
  let sx = 1, sy = 1, csp = 0;
  if (monochrome) {
    r.f(1);
  } else if (cp === 1 && tc === 13 && mc === 0) {
    sx = 0; sy = 0;
  } else {
    r.f(1); // color_range
    if (profile === 0) { sx = 1; sy = 1; } else if (profile === 1) { sx = 0; sy = 0; } else if (bitDepth === 12) {
      sx = r.f(1);
      sy = sx ? r.f(1) : 0;
    } else { sx = 1; sy = 0; }
    if (sx && sy) csp = r.f(2);
  }
  return { profile, level, tier, bitDepth, monochrome, subsamplingX: sx, subsamplingY: sy, chromaSamplePosition: csp, reducedStillPictureHeader: reduced };
}

/** The `av1C` box's payload (AV1 ISOBMFF binding §2.3): four bytes of fields, then the sequence header OBU. */
export function av1CodecConfiguration(sequenceHeaderObu: Buffer): Buffer {
  const obu = splitObus(sequenceHeaderObu)[0];
  if (!obu || obu.type !== OBU.sequenceHeader) throw new Error('AV1: not a sequence header OBU');
  const s = parseSequenceHeader(obu.payload);
  const head = Buffer.from([
    0x81, // marker 1, version 1
    (s.profile << 5) | s.level,
    (s.tier << 7) | (s.bitDepth > 8 ? 0x40 : 0) | (s.bitDepth === 12 ? 0x20 : 0) | (s.monochrome ? 0x10 : 0) | (s.subsamplingX << 3) | (s.subsamplingY << 2) | s.chromaSamplePosition,
    0x00, // no initial presentation delay
  ]);
  return Buffer.concat([head, obu.bytes]);
}

/** RFC 6381 / AV1 codec string for MSE, e.g. `av01.0.08M.08`. */
export function av1CodecString(s: SequenceHeader): string {
  return `av01.${s.profile}.${String(s.level).padStart(2, '0')}${s.tier ? 'H' : 'M'}.${String(s.bitDepth).padStart(2, '0')}`;
}

export interface Av1TemporalUnit {
  /** The temporal unit without temporal delimiters, padding and tile lists, as a Matroska block carries it. */
  data: Buffer;
  /** A shown KEY_FRAME: decoding may start here. */
  keyframe: boolean;
  /** The sequence header OBU (whole OBU) when the unit has one. */
  sequenceHeader: Buffer | null;
}

/**
 * Reads one temporal unit. `reducedStillPictureHeader` comes from the stream's sequence header
 * (when set, every frame is a shown key frame; libaom's realtime mode never sets it).
 */
export function readTemporalUnit(tu: Buffer, reducedStillPictureHeader = false): Av1TemporalUnit {
  const obus = splitObus(tu);
  let keyframe = false;
  let seenFrame = false;
  let sequenceHeader: Buffer | null = null;
  let reduced = reducedStillPictureHeader;
  const kept: Buffer[] = [];
  for (const o of obus) {
    if (o.type === OBU.temporalDelimiter || o.type === OBU.padding || o.type === OBU.tileList) continue;
    kept.push(o.bytes);
    if (o.type === OBU.sequenceHeader) {
      sequenceHeader = o.bytes;
      reduced = parseSequenceHeader(o.payload).reducedStillPictureHeader;
    } else if ((o.type === OBU.frame || o.type === OBU.frameHeader) && !seenFrame) {
      // The unit's first frame header decides (5.9.2): show_existing_frame(1), frame_type(2), show_frame(1).
      seenFrame = true;
      if (reduced) {
        keyframe = true;
      } else {
        const b = o.payload[0] ?? 0xff;
        const showExisting = b >> 7;
        const frameType = (b >> 5) & 3;
        const showFrame = (b >> 4) & 1;
        keyframe = showExisting === 0 && frameType === 0 && showFrame === 1;
      }
    }
  }
  return { data: kept.length === obus.length ? tu : Buffer.concat(kept), keyframe, sequenceHeader };
}
