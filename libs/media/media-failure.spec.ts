import { describe, expect, it } from '@jest/globals';
import { AppError } from '../core/index.js';
import { countDecodeErrors, diagnoseToolFailure, MediaError, mediaFailure } from './media-failure.js';

describe('diagnoseToolFailure: ffmpeg stderr → a stable code and words a person understands', () => {
  it.each([
    ['[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\nx.mp4: Invalid data found when processing input', 'MEDIA_UNDECODABLE', /index \(moov atom\) is missing/, true],
    ['[vp9 @ 0x1] [error] Invalid sync code\n[error] Error while decoding stream #0:0: Invalid data found when processing input', 'MEDIA_UNDECODABLE', /frames are corrupt/, true],
    ['random.bin: Invalid data found when processing input', 'MEDIA_UNDECODABLE', /not in a format ffmpeg can read/, true],
    ['[https @ 0x1] HTTP error 403 Forbidden\nServer returned 403 Forbidden (access denied)', 'MEDIA_INPUT_UNREADABLE', /refused/, false],
    ['Server returned 404 Not Found', 'MEDIA_INPUT_UNREADABLE', /no such file/, false],
    ['[tcp @ 0x1] Connection refused', 'MEDIA_INPUT_UNREADABLE', /over the network/, false],
    ['/x/y.mp4: No such file or directory', 'MEDIA_INPUT_UNREADABLE', /does not exist/, false],
    ["[concat @ 0x1] Protocol 'http' not on whitelist 'file'!", 'MEDIA_UNSUPPORTED', /refers to other files/, true],
    ['Output file is empty, nothing was encoded', 'MEDIA_UNDECODABLE', /nothing to make a copy of/, true],
    ['something nobody has seen before', 'MEDIA_TOOL_FAILED', /ffmpeg failed \(exit code 1\)/, false],
  ])('%s', (stderr, code, message, specialist) => {
    const f = diagnoseToolFailure('ffmpeg', 1, stderr);
    expect(f.code).toBe(code);
    expect(f.message).toMatch(message);
    expect(f.needsSpecialistTool).toBe(specialist);
    expect(f.tool).toBe('ffmpeg');
  });

  it('network trouble and 5xx are retryable; broken files are not', () => {
    expect(diagnoseToolFailure('ffmpeg', 1, 'Server returned 503 Service Unavailable').retryable).toBe(true);
    expect(diagnoseToolFailure('ffmpeg', 1, 'moov atom not found').retryable).toBe(false);
  });

  it('counts decoder complaints', () => {
    expect(countDecodeErrors('[warning] x: corrupt decoded frame in stream 0\nok\n[error] Invalid sync code\n')).toBe(2);
  });
});

describe('MediaError', () => {
  it('is an AppError with the same code and the failure in details', () => {
    const e = new MediaError(mediaFailure('MEDIA_TIMEOUT', 'too slow'));
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe('MEDIA_TIMEOUT');
    expect(e.status).toBe(503);
    expect(e.details).toMatchObject({ retryable: true, needsSpecialistTool: false });
    expect(new MediaError(mediaFailure('MEDIA_UNDECODABLE', 'broken')).status).toBe(422);
  });
});
