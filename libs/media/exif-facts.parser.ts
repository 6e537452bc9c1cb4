import type { ExifFacts, GpsFacts } from './media.types.js';

/** exif-reader's output shape (only what is read here). */
interface ExifTree {
  Image?: Record<string, unknown>;
  Photo?: Record<string, unknown>;
  GPSInfo?: Record<string, unknown>;
}

const text = (v: unknown): string | undefined => {
  if (typeof v !== 'string') return undefined;
  const t = v.replace(/\0+$/, '').trim();
  return t || undefined;
};

/** EXIF DMS triple (or a bare decimal) → decimal degrees. */
function degrees(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v) && v.length >= 1 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    const [d, m = 0, s = 0] = v as number[];
    return d + m / 60 + s / 3600;
  }
  return undefined;
}

export function gpsFromExif(gps: Record<string, unknown> | undefined): GpsFacts | undefined {
  if (!gps) return undefined;
  const lat = degrees(gps.GPSLatitude);
  const lon = degrees(gps.GPSLongitude);
  if (lat === undefined || lon === undefined) return undefined;
  const latitude = (text(gps.GPSLatitudeRef) === 'S' ? -1 : 1) * lat;
  const longitude = (text(gps.GPSLongitudeRef) === 'W' ? -1 : 1) * lon;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const alt = typeof gps.GPSAltitude === 'number' ? (gps.GPSAltitudeRef === 1 ? -gps.GPSAltitude : gps.GPSAltitude) : undefined;
  const round = (n: number) => Math.round(n * 1e7) / 1e7;
  return {
    latitude: round(latitude),
    longitude: round(longitude),
    ...(alt !== undefined ? { altitudeMetres: alt } : {}),
    source: 'exif',
    raw: JSON.stringify({ GPSLatitudeRef: gps.GPSLatitudeRef, GPSLatitude: gps.GPSLatitude, GPSLongitudeRef: gps.GPSLongitudeRef, GPSLongitude: gps.GPSLongitude }),
  };
}

/**
 * exif-reader parses EXIF times as if they were UTC (EXIF has no zone unless OffsetTime* is
 * present). Turn that Date back into the camera's own reading, and attach the offset if the
 * camera recorded one; otherwise the time has no zone and is stated as such.
 */
function captureTime(photo: Record<string, unknown> | undefined, image: Record<string, unknown> | undefined): { captureTime?: string; captureTimeIso?: string } {
  const v = photo?.DateTimeOriginal ?? photo?.DateTimeDigitized ?? image?.DateTime;
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) return {};
  const iso = v.toISOString().replace(/\.000Z$/, '').replace(/Z$/, '');
  const offset = text(photo?.OffsetTimeOriginal ?? photo?.OffsetTime);
  const exifStyle = iso.replace(/^(\d{4})-(\d{2})-(\d{2})T/, '$1:$2:$3 ');
  return {
    captureTime: offset ? `${exifStyle} ${offset}` : exifStyle,
    captureTimeIso: offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? `${iso}${offset === '+00:00' ? 'Z' : offset}` : iso,
  };
}

/** exif-reader output → the facts a case officer asks for. Pure. */
export function exifFacts(tree: unknown): ExifFacts {
  const t = (tree ?? {}) as ExifTree;
  const gps = gpsFromExif(t.GPSInfo);
  const orientation = typeof t.Image?.Orientation === 'number' ? t.Image.Orientation : undefined;
  return {
    ...(text(t.Image?.Make) ? { make: text(t.Image?.Make) } : {}),
    ...(text(t.Image?.Model) ? { model: text(t.Image?.Model) } : {}),
    ...(text(t.Photo?.LensModel) ? { lensModel: text(t.Photo?.LensModel) } : {}),
    ...(text(t.Image?.Software) ? { software: text(t.Image?.Software) } : {}),
    ...captureTime(t.Photo, t.Image),
    ...(orientation !== undefined ? { orientation } : {}),
    ...(gps ? { gps } : {}),
  };
}

/** Makes exif-reader's tree JSON-safe for storage: Buffers become hex, Dates ISO strings. */
export function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonSafe(v)]));
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}
