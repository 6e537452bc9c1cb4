import { describe, expect, it } from '@jest/globals';
import { exifFacts, gpsFromExif, jsonSafe } from './exif-facts.parser.js';

describe('exifFacts', () => {
  // The shape exif-reader 2 returns (times parsed as if UTC, GPS as DMS triples).
  const tree = {
    Image: { Make: 'Apple\0', Model: 'iPhone 14', Orientation: 6, Software: '17.1' },
    Photo: { DateTimeOriginal: new Date(Date.UTC(2026, 10, 20, 9, 58, 12)), OffsetTimeOriginal: '+01:00', LensModel: 'back camera' },
    GPSInfo: { GPSLatitudeRef: 'N', GPSLatitude: [51, 30, 26], GPSLongitudeRef: 'W', GPSLongitude: [0, 7, 39], GPSAltitude: 12.5, GPSAltitudeRef: 0 },
  };

  it('camera, capture time with its offset, orientation, GPS in decimal degrees', () => {
    expect(exifFacts(tree)).toEqual({
      make: 'Apple',
      model: 'iPhone 14',
      lensModel: 'back camera',
      software: '17.1',
      captureTime: '2026:11:20 09:58:12 +01:00',
      captureTimeIso: '2026-11-20T09:58:12+01:00',
      orientation: 6,
      gps: expect.objectContaining({ latitude: 51.5072222, longitude: -0.1275, altitudeMetres: 12.5, source: 'exif' }),
    });
  });

  it('a capture time without an offset stays zone-less (not silently UTC)', () => {
    expect(exifFacts({ Photo: { DateTimeOriginal: new Date(Date.UTC(2020, 0, 2, 3, 4, 5)) } })).toEqual({ captureTime: '2020:01:02 03:04:05', captureTimeIso: '2020-01-02T03:04:05' });
  });

  it('southern and eastern hemispheres; missing or absurd GPS is dropped', () => {
    expect(gpsFromExif({ GPSLatitudeRef: 'S', GPSLatitude: [33, 52, 4], GPSLongitudeRef: 'E', GPSLongitude: [151, 12, 26] })).toMatchObject({ latitude: -33.8677778, longitude: 151.2072222 });
    expect(gpsFromExif({ GPSLatitudeRef: 'N' })).toBeUndefined();
    expect(gpsFromExif({ GPSLatitude: [123, 0, 0], GPSLongitude: [0, 0, 0] })).toBeUndefined();
    expect(exifFacts(undefined)).toEqual({});
  });

  it('jsonSafe: buffers as hex, dates as ISO', () => {
    expect(jsonSafe({ a: Buffer.from([1, 2]), d: new Date(0), n: [1, NaN] })).toEqual({ a: { hex: '0102' }, d: '1970-01-01T00:00:00.000Z', n: [1, null] });
  });
});
