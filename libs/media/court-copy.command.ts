import { escapeDrawtextLiteral, filter } from './ffmpeg-args.js';
import { CAPTION_FONT_FILE, DEFAULT_MAX_SHORT_SIDE } from './media-recipes.js';
import type { CaptionComputation } from './media.types.js';
import { buildVideoWorkingCopyCommand, type VideoCommand, type VideoSource } from './video-working-copy.command.js';

export interface CaptionSpec {
  /** The exhibit reference shown on every frame, e.g. 'JS/1'. */
  exhibitReference: string;
  /**
   * What the recorder's clock read at stream time 0 (the first frame of the copy): ISO 8601.
   * Without a zone designator ('2026-11-20T09:58:12.000') it is a wall-clock reading in
   * `timeZone`, as a DVR shows it; with one ('…Z', '…+01:00') it is an instant.
   */
  recorderTimeAtStart: string;
  /**
   * How far the recorder's clock was ahead of true time, in seconds (recorder − true), as
   * recorded at retrieval (exhibit.retrieval.clockOffsetSeconds). −93 means it ran 93 s slow.
   */
  clockOffsetSeconds: number;
  /** IANA zone the recorder's wall clock and the caption use (exhibit.retrieval.timeZone); default UTC. */
  timeZone?: string;
}

export interface CaptionPlan {
  filters: string[];
  env: Record<string, string>;
  computation: CaptionComputation;
}

const WALL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (Intl only; no tz database of our own). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * A wall-clock reading in `timeZone` → epoch ms. In the hour that occurs twice when clocks go
 * back, the first (summer-time) reading is taken; a reading in the skipped hour is refused.
 */
export function wallClockToEpochMs(wall: string, timeZone: string): number {
  const m = WALL.exec(wall);
  if (!m) throw new Error(`not a wall-clock time (YYYY-MM-DDTHH:MM:SS[.ffffff]): ${wall}`);
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const naive = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + frac;
  const candidates = new Set<number>();
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) candidates.add(naive - zoneOffsetMs(probe, timeZone));
  const fits = [...candidates].filter((c) => c + zoneOffsetMs(c, timeZone) === naive).sort((a, b) => a - b);
  if (fits.length === 0) throw new Error(`${wall} does not exist in ${timeZone} (the clocks skipped it)`);
  return fits[0];
}

/** Epoch ms of the recorder reading: an instant when it carries a zone, otherwise wall time in `timeZone`. */
export function recorderReadingToEpochMs(reading: string, timeZone: string): number {
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(reading.trim())) {
    const ms = Date.parse(reading);
    if (!Number.isFinite(ms)) throw new Error(`not an ISO 8601 time: ${reading}`);
    return ms;
  }
  return wallClockToEpochMs(reading.trim(), timeZone);
}

/** How the caption shows an instant (what drawtext prints for it), for the record and for tests. */
export function formatCaptionTime(epochMs: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  }).formatToParts(new Date(epochMs));
  const g = (t: string) => f.find((p) => p.type === t)?.value ?? '';
  const ms = String(((epochMs % 1000) + 1000) % 1000).padStart(3, '0');
  return `${g('year')}-${g('month')}-${g('day')} ${g('hour')}:${g('minute')}:${g('second')}.${ms} ${g('timeZoneName')}`;
}

/**
 * The burnt-in caption: exhibit reference and the real-world time of each frame,
 *   true time = (recorder reading at stream time 0 − clock offset) + frame's stream time,
 * shown in the recorder's time zone (with summer time; glibc's localtime under TZ=zone), to the
 * millisecond, plus the stream time itself. Pure.
 *
 * Seconds and milliseconds come from the same double `X = t + O` (`O` = epoch seconds at stream
 * time 0, plus half a millisecond so the display rounds to the nearest millisecond instead of
 * truncating 0.039999… to .039): drawtext's localtime truncates X, and the milliseconds are
 * `floor((X − floor(X)) × 1000)`, exact because X − floor(X) is exact; so the two never disagree.
 */
export function buildCaption(spec: CaptionSpec, frameHeight: number, fontFile = CAPTION_FONT_FILE): CaptionPlan {
  const timeZone = spec.timeZone ?? 'UTC';
  new Intl.DateTimeFormat('en-GB', { timeZone }); // throws RangeError on an unknown zone
  if (!Number.isFinite(spec.clockOffsetSeconds)) throw new Error('clockOffsetSeconds must be a number');
  const readingMs = recorderReadingToEpochMs(spec.recorderTimeAtStart, timeZone);
  const trueStartMs = readingMs - Math.round(spec.clockOffsetSeconds * 1000);
  if (trueStartMs < 0) throw new Error('the corrected start time is before 1970');
  // O in microseconds as an exact decimal string (drawtext parses the offset as a duration, µs precision).
  const offsetMicros = BigInt(trueStartMs) * 1000n + 500n;
  const offset = `${offsetMicros / 1_000_000n}.${String(offsetMicros % 1_000_000n).padStart(6, '0')}`;
  const fontSize = Math.max(10, Math.round(frameHeight / 26));
  const lineGap = Math.round(fontSize * 1.35);
  const line1 =
    `${escapeDrawtextLiteral(spec.exhibitReference)}  ` +
    `%{pts:localtime:${offset}:%Y-%m-%d %H\\:%M\\:%S}.` +
    `%{eif:floor(((t+${offset})-floor(t+${offset}))*1000):d:3} ` +
    `%{pts:localtime:${offset}:%Z}`;
  const line2 = 'stream time %{pts:hms}';
  const common: [string, string | number][] = [
    ['fontfile', fontFile],
    ['fontsize', fontSize],
    ['fontcolor', 'white'],
    ['box', 1],
    ['boxcolor', 'black@0.6'],
    ['boxborderw', 3],
    ['x', 4],
  ];
  const filters = [
    filter('drawtext', [...common, ['y', 4], ['text', line1]]),
    filter('drawtext', [...common, ['y', 4 + lineGap], ['text', line2]]),
  ];
  const examples = [0, 1, 60, 3600].map((s) => ({
    streamSeconds: s,
    shownAs: `${spec.exhibitReference}  ${formatCaptionTime(trueStartMs + s * 1000, timeZone)}`,
  }));
  const computation: CaptionComputation = {
    exhibitReference: spec.exhibitReference,
    recorderTimeAtStart: spec.recorderTimeAtStart,
    clockOffsetSeconds: spec.clockOffsetSeconds,
    timeZone,
    trueTimeAtStreamZeroUtc: new Date(trueStartMs).toISOString(),
    offsetSeconds: offset,
    formula: 'shown time = (recorderTimeAtStart − clockOffsetSeconds) + t, in timeZone; t = the frame\'s stream time (0 at the first frame)',
    description:
      `Each frame shows ${spec.exhibitReference}, then the real-world time: the recorder read ${spec.recorderTimeAtStart}` +
      `${/(Z|[+-]\d{2}:?\d{2})$/i.test(spec.recorderTimeAtStart) ? '' : ` (${timeZone} wall clock)`} at stream time 0 and was ` +
      `${Math.abs(spec.clockOffsetSeconds)} s ${spec.clockOffsetSeconds >= 0 ? 'fast' : 'slow'}, so stream time 0 is ` +
      `${new Date(trueStartMs).toISOString()} (UTC); the frame's stream time is added and the result shown in ${timeZone} ` +
      '(summer time applied), rounded to the nearest millisecond. The second line shows the stream time itself.',
    examples,
  };
  return { filters, env: { TZ: timeZone }, computation };
}

/** The court copy: the working-copy recipe with the caption burnt in after scaling. Pure. */
export function buildCourtCopyCommand(source: VideoSource, maxShortSide: number, caption: CaptionSpec, fontFile = CAPTION_FONT_FILE): VideoCommand & { caption: CaptionComputation } {
  const probeSize = buildVideoWorkingCopyCommand({ source, maxShortSide });
  const plan = buildCaption(caption, probeSize.height, fontFile);
  const cmd = buildVideoWorkingCopyCommand({ source, maxShortSide, overlayFilters: plan.filters, env: plan.env });
  return { ...cmd, caption: plan.computation };
}

/** Checks that a caption can be computed (a known zone, a wall-clock time that exists, after 1970); throws with the reason. Pure. */
export function checkCaption(spec: CaptionSpec): CaptionComputation {
  return buildCaption(spec, DEFAULT_MAX_SHORT_SIDE).computation;
}
