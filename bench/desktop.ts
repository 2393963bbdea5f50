import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, Api, startTestServer, uniqueName } from '../test/helpers/server.ts';
import { tempDir } from '../test/helpers/stores.ts';
import { startXvfb, until, type XDisplay } from '../test/helpers/xvfb.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS, type SessionRecordingSettings } from '../src/protocol/settings.ts';
import { recordResult } from './record.ts';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const HZ = 100; // clock ticks per second in /proc/<pid>/stat
const GOALS = { mbPerHourTyping: 5, kbitPerSecond: 30, cpuPercent: 10 };

/** What changed, where the bytes go, and the earlier runs as history: docs/PERFORMANCE.md `## desktop` after the generated table (today all of it is hand-written); keep the two in step when re-recording. */
const ANALYSIS = [
  '',
  '### Current code at the issue\'s lengths (2026-12-03, sessions 7–8)',
  '',
  'AV1 (libaom realtime `-cpu-used 7`, `tune-content=screen:enable-order-hint=0`, q 30), a keyframe after every 600 encoded frames. Written here by hand (`--no-record`), one scenario per command, each on a machine with nothing else of ours running: `npm run bench -- desktop --minutes=20 --scenarios=typing --no-record` (2026-12-03 05:09–05:29 UTC, load 0.15 before, 0.11 after), `… --minutes=10 --scenarios=scrolling --no-record` (2026-12-03 01:30–01:41 UTC, load 1.78 before, 0.06 after), `… --minutes=10 --scenarios=switching --no-record` (2026-12-03 04:59–05:09 UTC, load 0.64 before, 0.15 after). 1920×1080 Xvfb (24-bit, black root window, openbox), 1 fps.',
  '',
  '| scenario | length | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|---|',
  '| typing (shell commands in an xterm, about 4 keys a second, Enter every line) | 20 min | 1,172 (3) | 1,557,063 (64,318) | 4.67 | 10.4 | 2.5 |',
  '| scrolling (2,090 lines of five licences in less, 3 lines a second: it scrolls for all 10 minutes) | 10 min | 602 (3) | 3,067,409 (46,402) | 18.40 | 40.9 | 5.4 |',
  '| switching | 10 min | 203 (2) | 4,293,088 (534) | 25.69 | 57.1 | 3.4 |',
  '| idle (2026-12-02 16:27, speed 8 and keyframes every 300 s — an idle screen makes neither a frame nor a forced keyframe, so the encoder changes since do not apply) | 10 min | 4 (2) | 3,906 (536) | 0.02 | 0.1 | 2.5 |',
  '',
  'Goals: ≤ 5 MB/h typing (met: 4.67, with one forced keyframe of 64 KB in the 20 minutes); ≤ 30 kbit/s average upload (met in idle and typing, **not met** in scrolling, 40.9, and switching, 57.1); ≤ 10 % of one core (met in every scenario: 2.5–5.4 %). Over the four scenarios together (an hour of each) the upload averages 27.1 kbit/s; the goal is read per scenario here, so that is not counted as met.',
  '',
  'Earlier 20-minute typing run (2026-12-03 01:06–01:28 UTC, speed 7 with order hints on, load 3.19 before, 0.10 after): 1,172 frames (3 key), 1,597,768 bytes (64,163 in keyframes: the first of an empty screen 268, one forced after 600 frames at 616 s 63,627, the final 268), **4.79 MB/h**, 10.6 kbit/s, CPU 4.2 %. Where its bytes went: 44 frames over 10 KB — each the output of the scripted `ls -la /usr/share`, a screenful of new text — 744 KB; the other 1,128 frames (typed characters, short outputs, the shift of the scroll) 845 KB. A steady state of one forced keyframe per 600 frames (this run had 1.95 per 1,172 frames\' worth but paid for one) puts it at ≈ 4.95 MB/h: met, with little room.',
  '',
  '### What changed (2026-12-03, session 7)',
  '',
  '- **Encoder settings**, chosen offline on lossless 1080p captures of the benchmark\'s users (x11grab → mpdecimate → FFV1: typing 83 frames, switching windows 30 frames over 88 s, scrolling 64 frames), each re-encoded with `-threads 1`, q 30; CPU = user+system seconds of the encode:',
  '',
  '| libaom settings | typing bytes | switching bytes | scrolling bytes | CPU s typing / switching | PSNR typing |',
  '|---|---:|---:|---:|---|---:|',
  '| realtime `-cpu-used 8` (before) | 217,585 | 745,470 | 380,391 | 2.6 / 2.6 | 48.05 dB |',
  '| realtime `-cpu-used 7` (5 and 6 give the same stream) | 191,842 | 732,281 | 372,816 | | 48.48 dB |',
  '| **realtime 7, `enable-order-hint=0` (chosen)** | **184,301** | **724,324** | **370,160** | **2.8 / 3.4** | **48.55 dB** |',
  '| good `-cpu-used 6`, `-lag-in-frames 0` | 145,948 | 272,147 | | 7.3 / 7.2 | 49.15 dB |',
  '| good 6, intra block copy off | 146,243 | 317,889 | 215,265 | 6.2 / 5.3 | |',
  '| libsvtav1 1.4 preset 10, low delay, `scm=1`, qp 40 | 364,208 | 997,196 | | | |',
  '',
  '  Order hints (temporal motion-vector projection, distance-weighted compound) gain nothing on a 1 fps screen and cost −4 % typing. The quantiser is no lever: q 34 / 38 / 42 saved 7 / 13 / 20 % of the scrolling bytes at 46.3 / 43.8 / 41.9 dB.',
  '- **Good-quality mode is what would meet the upload goal, and it costs the CPU goal.** With `-usage good -cpu-used 6` (intra block copy off) scrolling would be ≈ 42 % smaller (≈ 24 kbit/s instead of 40.9) and switching ≈ 56 % (≈ 25 instead of 57.1): its encoder keeps the last frames as references (the window raised now was on top three raises ago) and searches motion fully. But it spends ≈ 55 ms of CPU on every frame, even one with a blinking cursor (realtime ≈ 20 ms), ≈ 66 ms on a typing frame and ≈ 155 ms on a scrolled one: ≈ 15 % of a core while text scrolls every second, over the 10 % goal. No single tool switch (restoration, CDEF, global/warped motion, partitions, reference count, TPL) brought it near realtime\'s cost.',
  '- **References managed by the launcher** (a C prototype on the libaom 3.6 API, `AV1E_SET_SVC_REF_FRAME_CONFIG`, not kept): the launcher knows when a window is raised, so it could keep a frame of each window in a reference slot. A block-hash match over 7 slots found the raised window exactly in every raise, and some raises then cost 0.1–1.4 KB. But with an external reference configuration libaom 3.6\'s realtime mode no longer found scrolls (typing ×12 bytes), and its mode decision skipped the golden reference in a third of the raises. Worth retrying on a newer libaom (Debian 12 has 3.6.0; later versions reworked realtime reference handling).',
  '- **Keyframes by frames, not by time**: one after every 600 encoded frames instead of every 300 s, so a still screen needs none and a forced keyframe (≈ 64 KB for a screen full of text) comes every 10 minutes of activity at most; what a viewer joining live or a seek decodes is bounded by frames: dav1d decodes a 1080p typing frame in 2.3–3.1 ms, so 1.5–2 s for 600. The live join point reaches back to the keyframe even across a cluster opened because the 10 ms timecode scale ran out (`test/launcher-encoder.test.ts` "screen capture keyframes", `webm-writer.test.ts`).',
  '- **The benchmark\'s scrolling document** is now five licences (2,090 lines) so it scrolls for the whole 10 minutes; the 2026-12-02 run\'s document ended after 210 s, which is why that run read 15.0 kbit/s.',
  '',
  '**What would close the gap** (scrolling 40.9 and switching 57.1 against 30 kbit/s, at 2.5–5.4 % of a core now): the bytes are new text on screen — three lines a second when scrolling, a whole re-exposed window on every raise — and realtime libaom 3.6 codes the re-exposed window anew because only the last frame and a periodic golden frame are references. Good-quality encoding reaches both goals for bytes at about three times the encoder\'s CPU (≈ 15 % of a core while scrolling); a libaom whose realtime mode takes references chosen by the launcher (one per recently active window) would reach switching at realtime\'s cost. Neither is possible with Debian 12\'s libaom within the CPU goal, so the goal stays **not met** for scrolling and switching.',
  '',
  '**Good-quality mode over the issue\'s 10 minutes (session 10, 2026-12-03 11:07–11:56 UTC).** The launcher\'s AV1 arguments swapped by hand for `-usage good -cpu-used 6 -aq-mode 0`, screen tuning, no order hints, q 30 (not committed), one scenario per command as above, nothing else of ours running: "lean" also turns off every tool that changed the stream offline (intra block copy, CDEF, loop restoration, global and warped motion, OBMC, dual filter, smooth, Paeth, CfL and filter intra, angle deltas, 64-point transforms, rectangular, AB and 1:4 partitions; reduced transform set).',
  '',
  '| AV1 mode | scenario | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|---|',
  '| good | switching | 201 (3) | 1,328,780 (17,319) | 7.95 | 17.7 | 8.0 |',
  '| good, lean | switching | 203 (3) | 1,922,233 (53,599) | 11.50 | 25.6 | 8.3 |',
  '| good, lean | scrolling | 601 (3) | 1,848,872 (48,941) | 11.09 | 24.6 | 11.5 |',
  '',
  'Good-quality mode meets the upload goal in both scenarios where realtime misses it (switching 57.1 → 17.7 kbit/s, scrolling 40.9 → 24.6) and misses the CPU goal while text scrolls every second, even with every costly tool off (11.5 %, against realtime\'s 5.4 %). Offline, on a 60-frame lossless capture of the scrolling scenario (`-threads 1`, user + system seconds, ±10 % between identical encodes): realtime 2.5 s and 359 KB; good 9.3 s and 176 KB; good without intra block copy 6.5 s and 209 KB (the only single switch that cut the CPU); lean 5.9–6.6 s and 231 KB; the switches that left the stream unchanged (compound modes, TPL, delta-q, minimum partition size) left the CPU unchanged too, and `-cpu-used 8` gives speed 6\'s stream in good mode. So with Debian 12\'s libaom the two goals cannot both be met while text scrolls: realtime misses the upload goal in two scenarios, good mode the CPU goal in one, by 15 %. Realtime stays the default — it holds the CPU goal in every scenario. Switching modes within a session (good while the encoder stays within its budget) would need the encoder restarted at a keyframe with a different AV1 sequence header in the same WebM track; not tried.',
  '',
  '**Session 11 (2026-12-03 13:30–14:00 UTC): why good mode costs as much on a scroll as on a whole new screen, and the last levers tried.** On a new lossless capture of the scrolling scenario (x11grab → mpdecimate → FFV1, 67 frames in 69 s), only 29 % of the 16×16 blocks change from one frame to the next (the text area of the terminal; the rest of the screen stands still), yet good mode spends on a scrolled frame about what it spends on a changed screen: its rate-distortion search visits every block. libaom\'s active map (`AOME_SET_ACTIVEMAP`: blocks marked inactive are coded as skipped, without a search) would make its cost follow the changed area. A C prototype on the libaom 3.6 API (one thread, not kept) set the map before each frame from an exact comparison with the previous frame: libaom accepts the control and ignores it — a map marking every block inactive leaves the stream byte-identical, in realtime and in good mode, at the same CPU. On top of the lean set, none of these cut the CPU beyond the spread between identical encodes (run one after another, least of 3–4 runs each, user + system s): cost-table updates off (`coeff-`, `mode-`, `mv-cost-upd-freq=3`) 8.4 against lean\'s 8.2 s, trellis quantisation off, 64×64 superblocks, no reference motion vectors, partitions of at most 32×32, three references, compound and inter-intra modes off, TPL and delta-q off (realtime 3.3–3.7 s; bytes: realtime 399 KB, lean 255 KB, good 197 KB). Realtime speeds 2–6 give speed 7\'s stream; ffmpeg accepts no speed above 8. So with Debian 12\'s libaom (3.6.0) the upload goal for scrolling and switching cannot be met within the CPU goal: **blocked** on the encoder. What would unblock it: an AV1 encoder whose realtime path codes a scroll\'s new text and a re-raised window as cheaply as libaom 3.6\'s good mode does, or whose good mode skips unchanged blocks when told (the active map); Debian 12 has no newer libaom, and the npm packages that ship ffmpeg builds (`ffmpeg-static`, `ffmpeg-ffprobe-static`) download them from GitHub when installed, which this machine cannot reach.',
  '',
  '### Earlier runs (2026-12-02 afternoon: AV1 realtime speed 8, a keyframe every 300 s)',
  '',
  '`npm run bench -- desktop --seconds=60 --codec=av1 --no-record` and `… --codec=vp8 --no-record`, back to back — 2026-12-02 15:18–15:27 UTC, 2 cores (AMD EPYC), shared with other engineers\' work; load average (1/5/15 min) before the AV1 run 2.42 2.32 1.53 (another engineer\'s test run had just ended), before the VP8 run 0.23 1.15 1.24, after 0.58 0.71 1.02. 1920×1080 Xvfb (24-bit, black root window, openbox), 1 fps. Written into this page by hand (`--no-record`) so the earlier tables below stay as history.',
  '',
  '**Shortened runs:** each scenario ran 60 s, not the issue\'s 10 minutes; MB/h and kbit/s are extrapolated linearly from the 60 s. The start of a session (the first keyframe and the windows appearing) weighs more in a short run, so these figures overstate an hour\'s rate.',
  '',
  '**AV1 (libaom realtime `-cpu-used 8`, `tune-content=screen`, q 30) — the default now:**',
  '',
  '| scenario | what the scripted user does | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|---|',
  '| idle | an xterm with a prompt, nobody at the keyboard | 4 (2) | 4,007 (536) | 0.24 | 0.5 | 9.2 |',
  '| typing | typing shell commands into an xterm, about 4 keys/s, Enter every line (output scrolls) | 62 (2) | 143,876 (536) | 8.55 | 19.0 | 10.0 |',
  '| scrolling | reading a long document in less in an xterm, 3 lines down every second | 62 (2) | 324,524 (536) | 19.39 | 43.1 | 12.2 |',
  '| switching | three overlapping windows (two xterms with text, xedit), a different one raised every 3 s | 23 (2) | 620,878 (536) | 36.16 | 80.4 | 13.9 |',
  '',
  '**VP8 (libvpx good `-cpu-used 2`, q 30), same code and capture graph, run right after:**',
  '',
  '| scenario | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|',
  '| idle | 4 (2) | 11,486 (7,282) | 0.69 | 1.5 | 7.8 |',
  '| typing | 60 (2) | 204,299 (7,282) | 12.19 | 27.1 | 10.9 |',
  '| scrolling | 62 (2) | 399,594 (7,282) | 23.88 | 53.1 | 12.4 |',
  '| switching | 24 (2) | 712,175 (7,282) | 41.27 | 91.7 | 15.0 |',
  '',
  'Goals with AV1: ≤ 5 MB/h typing (**not met**: 8.55); ≤ 30 kbit/s average upload (met in idle and typing, **not met** in scrolling and switching); ≤ 10 % of one core (met in idle and typing — typing at 10.0 %, on the edge — **not met** in scrolling and switching).',
  '',
  '**The issue\'s scenario length, AV1:** `npm run bench -- desktop --minutes=10 --scenarios=typing --codec=av1 --no-record` — 2026-12-02 15:51–16:02 UTC, load average 0.87 before, 0.65 after (another engineer\'s benchmark ran part of the time):',
  '',
  '| scenario | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|',
  '| typing, 10 minutes | 587 (4) | 958,552 (120,362) | 5.75 | 12.8 | 4.8 |',
  '',
  'Goals over 10 minutes of typing: ≤ 5 MB/h (**not met**: 5.75, 15 % over); ≤ 30 kbit/s (met: 12.8); ≤ 10 % of a core (met: 4.8 %). The 60 s runs overstate CPU as much as bytes: the start (node, ffmpeg and the encoder starting, the first screen) and the end (the final keyframe\'s own ffmpeg) weigh on one minute. The keyframes — the first, one forced after each 300 s of a changing screen, the final one — are 13 % of the bytes here (≈ 40 KB each once the terminal is full of text); without the two forced ones the run would be ≈ 5.3 MB/h. A longer keyframe interval (it is a trade against how far back a live viewer\'s join and a seek must decode) or a lower quality (q 34: not measured on AV1 this session) are what is left between 5.75 and 5.',
  '',
  '**The other scenarios at 10 minutes, AV1:** `npm run bench -- desktop --minutes=10 --scenarios=scrolling,switching,idle --codec=av1 --no-record` — 2026-12-02 16:27–16:58 UTC, load average 1.01 before, 0.05 after (nothing else ran; written here by hand):',
  '',
  '| scenario | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|',
  '| idle, 10 minutes | 4 (2) | 3,906 (536) | 0.02 | 0.1 | 2.5 |',
  '| typing, 10 minutes (the run above) | 587 (4) | 958,552 (120,362) | 5.75 | 12.8 | 4.8 |',
  '| scrolling, 10 minutes | 214 (2) | 1,122,561 (536) | 6.73 | 15.0 | 3.4 |',
  '| switching, 10 minutes | 203 (4) | 4,720,448 (167,520) | 28.24 | 62.7 | 6.9 |',
  '',
  'At the issue\'s length every scenario is under 10 % of a core (2.5–6.9 %): the 60 s runs\' 9–14 % were mostly the start (node, ffmpeg and the encoder starting, the first frames) and the final keyframe\'s own ffmpeg. Upload: idle, typing and scrolling under 30 kbit/s, switching **not** (62.7: each raise re-exposes a window of text that no reference frame holds). Caveat for scrolling: the scripted document (`/usr/share/common-licenses/GPL-3`, 674 lines) reaches its end after about 210 s at 3 lines a second, so the run is 3½ minutes of scrolling and 6½ of a still screen (214 frames); while it scrolls it costs ≈ 42 kbit/s (1.12 MB in ≈ 212 s), over the goal. The benchmark\'s document should be longer (or loop) for a 10-minute run; not changed this session.',
  '',
  'CPU counts the launcher process and all its children except the launched program\'s tree (ffmpeg capture/encode, the final-frame ffmpeg, xprop): utime+stime from /proc, sampled each second, last reading of each process kept. Bytes are what the server stored (the contiguous chunks), i.e. what was uploaded.',
  '',
  '### What changed (2026-12-02 afternoon): AV1, and a cheaper capture graph',
  '',
  '- **AV1 is a `videoCodec` setting and the default.** The launcher encodes with libaom realtime `-cpu-used 8 -aq-mode 0 -aom-params tune-content=screen`, fixed q 30, and writes an AV1 track in its own WebM (CodecID `V_AV1`, the `av1C` record with the sequence header as CodecPrivate, key frames found from the temporal unit\'s frame header). Same run, same machine, AV1 against VP8: **typing −30 % bytes** (143,876 against 204,299; 19.0 against 27.1 kbit/s), scrolling −19 %, switching −13 %, idle −65 % (a keyframe of the empty screen costs 536 bytes instead of 7,282); launcher CPU 10.0 / 12.2 / 13.9 % against 10.9 / 12.4 / 15.0 % — no worse (the AV1 idle row, 9.2 against 7.8 %, ran while the load of another engineer\'s test run was still draining: load average 2.4 at its start, 0.2 at VP8\'s). Against the morning\'s VP8 table below (09:53, more loaded): typing 15.20 → 8.55 MB/h and 33.8 → 19.0 kbit/s, CPU 12.8 → 10.0 %; scrolling 63.7 → 43.1 kbit/s; switching 78.7 → 80.4 kbit/s (no gain there against that run; the same-session VP8 run measured 91.7). The scripted typing varies from run to run (VP8 typing: 254,845 bytes at 09:53, 204,299 at 15:23), which is why the AV1/VP8 comparison is the back-to-back pair. Text stays legible: a 1080p AV1 capture of an xterm after `ls -la /usr/share` and a typed line, decoded to PNG, shows every glyph sharp (PSNR on the offline scrolling sequence below: 46.8 dB against VP8\'s 42.9).',
  '- **Capture graph**: the colour conversion now runs once, before the split (`format=yuv420p,split` instead of converting after mpdecimate and again for the grey copy), with `-filter_complex_threads 1 -threads 1`. A/B on an idle 1080p screen (an xterm), the bare ffmpeg command with the VP8 encoder, 45 s each, alternated twice on a quiet machine: before 1.09 / 1.12 s of CPU (2.4 / 2.5 % of a core), after 0.97 / 0.88 s (2.2 / 2.0 %).',
  '- **Encoder choice** (offline, a synthetic 1080p sequence: 40 frames of `ls -l`-like text scrolling 2 lines a frame, `-threads 1`, CPU = user+system seconds including ≈ 0.6 s of decoding the lossless source):',
  '',
  '| encoder settings | bytes | PSNR | CPU s |',
  '|---|---|---|---|',
  '| VP8 good `-cpu-used 2`, q 30 (the previous default) | 316,132 | 42.9 dB | 3.20 |',
  '| **libaom realtime `-cpu-used 8`, `tune-content=screen`, q 30 (chosen)** | **239,319** | **46.8 dB** | **2.52** |',
  '| libaom the same with `-crf 30` instead of q 30 | 266,173 | 49.6 dB | 2.52 |',
  '| libaom realtime speed 10 (`-aom-params cpu-used=10`) | 252,012 | 46.1 dB | 2.14 |',
  '| libaom realtime `-cpu-used 8` without `tune-content=screen` | 6,627,065 | 41.6 dB | 4.37 |',
  '| libsvtav1 1.4 preset 12, low delay, `scm=1`, qp 30 / qp 45 | 481,641 / 292,936 | 52.8 / 44.1 dB | 2.87 / 3.05 |',
  '',
  '  SVT-AV1 costs more bytes at equal quality and no less CPU at 1 fps (and calls its low-delay mode experimental), so libaom stays. Speed 10 would save ≈ 0.4 s of 2.5 for 5 % more bytes: a lever if CPU must come down, not taken now. The screen tuning is what makes AV1 work on a desktop: without it every scrolled frame is coded anew (`test/launcher-encoder.test.ts` fails then).',
  '',
  '**What is left.** Over the issue\'s 10 minutes of typing AV1 meets the upload and CPU goals (12.8 kbit/s, 4.8 %) and misses 5 MB/h by 15 % (5.75); the 60 s runs count the first screenful of `ls` output (new text, intra-coded whatever the codec) and the start-up against one minute. No VP8 10-minute run was made this session to compare with. Scrolling and switching bring new text every second or every raise (a re-exposed window not in any reference frame); AV1 cuts those by 13–19 %, not enough for 30 kbit/s. CPU is still dominated by the grab itself (idle ≈ 8–9 % of a core in this harness, which also counts xprop and the launcher\'s node process): skipping the grab of an unchanged screen (XDamage) is the next step for the CPU goal.',
  '',
  '### Earlier run (2026-12-02 09:53 UTC, VP8 good `-cpu-used 2`, before AV1)',
  '',
  '`npm run bench -- desktop --seconds=60` — 2026-12-02 09:53 UTC, 2 cores (AMD EPYC), shared with other engineers\' work; load average (1/5/15 min) before 1.40 2.61 5.37, after 0.28 1.22 4.08. VP8, 1920×1080 Xvfb (24-bit, black root window, openbox), 1 fps.',
  '',
  '**Shortened runs:** each scenario ran 60 s, not the issue\'s 10 minutes (this session\'s time budget); MB/h and kbit/s are extrapolated linearly from the 60 s. The 10-minute mode is `npm run bench -- desktop --minutes=10`. The start of a session (the first keyframe of an empty screen and the windows appearing) weighs more in a short run, so these figures overstate an hour\'s rate.',
  '',
  '| scenario | what the scripted user does | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
  '|---|---|---|---|---|---|---|',
  '| idle | an xterm with a prompt, nobody at the keyboard | 4 (2) | 11,445 (7,282) | 0.68 | 1.5 | 9.6 |',
  '| typing | typing shell commands into an xterm, about 4 keys/s, Enter every line (output scrolls) | 60 (2) | 254,845 (7,282) | 15.20 | 33.8 | 12.8 |',
  '| scrolling | reading a long document in less in an xterm, 3 lines down every second | 62 (2) | 479,391 (7,282) | 28.65 | 63.7 | 13.4 |',
  '| switching | three overlapping windows (two xterms with text, xedit), a different one raised every 3 s | 23 (2) | 608,009 (7,282) | 35.40 | 78.7 | 13.3 |',
  '',
  'Goals: ≤ 5 MB/h typing (**not met**); ≤ 30 kbit/s average upload (**not met** in typing, scrolling, switching); ≤ 10 % of one core (**not met** in typing, scrolling, switching).',
  '',
  'CPU on a quiet machine (this run: load about 1, after the other engineers\' jobs ended): the encoder change costs about 1 point of a core (typing − idle: 3.2 points now, 2.1 on 2026-11-28), but the **idle baseline itself reads 9.6 % on this machine against 5.9 % on 2026-11-28** (same code path: a full 1080p x11grab, mpdecimate and the quarter-size grey copy every second), so the whole table sits ~1.6× higher than the earlier one. `-cpu-used 4` instead of 2 (one 60 s run, not recorded in the table): typing 35.7 MB/h and 15.5 % — more bytes and no CPU saved, so 2 stays. What would bring CPU under 10 % here: not grabbing an unchanged screen at all (XDamage tells which areas changed; today every second costs a full grab and compare even when nothing moved), then the encoder\'s share is what remains.',
  '',
  'CPU counts the launcher process and all its children except the launched program\'s tree (ffmpeg capture/encode, the final-frame ffmpeg, xprop): utime+stime from /proc, sampled each second, last reading of each process kept. Bytes are what the server stored (the contiguous chunks), i.e. what was uploaded.',
  '',
  '#### What changed (2026-12-02), and what it measured',
  '',
  'Before (2026-11-28, VP8 realtime `-cpu-used 8`): typing 40.10 MB/h and 89.1 kbit/s, scrolling 418.4 kbit/s, switching 90.8 kbit/s. The bytes were scrolled text: every Enter with output scrolls the 40-row terminal and VP8 at realtime speed never finds the vertical shift, so each scroll was coded anew (40–90 KB). Now the encoders find it:',
  '',
  '- **VP8 runs libvpx\'s good-quality mode.** The launcher used to pass `-deadline realtime`; `-deadline good` would not have helped: libvpx picks good quality only when the per-frame deadline *exceeds the frame\'s duration*, and `good` is 1 s, so at 1 fps it silently runs in realtime (offline, `good` at `-cpu-used` 0 and 4 gave output byte-identical to realtime `-cpu-used 0`). The launcher now passes ten frame intervals (10 s at 1 fps) and `-cpu-used 2`. A scroll frame now costs 2–10 KB plus the new text it brings.',
  '- **VP9**: realtime `-cpu-used 5` with `-tune-content screen` (its screen motion search finds scrolls from speed 5 on; at 4, or without the screen tuning, it does not) and a fixed q 30 instead of `-crf 36`, which had let quality fall to 34 dB PSNR on text.',
  '',
  'The same bench with `--codec=vp9 --no-record` (2026-12-02 09:20 UTC, same load): typing 253,335 bytes, 14.31 MB/h, 31.8 kbit/s; scrolling 444,227 bytes, 58.8 kbit/s; switching 1,023,709 bytes, 129.6 kbit/s (worse than VP8: raising a window re-exposes text that VP9 realtime codes anew). VP9 does not reach the goals either; VP8 stays the default.',
  '',
  'Offline, re-encoding lossless 1080p captures of the same scripted user (a 119 s typing run, 113 changed frames; a 53 s scrolling run, 53 frames); PSNR/SSIM against the capture:',
  '',
  '| encoder settings | typing: bytes, PSNR, SSIM | scrolling: bytes, PSNR |',
  '|---|---|---|',
  '| VP8 realtime `-cpu-used 8`, q 30 (before) | 1,472,591, 44.0 dB, 0.9980 | 4,877,990, 43.4 dB |',
  '| VP8 good `-cpu-used 0` / 1 / **2 (now)** / 3 | 316,483 / 336,213 / **430,422, 44.8 dB, 0.9984** / 506,262 | 392,789 / 438,588 / **506,279, 44.6 dB** / 578,713 |',
  '| VP8 `-deadline best` | 279,169, 45.0 dB | 352,756 |',
  '| VP8 good `-cpu-used 0`, q 34 / q 38 | 295,823, 43.5 dB / 283,368, 42.2 dB | |',
  '| VP9 realtime `-cpu-used 8`, `-crf 36` (before) | 564,509, 34.1 dB, 0.9908 | 798,469, 42.9 dB |',
  '| **VP9 realtime `-cpu-used 5`, screen, q 30 (now)** | **406,543, 45.3 dB, 0.9986** | **463,062, 44.9 dB** |',
  '| VP9 realtime q 30 at `-cpu-used` 4 / 6 / 7; 5 without screen tuning | 1,223,760 / 535,290 / 520,927; 1,149,214 | |',
  '| AV1 (libaom 3.6 realtime `-cpu-used 8`, `tune-content=screen`), q 30 / q 42 | 233,912, 48.5 dB, 0.9994 / 186,600, 43.3 dB | 368,250, 47.7 dB / 291,278, 41.5 dB |',
  '',
  'Encoder CPU on this loaded machine (user+system seconds for the 53 scrolling frames, two runs each, frames read raw): VP8 realtime 4.6 / 3.5, good `-cpu-used 1` 10.9 / 7.6, **good 2: 3.4 / 3.7**, good 3 2.9 / 5.1; `best` about twice good 0; VP9 realtime 5: 2.7 / 3.6; libaom realtime 8 about the same as VP9 realtime 5 (on the typing frames). Hence `-cpu-used 2` for VP8: the bytes of 0–1 would cost twice the CPU. Text stays legible at all the settings chosen (checked by eye on decoded frames; PSNR ≥ 44.6 dB).',
  '',
  '#### Where the bytes go now, and what would close the gap',
  '',
  '- **New text, not the scroll.** In the 60 s typing run the first `ls -la /usr/share` fills the terminal with new text: one 84 KB frame, a third of the run\'s bytes (≈ 5 MB/h on its own in a 60 s run). Each later Enter costs 4–24 KB depending on how many lines of output it prints: VP8 at q 30 spends ≈ 30–45 bytes per new character of 11-point text (intra-coded glyphs), the shift itself is now nearly free. The seconds of typing cost 0.3–1.5 KB each; any 1080p VP8 inter frame costs ≥ 300 bytes (a skip flag per macroblock). Without the first screenful, this run would be ≈ 10 MB/h.',
  '- **Scrolling** (3 new lines a second in less): 3–10 KB a second, all new text. Skipping intermediate frames of a continuous scroll (one frame every 3 s) was measured offline and saves only 6–12 % (VP8 good 1 / 2) and 1 % (VP9): three scrolled lines at once bring three times the text. It was not implemented: it would cost timing detail for little.',
  '- **Switching**: raising a window re-exposes a window of text that is not in the previous frame: 30–60 KB a raise, 1.5–4 KB when libvpx\'s golden reference still holds it.',
  '- **What would close the gap: AV1** with screen-content tools (palette mode codes glyphs far more cheaply than a DCT). libaom realtime at `-cpu-used 8` with `tune-content=screen` measured −46 % bytes on typing at +3.7 dB PSNR (q 30), −57 % at equal quality (q 42), −27 % / −42 % on scrolling, for about the encoding CPU of VP8 good 2. With it, typing would be ≈ 5 MB/h excluding the first screenful, still not the 60 s run\'s figure. It needs the `videoCodec` setting extended to `av1`, an AV1 track in the launcher\'s WebM writer (CodecID `V_AV1` with an `av1C` CodecPrivate), and the server\'s remux/MP4 and the console\'s MSE codec string checked — a bigger change than this one, left for a follow-up. Lower quality does not get there with VP8 (q 38: −10 % bytes, 42 dB, text starts to smear).',
  '- **CPU, side by side**: the previous launcher and this one were run at the same time (two Xvfb displays, 60 s each, idle, typing, scrolling; load average ≈ 9 from other work): idle 13.0 / 10.6 %, typing 16.1 / 19.0 % of a core (720,187 / 260,728 bytes), scrolling 14.2 / 16.5 % (5,524,400 / 479,391 bytes). Good quality costs ≈ 2–3 points more while the screen changes every second. Scaled to the unloaded run of 2026-11-28 (typing 8.0 %, scrolling 9.2 %), that estimates ≈ 10 % for typing and scrolling: at the goal\'s edge, not measured unloaded. `-cpu-used 3` would give back part of it for 15–20 % more bytes.',
  '- **CPU**: x11grab + mpdecimate + the quarter-size grey copy cost ≈ 5 % of a core even when idle (a full 1080p grab and compare every second, on an unloaded machine); encoding adds 2–4 % at VP8 realtime speed, about the same with good quality at `-cpu-used 2` (offline above); the launcher\'s node process ≈ 1 %. Runs on this machine while other engineers\' tests run (load average 8–13 on 2 cores) measure about twice that: compare the idle row with the earlier 5.9 %.',
];

interface Scenario {
  name: string;
  what: string;
  launcher: { command: string; args: string[] };
  /** Drives the display for `seconds` (xdotool), as a user would. */
  drive(x: XDisplay, seconds: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// 40 rows of an 11-point font fit a 1080-pixel screen: a taller window would type below its bottom edge.
const XTERM = ['-geometry', '160x40+40+40', '-fa', 'Monospace', '-fs', '11'];

async function windowOf(x: XDisplay, cls: string): Promise<string> {
  return until(`a ${cls} window`, async () => (await x.x('xdotool', ['search', '--onlyvisible', '--class', cls]).catch(() => '')).trim().split('\n')[0] || null, 15_000);
}

/** Runs `fn` once a second for `seconds`, keeping to the wall clock. */
async function everySecond(seconds: number, fn: (i: number) => Promise<void>): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < seconds; i++) {
    await fn(i);
    const wait = start + (i + 1) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
  }
}

const SCENARIOS: Scenario[] = [
  {
    name: 'idle',
    what: 'an xterm with a prompt, nobody at the keyboard',
    launcher: { command: 'xterm', args: XTERM },
    drive: async (x, seconds) => {
      await windowOf(x, 'XTerm');
      await sleep(seconds * 1000);
    },
  },
  {
    name: 'typing',
    what: 'typing shell commands into an xterm, about 4 keys/s, Enter every line (output scrolls)',
    launcher: { command: 'xterm', args: XTERM },
    drive: async (x, seconds) => {
      const w = await windowOf(x, 'XTerm');
      await x.x('xdotool', ['windowactivate', '--sync', w]);
      const lines = ['ls -la /usr/share', 'echo checking the disk usage of the log directory', 'df -h', 'uptime', 'cat /etc/os-release | head -3', 'ps aux | wc -l', 'grep -c bash /etc/passwd', 'date'];
      await everySecond(seconds, async (i) => {
        const line = lines[Math.floor(i / 5) % lines.length]!;
        const part = line.slice((i % 5) * Math.ceil(line.length / 5), ((i % 5) + 1) * Math.ceil(line.length / 5));
        if (part) await x.x('xdotool', ['type', '--delay', '150', '--', part]);
        if (i % 5 === 4) await x.x('xdotool', ['key', 'Return']);
      });
    },
  },
  {
    name: 'scrolling',
    what: 'reading a long document in less in an xterm, 3 lines down every second',
    // 2,090 lines of five licences: 3 lines a second reach the end after 11½ minutes, so a
    // 10-minute run scrolls all the time (GPL-3 alone ended after 3½ minutes).
    launcher: { command: 'xterm', args: [...XTERM, '-e', 'sh', '-c', `cat ${['GPL-3', 'GPL-2', 'LGPL-2.1', 'Apache-2.0', 'MPL-2.0'].map((l) => `/usr/share/common-licenses/${l}`).join(' ')} | less`] },
    drive: async (x, seconds) => {
      const w = await windowOf(x, 'XTerm');
      await x.x('xdotool', ['windowactivate', '--sync', w]);
      await everySecond(seconds, async () => {
        await x.x('xdotool', ['key', '--delay', '100', 'j', 'j', 'j']);
      });
    },
  },
  {
    name: 'switching',
    what: 'three overlapping windows (two xterms with text, xedit), a different one raised every 3 s',
    launcher: {
      command: '/bin/sh',
      args: ['-c', `xterm ${XTERM.join(' ')} -e sh -c 'ls -l /usr/bin | head -60; exec sh' & xterm -geometry 120x34+500+200 -fa Monospace -fs 11 -e less /usr/share/common-licenses/Apache-2.0 & xedit -geometry 900x600+900+300 /usr/share/common-licenses/BSD & wait`],
    },
    drive: async (x, seconds) => {
      await windowOf(x, 'Xedit');
      await sleep(1500);
      const wins = [...(await x.x('xdotool', ['search', '--onlyvisible', '--class', 'XTerm'])).trim().split('\n'), await windowOf(x, 'Xedit')];
      await everySecond(seconds, async (i) => {
        if (i % 3 === 0) await x.x('xdotool', ['windowactivate', wins[(i / 3) % wins.length]!]).catch(() => '');
      });
    },
  },
];

/** CPU ticks of a process tree, remembering processes that have exited (their last reading). */
class CpuMeter {
  private readonly last = new Map<number, number>();

  constructor(private readonly root: number, private readonly exclude: (pid: number) => boolean) {}

  sample(): void {
    const parent = new Map<number, number>();
    const ticks = new Map<number, number>();
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(Number(p), Number(f[1]));
        ticks.set(Number(p), Number(f[11]) + Number(f[12]));
      } catch {
        // gone
      }
    }
    const tree = new Set<number>([this.root]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, pp] of parent) {
        if (tree.has(pp) && !tree.has(pid)) {
          tree.add(pid);
          grew = true;
        }
      }
    }
    for (const pid of tree) if (ticks.has(pid) && !this.exclude(pid)) this.last.set(pid, ticks.get(pid)!);
  }

  seconds(): number {
    return [...this.last.values()].reduce((a, b) => a + b, 0) / HZ;
  }
}

const marked = (sessionId: string) => (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`).includes(Buffer.from(`VIGIL_SESSION=${sessionId}\0`));
  } catch {
    return false;
  }
};

interface Result {
  scenario: Scenario;
  seconds: number;
  bytes: number;
  chunks: number;
  frames: number;
  keyframes: number;
  /** Bytes in keyframes (the first and the final one, plus one forced every 600 encoded frames). */
  keyBytes: number;
  cpuSeconds: number;
}

async function measure(base: string, admin: Api, userToken: string, userId: string, x: XDisplay, s: Scenario, seconds: number, home: string): Promise<Result> {
  const name = uniqueName(`bench-${s.name}`);
  const created = await admin.post('/api/v1/secrets', { name, kind: 'desktop', host: '192.0.2.1', username: 'bench', password: 'bench-password', launcher: { type: 'process', ...s.launcher }, access: { users: [userId] } });
  if (created.status !== 201) throw new Error(`secret: ${JSON.stringify(created.body)}`);
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'launch', name, '--server', base, '--token', userToken], {
    env: { ...process.env, DISPLAY: x.display, VIGIL_SPOOL_DIR: path.join(home, 'spool'), XDG_CONFIG_HOME: path.join(home, 'config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exit = new Promise<number>((r) => proc.on('exit', (c) => r(c ?? -1)));
  const m = await until('the session to start', () => /session ([0-9a-f-]{36}): started \S+ launcher \(pid (\d+)\)/.exec(log), 30_000);
  const sessionId = m[1]!;
  const meter = new CpuMeter(proc.pid!, marked(sessionId));
  const sampler = setInterval(() => meter.sample(), 1000);
  const started = Date.now();
  await s.drive(x, seconds);
  const elapsed = (Date.now() - started) / 1000;
  meter.sample();
  // The end: the program exits as if the user closed it.
  process.kill(Number(m[2]), 'SIGTERM');
  const code = await exit;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`launcher exited ${code}: ${log}`);
  const view = (await admin.get(`/api/v1/sessions/${sessionId}`)).body;
  const file = path.join(home, `${s.name}.webm`);
  await until('the finalised WebM', async () => {
    const res = await fetch(`${base}/api/v1/sessions/${sessionId}/recording?format=webm`, { headers: { authorization: `Bearer ${admin.token}` } });
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return fs.readFileSync(file).includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b]));
  }, 30_000);
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size,flags', '-of', 'csv=p=0', file]);
  const packets = stdout.trim().split('\n').filter(Boolean).map((l) => ({ size: Number(l.split(',')[0]), key: (l.split(',')[1] ?? '').startsWith('K') }));
  const keyBytes = packets.filter((p) => p.key).reduce((a, p) => a + p.size, 0);
  if (process.env.VIGIL_BENCH_KEEP) fs.copyFileSync(file, path.join(process.env.VIGIL_BENCH_KEEP, `${s.name}.webm`));
  return { scenario: s, seconds: elapsed, bytes: Number(view.recording.bytes), chunks: Number(view.recording.chunks), frames: packets.length, keyframes: packets.filter((p) => p.key).length, keyBytes, cpuSeconds: meter.seconds() };
}

/**
 * `npm run bench -- desktop [--seconds=60 | --minutes=10] [--scenarios=idle,typing,scrolling,switching] [--codec=vp8|vp9|av1] [--no-record]`
 *
 * The real launcher (`vigil launch`, bin/vigil.js) on a 1920×1080 Xvfb display with openbox,
 * recording at 1 fps while xdotool plays a scripted user; the real server takes the upload.
 * Reported per scenario: launcher CPU (node + ffmpeg + xprop, % of one core; the launched
 * program's own CPU is excluded), MB per hour of recording, average upload kbit/s.
 */
export async function run(args: string[]): Promise<void> {
  const opt = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const seconds = opt('minutes') ? Number(opt('minutes')) * 60 : Number(opt('seconds') ?? 60);
  const codec = (opt('codec') ?? DEFAULT_SESSION_RECORDING_SETTINGS.videoCodec) as SessionRecordingSettings['videoCodec'];
  const wanted = (opt('scenarios') ?? SCENARIOS.map((s) => s.name).join(',')).split(',');
  if (!fs.existsSync('/usr/bin/xterm')) throw new Error('the desktop benchmark drives xterm: apt-get install xterm');
  const loadBefore = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const x = await startXvfb({ size: '1920x1080' });
  const t = await startTestServer();
  const home = tempDir('vigil-bench-desktop-');
  const results: Result[] = [];
  try {
    const admin = await Api.login(t.base, 'admin', ADMIN_PASSWORD);
    const settings = (await admin.get('/api/v1/settings/session-recording')).body;
    await admin.put('/api/v1/settings/session-recording', { ...settings, videoCodec: codec });
    const roles = Object.fromEntries((await admin.get('/api/v1/roles')).body.items.map((r: { name: string; id: string }) => [r.name, r.id]));
    const username = uniqueName('bench');
    const userId = (await admin.post('/api/v1/users', { username, password: 'bench-password', roles: [roles.User] })).body.id as string;
    const user = await Api.login(t.base, username, 'bench-password');
    for (const s of SCENARIOS.filter((sc) => wanted.includes(sc.name))) {
      const r = await measure(t.base, admin, user.token!, userId, x, s, seconds, home.dir);
      results.push(r);
      console.log(`${s.name}: ${r.seconds.toFixed(0)} s, ${r.bytes} bytes (${r.keyBytes} in keyframes), ${r.frames} frames (${r.keyframes} key), cpu ${((r.cpuSeconds / r.seconds) * 100).toFixed(1)} %, ${((r.bytes / r.seconds) * 3.6 / 1000).toFixed(2)} MB/h, ${((r.bytes * 8) / r.seconds / 1000).toFixed(1)} kbit/s`);
    }
  } finally {
    await t.stop();
    await x.stop();
    home.remove();
  }
  const loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  if (args.includes('--no-record')) return;
  const mbh = (r: Result): number => (r.bytes / r.seconds) * 3.6 / 1000;
  const kbps = (r: Result): number => (r.bytes * 8) / r.seconds / 1000;
  const cpu = (r: Result): number => (r.cpuSeconds / r.seconds) * 100;
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const over = (ok: (r: Result) => boolean): string => {
    const failing = results.filter((r) => !ok(r)).map((r) => r.scenario.name);
    return failing.length === 0 ? 'met in every scenario' : `**not met** in ${failing.join(', ')}`;
  };
  const lines = [
    `\`npm run bench -- desktop${args.length ? ' ' + args.join(' ') : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), shared with other engineers' work; load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}. ${codec.toUpperCase()}, 1920×1080 Xvfb (24-bit, black root window, openbox), 1 fps.`,
    '',
    seconds < 600
      ? `**Shortened runs:** each scenario ran ${seconds} s, not the issue's 10 minutes (this session's time budget); MB/h and kbit/s are extrapolated linearly from the ${seconds} s. The 10-minute mode is \`npm run bench -- desktop --minutes=10\`. The start of a session (the first keyframe of an empty screen and the windows appearing) weighs more in a short run, so these figures overstate an hour's rate.`
      : `Each scenario ran ${seconds / 60} minutes.`,
    '',
    '| scenario | what the scripted user does | frames (key) | bytes (in keyframes) | MB per hour | upload kbit/s (avg) | launcher CPU, % of one core |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.scenario.name} | ${r.scenario.what} | ${r.frames} (${r.keyframes}) | ${r.bytes.toLocaleString('en')} (${r.keyBytes.toLocaleString('en')}) | ${mbh(r).toFixed(2)} | ${kbps(r).toFixed(1)} | ${cpu(r).toFixed(1)} |`),
    '',
    `Goals: ≤ ${GOALS.mbPerHourTyping} MB/h typing (${results.find((r) => r.scenario.name === 'typing') ? mark(mbh(results.find((r) => r.scenario.name === 'typing')!) <= GOALS.mbPerHourTyping) : 'not run'}); ≤ ${GOALS.kbitPerSecond} kbit/s average upload (${over((r) => kbps(r) <= GOALS.kbitPerSecond)}); ≤ ${GOALS.cpuPercent} % of one core (${over((r) => cpu(r) <= GOALS.cpuPercent)}).`,
    '',
    'CPU counts the launcher process and all its children except the launched program\'s tree (ffmpeg capture/encode, the final-frame ffmpeg, xprop): utime+stime from /proc, sampled each second, last reading of each process kept. Bytes are what the server stored (the contiguous chunks), i.e. what was uploaded.',
    ...ANALYSIS,
  ];
  recordResult('desktop', lines);
}
