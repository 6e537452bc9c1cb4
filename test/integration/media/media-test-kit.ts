import { execFileSync, spawnSync } from 'node:child_process';
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
