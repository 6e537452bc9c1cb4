import { AppError } from '../core/index.js';
import type { MediaFailure, MediaFailureCode } from './media.types.js';

/**
 * Failures cross to callers as values (MediaResult). A job that wants to throw turns one into a
 * MediaError, an AppError with the same stable code and the failure in `details`.
 */
export class MediaError extends AppError {
  constructor(readonly failure: MediaFailure) {
    super(failure.code, failure.message, failure.code === 'MEDIA_TIMEOUT' || failure.code === 'MEDIA_TOOL_MISSING' ? 503 : 422, {
      needsSpecialistTool: failure.needsSpecialistTool,
      retryable: failure.retryable,
      ...(failure.tool ? { tool: failure.tool } : {}),
      ...(failure.detail ? { detail: failure.detail } : {}),
    });
    this.name = 'MediaError';
  }
}

export function mediaFailure(code: MediaFailureCode, message: string, extra: Partial<MediaFailure> = {}): MediaFailure {
  return {
    code,
    message,
    needsSpecialistTool: extra.needsSpecialistTool ?? false,
    retryable: extra.retryable ?? (code === 'MEDIA_TIMEOUT' || code === 'MEDIA_TOOL_MISSING'),
    ...(extra.tool ? { tool: extra.tool } : {}),
    ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
    ...(extra.detail ? { detail: extra.detail } : {}),
  };
}

interface Rule {
  test: RegExp;
  code: MediaFailureCode;
  message: string;
  needsSpecialistTool?: boolean;
  retryable?: boolean;
}

/**
 * ffmpeg/ffprobe complaints, most specific first, in words an investigator understands. The
 * first matching rule wins; the patterns are ffmpeg 5.1's own wording.
 */
const RULES: Rule[] = [
  {
    test: /moov atom not found/,
    code: 'MEDIA_UNDECODABLE',
    message:
      "The MP4 file is incomplete: its index (moov atom) is missing, so no player can find its frames. It needs the original recorder's export again, or a specialist repair tool.",
    needsSpecialistTool: true,
  },
  {
    test: /Server returned 403|Server returned 401|HTTP error 403|HTTP error 401/,
    code: 'MEDIA_INPUT_UNREADABLE',
    message: 'The storage service refused to hand over the file (HTTP 401/403); the download link may have expired.',
    retryable: true,
  },
  {
    test: /Server returned 404|HTTP error 404/,
    code: 'MEDIA_INPUT_UNREADABLE',
    message: 'The storage service has no such file (HTTP 404).',
  },
  {
    test: /Server returned 5\d\d|HTTP error 5\d\d|Connection refused|Connection timed out|Operation timed out|Network is unreachable|End of file.*tcp|I\/O error/,
    code: 'MEDIA_INPUT_UNREADABLE',
    message: 'The file could not be read over the network; try again later.',
    retryable: true,
  },
  {
    test: /No such file or directory/,
    code: 'MEDIA_INPUT_UNREADABLE',
    message: 'The input file does not exist (or vanished while it was being read).',
  },
  {
    test: /Protocol not on whitelist|Protocol '.*' not on whitelist/,
    code: 'MEDIA_UNSUPPORTED',
    message: 'The file refers to other files or addresses (a playlist or reference file); only self-contained media is processed.',
    needsSpecialistTool: true,
  },
  {
    test: /could not find codec parameters.*unspecified pixel format|Could not find codec parameters/i,
    code: 'MEDIA_UNDECODABLE',
    message:
      'The video stream could not be decoded: its frames are damaged or in a form ffmpeg cannot read (no picture could be produced). Play it with the recorder\'s own player or a specialist tool.',
    needsSpecialistTool: true,
  },
  {
    test: /Invalid sync code|Invalid frame marker|Error while decoding stream|decode_slice_header error|no frame!|Invalid NAL unit size|missing picture in access unit/,
    code: 'MEDIA_UNDECODABLE',
    message:
      "The video's frames are corrupt and could not be decoded. The original is kept as received; use the recorder's own player or a specialist tool.",
    needsSpecialistTool: true,
  },
  {
    test: /Unknown input format|Invalid data found when processing input|could not find corresponding|Format .* detected only with low score/,
    code: 'MEDIA_UNDECODABLE',
    message:
      'The file is not in a format ffmpeg can read: it may be a proprietary recorder format, encrypted, or damaged. It needs the native player or a specialist tool.',
    needsSpecialistTool: true,
  },
  {
    test: /Decoder \(codec .*\) not found|Unsupported codec|codec not currently supported|Function not implemented/,
    code: 'MEDIA_UNSUPPORTED',
    message: 'The file uses a codec this service cannot decode; it needs the native player or a specialist tool.',
    needsSpecialistTool: true,
  },
  {
    test: /Output file is empty, nothing was encoded|Output file #0 does not contain any stream|does not contain any stream/,
    code: 'MEDIA_UNDECODABLE',
    message: 'No frame or sample could be decoded from the file, so there is nothing to make a copy of.',
    needsSpecialistTool: true,
  },
  {
    test: /No space left on device/,
    code: 'MEDIA_TOOL_FAILED',
    message: 'The working folder ran out of disk space.',
    retryable: true,
  },
];

/** The lines that carry complaints, at most `max` of them, most recent last. */
export function complaintLines(stderr: string, max = 12): string[] {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && /\[(error|fatal|panic)\]|error|invalid|not found|failed|corrupt/i.test(l));
  return lines.slice(-max);
}

/**
 * Turns a failed ffmpeg/ffprobe run into a failure a person understands. Pure: stderr in,
 * failure out. Unknown complaints become MEDIA_TOOL_FAILED with the tool's own last words.
 */
export function diagnoseToolFailure(tool: string, exitCode: number | null, stderr: string): MediaFailure {
  const detail = complaintLines(stderr).join('\n') || stderr.trim().split(/\r?\n/).slice(-5).join('\n');
  for (const rule of RULES) {
    if (rule.test.test(stderr)) {
      return mediaFailure(rule.code, rule.message, {
        needsSpecialistTool: rule.needsSpecialistTool ?? false,
        retryable: rule.retryable ?? false,
        tool,
        exitCode,
        detail,
      });
    }
  }
  return mediaFailure('MEDIA_TOOL_FAILED', `${tool} failed (exit code ${exitCode ?? 'none'}): ${detail.split('\n').pop() ?? 'no message'}`, {
    tool,
    exitCode,
    detail,
  });
}

/** Counts decoder complaints in a run's stderr (repeat+level logging keeps every line). */
export function countDecodeErrors(stderr: string): number {
  let n = 0;
  for (const line of stderr.split('\n')) {
    if (/corrupt decoded frame|concealing \d+ DC|error while decoding MB|Invalid sync code|Invalid frame marker|Error while decoding stream|decode_slice_header error|Invalid NAL/i.test(line)) n++;
  }
  return n;
}
