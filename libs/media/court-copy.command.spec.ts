import { describe, expect, it } from '@jest/globals';
import { buildCaption, formatCaptionTime, recorderReadingToEpochMs, wallClockToEpochMs, zoneOffsetMs } from './court-copy.command.js';

describe('time-zone arithmetic (Intl, no tz database of our own)', () => {
  it.each([
    ['winter London = UTC', '2026-11-20T09:58:12', 'Europe/London', '2026-11-20T09:58:12.000Z'],
    ['summer London = UTC+1', '2026-07-01T12:00:00', 'Europe/London', '2026-07-01T11:00:00.000Z'],
    ['milliseconds kept', '2026-07-01T12:00:00.250', 'Europe/London', '2026-07-01T11:00:00.250Z'],
    ['clocks go back: the repeated 01:30 is taken as the first (BST) one', '2026-10-25T01:30:00', 'Europe/London', '2026-10-25T00:30:00.000Z'],
    ['New York winter = UTC-5', '2026-01-15T08:00:00', 'America/New_York', '2026-01-15T13:00:00.000Z'],
  ])('%s', (_n, wall, zone, iso) => {
    expect(new Date(wallClockToEpochMs(wall, zone)).toISOString()).toBe(iso);
  });

  it('refuses a reading in the hour the clocks skipped', () => {
    expect(() => wallClockToEpochMs('2026-03-29T01:30:00', 'Europe/London')).toThrow(/does not exist/);
  });

  it('a reading with a zone designator is an instant, whatever the zone', () => {
    expect(recorderReadingToEpochMs('2026-07-01T12:00:00Z', 'Europe/London')).toBe(Date.UTC(2026, 6, 1, 12));
    expect(recorderReadingToEpochMs('2026-07-01T12:00:00+02:00', 'UTC')).toBe(Date.UTC(2026, 6, 1, 10));
  });

  it('zone offsets', () => {
    expect(zoneOffsetMs(Date.UTC(2026, 6, 1), 'Europe/London')).toBe(3_600_000);
    expect(zoneOffsetMs(Date.UTC(2026, 0, 1), 'Europe/London')).toBe(0);
  });

  it('formats as the caption shows it, with the zone abbreviation', () => {
    expect(formatCaptionTime(Date.UTC(2026, 6, 1, 11, 0, 0, 40), 'Europe/London')).toBe('2026-07-01 12:00:00.040 BST');
    expect(formatCaptionTime(Date.UTC(2026, 10, 20, 9, 56, 39), 'Europe/London')).toBe('2026-11-20 09:56:39.000 GMT');
  });
});

describe('buildCaption', () => {
  const spec = { exhibitReference: 'JS/1', recorderTimeAtStart: '2026-11-20T09:58:12', clockOffsetSeconds: 93, timeZone: 'Europe/London' };

  it('true time = recorder reading − clock offset (+ stream time)', () => {
    const { computation } = buildCaption(spec, 720);
    // The recorder ran 93 s fast: its 09:58:12 was really 09:56:39.
    expect(computation.trueTimeAtStreamZeroUtc).toBe('2026-11-20T09:56:39.000Z');
    expect(computation.offsetSeconds).toBe(`${Date.UTC(2026, 10, 20, 9, 56, 39) / 1000}.000500`);
    expect(computation.examples[0]).toEqual({ streamSeconds: 0, shownAs: 'JS/1  2026-11-20 09:56:39.000 GMT' });
    expect(computation.examples[3]).toEqual({ streamSeconds: 3600, shownAs: 'JS/1  2026-11-20 10:56:39.000 GMT' });
    expect(computation.description).toMatch(/93 s fast/);
  });

  it('a slow clock (negative offset) moves the time forward', () => {
    const { computation } = buildCaption({ ...spec, clockOffsetSeconds: -93 }, 720);
    expect(computation.trueTimeAtStreamZeroUtc).toBe('2026-11-20T09:59:45.000Z');
    expect(computation.description).toMatch(/93 s slow/);
  });

  it('drawtext expression: localtime seconds and exact milliseconds from the same t + offset', () => {
    const { filters, env } = buildCaption(spec, 720);
    const o = buildCaption(spec, 720).computation.offsetSeconds;
    expect(env).toEqual({ TZ: 'Europe/London' });
    expect(filters[0]).toContain(`%{pts\\\\:localtime\\\\:${o}\\\\:%Y-%m-%d %H\\\\\\\\\\\\:%M\\\\\\\\\\\\:%S}`);
    expect(filters[0]).toContain(`%{eif\\\\:floor(((t+${o})-floor(t+${o}))*1000)\\\\:d\\\\:3}`);
    expect(filters[1]).toContain('stream time %{pts\\\\:hms}');
    expect(filters[0]).toContain('fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf');
  });

  it('escapes an exhibit reference at every level (drawtext, option, graph)', () => {
    const { filters } = buildCaption({ ...spec, exhibitReference: "AB/1 'x': 50%, [y]; z\\" }, 720);
    // Verified with ffmpeg 5.1 to render literally as: AB/1 'x': 50%, [y]; z\
    expect(filters[0]).toContain("text=AB/1 \\\\\\'x\\\\\\'\\\\: 50\\\\\\\\%\\, \\[y\\]\\; z\\\\\\\\\\\\\\\\");
  });

  it('refuses unknown zones and impossible times', () => {
    expect(() => buildCaption({ ...spec, timeZone: 'Mars/Olympus' }, 720)).toThrow();
    expect(() => buildCaption({ ...spec, recorderTimeAtStart: 'yesterday' }, 720)).toThrow();
  });
});
