import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test-side tools, independent of libs/media: fixtures are made with ffmpeg's lavfi sources in a
 * temporary folder, and outputs are checked with ffprobe directly, so the library does not get
 * to grade its own work.
 */

export function scratch(prefix = 'dems-media-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs ffmpeg quietly; throws with its stderr if it fails. */
export function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}\n${r.stderr}`);
}

/** The same, without blocking, so independent fixtures can be made side by side. */
export function ffmpegAsync(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], (err, _out, stderr) =>
      err ? reject(new Error(`ffmpeg ${args.join(' ')}\n${stderr}`)) : resolve(),
    );
  });
}

export interface ProbedStream {
  index: number;
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  field_order?: string;
  side_data_list?: { side_data_type: string; rotation?: number }[];
  tags?: Record<string, string>;
}

export function ffprobeJson(path: string, extra: string[] = []): { format: { format_name: string; duration?: string; tags?: Record<string, string> }; streams: ProbedStream[] } {
  const out = execFileSync('ffprobe', ['-v', 'error', ...extra, '-of', 'json', '-show_format', '-show_streams', path], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** Frames the decoder produces for the first video stream (ffprobe -count_frames). */
export function decodedFrames(path: string, extra: string[] = []): number {
  const out = execFileSync('ffprobe', ['-v', 'error', ...extra, '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return Number(out.trim().split('\n')[0]);
}

/** Presentation times of every decoded frame of the first video stream, in seconds. */
export function framePts(path: string): number[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_frames', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', path], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .map((l) => l.split(',')[0].trim())
    .filter(Boolean)
    .map(Number);
}

/** Box types at the top level of an MP4, in file order (faststart puts moov before mdat). */
export function topLevelBoxes(path: string): string[] {
  const b = readFileSync(path);
  const boxes: string[] = [];
  let at = 0;
  while (at + 8 <= b.length) {
    let size = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(b.readBigUInt64BE(at + 8));
    if (size === 0) size = b.length - at;
    boxes.push(type);
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Process ids of every ffmpeg/ffprobe process that is a child of this process. */
export function childMediaProcesses(): number[] {
  const r = spawnSync('ps', ['-o', 'pid=,ppid=,stat=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length >= 4 && /^(ffmpeg|ffprobe)$/.test(p[3]))
    .map((p) => Number(p[0]));
}

/** Whether a process id is still alive (a zombie counts as alive: it was not reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function hasEncoder(name: string): boolean {
  const out = execFileSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  return new RegExp(`\\s${name}\\s`).test(out);
}

/* ------------------------------------------------------------------ EXIF without exiftool */

type ExifValue = { type: 'ascii'; value: string } | { type: 'short'; value: number } | { type: 'rational'; value: [number, number][] };
type Ifd = [number, ExifValue][];

/**
 * A minimal little-endian TIFF/EXIF block (IFD0 + Exif IFD + GPS IFD), written by hand so the
 * test's EXIF does not come from sharp, the library under test.
 */
export function exifBlock(ifd0: Ifd, exif: Ifd, gps: Ifd): Buffer {
  const EXIF_PTR = 0x8769;
  const GPS_PTR = 0x8825;
  const size = (v: ExifValue) => (v.type === 'ascii' ? v.value.length + 1 : v.type === 'short' ? 2 : v.value.length * 8);
  const ifdBytes = (n: number) => 2 + n * 12 + 4;
  const dataBytes = (ifd: Ifd) => ifd.reduce((s, [, v]) => s + (size(v) > 4 ? size(v) + (size(v) % 2) : 0), 0);
  const ifd0Full: Ifd = [...ifd0, [EXIF_PTR, { type: 'short', value: 0 }], [GPS_PTR, { type: 'short', value: 0 }]];
  const off0 = 8;
  const offExif = off0 + ifdBytes(ifd0Full.length) + dataBytes(ifd0);
  const offGps = offExif + ifdBytes(exif.length) + dataBytes(exif);
  const total = offGps + ifdBytes(gps.length) + dataBytes(gps);
  const b = Buffer.alloc(total);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(off0, 4);
  const writeIfd = (at: number, ifd: Ifd, pointers: Record<number, number> = {}) => {
    const sorted = [...ifd].sort((x, y) => x[0] - y[0]);
    b.writeUInt16LE(sorted.length, at);
    let data = at + ifdBytes(sorted.length);
    sorted.forEach(([tag, v], i) => {
      const e = at + 2 + i * 12;
      b.writeUInt16LE(tag, e);
      if (tag in pointers) {
        b.writeUInt16LE(4, e + 2);
        b.writeUInt32LE(1, e + 4);
        b.writeUInt32LE(pointers[tag], e + 8);
        return;
      }
      const n = size(v);
      b.writeUInt16LE(v.type === 'ascii' ? 2 : v.type === 'short' ? 3 : 5, e + 2);
      b.writeUInt32LE(v.type === 'ascii' ? n : v.type === 'short' ? 1 : v.value.length, e + 4);
      const target = n > 4 ? data : e + 8;
      if (n > 4) b.writeUInt32LE(data, e + 8);
      if (v.type === 'ascii') b.write(`${v.value}\0`, target, 'latin1');
      else if (v.type === 'short') b.writeUInt16LE(v.value, target);
      else v.value.forEach(([num, den], k) => (b.writeUInt32LE(num, target + k * 8), b.writeUInt32LE(den, target + k * 8 + 4)));
      if (n > 4) data += n + (n % 2);
    });
    b.writeUInt32LE(0, at + 2 + sorted.length * 12);
  };
  writeIfd(off0, ifd0Full, { [EXIF_PTR]: offExif, [GPS_PTR]: offGps });
  writeIfd(offExif, exif);
  writeIfd(offGps, gps);
  return b;
}

/** Puts an EXIF APP1 segment right after a JPEG's SOI marker. */
export function withExif(jpeg: Buffer, tiff: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), head, body, jpeg.subarray(2)]);
}

/** RGB of the pixel block at (x, y) of the first frame, as ffmpeg decodes and displays it. */
export function pixel(path: string, x: number, y: number): [number, number, number] {
  const raw = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-frames:v', '1', '-vf', `crop=2:2:${x}:${y}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 20 });
  return [raw[0], raw[1], raw[2]];
}
