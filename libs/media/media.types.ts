/**
 * The typed shapes libs/media hands to its callers. Everything here is plain data (JSON-safe),
 * so a job can store it as it is: facts, raw tool output, provenance and failures.
 */

export type MediaKind = 'video' | 'audio' | 'image' | 'other';

/** A raw elementary stream has no container and no timing: its frame rate is an assumption. */
export type ElementaryStreamCodec = 'h264' | 'hevc';

/** How the content was recognised, from its bytes, never from its name or declared type. */
export interface ContentDetection {
  kind: MediaKind;
  mime: string;
  /** Short format label: mp4, quicktime, matroska, webm, mpegts, mpegps, avi, dhav, h264, hevc, wav, amr, jpeg, heic … */
  format: string;
  /** What decided: the magic bytes, ffprobe's streams, or both. */
  method: 'magic' | 'ffprobe' | 'magic+ffprobe';
  /** Set for raw .264/.265 streams (no container, no timing). */
  elementaryStream?: ElementaryStreamCodec;
  /** The first bytes looked at, hex, for the record. */
  magicHex: string;
}

export interface TimestampGap {
  /** Index (decode order of presentation, 0-based) of the frame after which the jump happens. */
  afterFrame: number;
  fromSeconds: number;
  toSeconds: number;
  /** toSeconds − fromSeconds; negative for a backward jump. */
  gapSeconds: number;
  direction: 'forward' | 'backward';
}

/** What a full decode of the first video stream says about its frames. */
export interface FrameTimingFacts {
  /** Frames the decoder produced (not packets, not the container's claim). */
  decodedFrames: number;
  /** Packets read for the stream (more packets than frames means undecodable frames). */
  packets?: number;
  firstPtsSeconds?: number;
  lastPtsSeconds?: number;
  /** Time from the first frame to the end of the last (last pts + its duration − first pts). */
  spanSeconds?: number;
  minFrameIntervalSeconds?: number;
  maxFrameIntervalSeconds?: number;
  meanFrameIntervalSeconds?: number;
  /** Intervals between frames differ by more than 1 % of the smallest (gaps excluded). */
  variableFrameRate: boolean;
  /** Frames flagged interlaced by the decoder. */
  interlacedFrames: number;
  framesWithoutTimestamp: number;
  gapThresholdSeconds: number;
  /** Jumps larger than the threshold, or backwards, in presentation order (at most 1000 listed). */
  gaps: TimestampGap[];
  gapCount: number;
  /** 'assumed' for raw elementary streams: the times come from the assumed frame rate. */
  timing: 'stream' | 'assumed';
}

export interface VideoStreamFacts {
  index: number;
  codec: string;
  codecLongName?: string;
  profile?: string;
  pixelFormat?: string;
  width: number;
  height: number;
  /** e.g. '16:15'; '1:1' when square or unknown. */
  sampleAspectRatio: string;
  displayAspectRatio?: string;
  /** Clockwise rotation a player applies (0, 90, 180, 270), from the display matrix or the legacy tag. */
  rotation: 0 | 90 | 180 | 270;
  /** Size as shown: non-square pixels made square, then rotated. */
  displayWidth: number;
  displayHeight: number;
  /** Rationals kept as ffprobe gives them ('30000/1001'); '0/0' when unknown. For display only. */
  rFrameRate?: string;
  avgFrameRate?: string;
  timeBase?: string;
  fieldOrder?: string;
  /** The container or codec says the stream is interlaced (field order other than progressive). */
  interlaced: boolean;
  durationSeconds?: number;
  /** The container's frame count (packets); the decoded count is in ProbeFacts.frames. */
  declaredFrames?: number;
  bitRate?: number;
  colorTransfer?: string;
  colorPrimaries?: string;
  colorSpace?: string;
  /** PQ or HLG transfer. */
  hdr: boolean;
  attachedPicture: boolean;
}

export interface AudioStreamFacts {
  index: number;
  codec: string;
  codecLongName?: string;
  profile?: string;
  sampleRate: number;
  channels: number;
  channelLayout?: string;
  sampleFormat?: string;
  bitsPerSample?: number;
  durationSeconds?: number;
  bitRate?: number;
}

export interface GpsFacts {
  latitude: number;
  longitude: number;
  altitudeMetres?: number;
  /** Where it was read: an EXIF GPS IFD, or an ISO 6709 container tag. */
  source: 'exif' | 'iso6709-tag';
  raw: string;
}

export interface ContainerFacts {
  formatName: string;
  formatLongName?: string;
  durationSeconds?: number;
  startTimeSeconds?: number;
  bitRate?: number;
  sizeBytes?: number;
  probeScore?: number;
  tags: Record<string, string>;
}

/** Typed facts about an audio/video file. The raw ffprobe JSON is kept beside them. */
export interface AvFacts {
  container: ContainerFacts;
  video: VideoStreamFacts[];
  audio: AudioStreamFacts[];
  otherStreams: { index: number; type: string; codec?: string }[];
  durationSeconds?: number;
  creationTime?: string;
  gps?: GpsFacts;
  /** From decoding every frame of the first video stream (absent for audio-only files). */
  frames?: FrameTimingFacts;
  elementaryStream?: ElementaryStreamTiming;
}

export interface ElementaryStreamTiming {
  codec: ElementaryStreamCodec;
  /** The rate every frame is stamped with, e.g. '25/1'. An assumption, not a measurement. */
  assumedFrameRate: string;
  assumedFrameRateSource: 'caller' | 'default';
  /** What ffprobe reported (the demuxer's default or the SPS timing when present). */
  probedFrameRate?: string;
}

export interface ExifFacts {
  make?: string;
  model?: string;
  lensModel?: string;
  software?: string;
  /** As written by the camera ('2026:11:20 09:58:12'), with its offset when present. */
  captureTime?: string;
  /** ISO form of captureTime; 'Z' or the recorded offset, or no zone when the camera gave none. */
  captureTimeIso?: string;
  orientation?: number;
  gps?: GpsFacts;
}

export interface ImageFacts {
  format: string;
  width: number;
  height: number;
  /** Size after the orientation is applied. */
  displayWidth: number;
  displayHeight: number;
  orientation?: number;
  pages?: number;
  space?: string;
  channels?: number;
  depth?: string;
  hasAlpha?: boolean;
  hasProfile?: boolean;
  exif?: ExifFacts;
}

export interface RawProbeOutput {
  /** ffprobe -show_format -show_streams -show_chapters -show_error, as JSON, untouched. */
  ffprobe?: unknown;
  /** sharp metadata() minus binary blobs (their sizes and SHA-256 are listed instead). */
  sharp?: Record<string, unknown>;
  /** exif-reader's parse of the EXIF block (Buffers as hex). */
  exif?: Record<string, unknown>;
}

export interface MediaProbe {
  detection: ContentDetection;
  av?: AvFacts;
  image?: ImageFacts;
  raw: RawProbeOutput;
  /** Decoder complaints (e.g. corrupt frames) seen while probing, summarised. */
  decodeErrors: number;
  warnings: string[];
  provenance: ProvenanceRecord;
}

/* ---------------------------------------------------------------- provenance */

export type DerivativeKind =
  | 'probe'
  | 'video-working-copy'
  | 'court-copy'
  | 'poster-frame'
  | 'contact-sheet'
  | 'audio-working-copy'
  | 'waveform'
  | 'image-preview';

export interface ToolVersions {
  /** `ffmpeg -version`, first line. */
  ffmpeg: string;
  ffprobe: string;
  /** The lib* lines of `ffmpeg -version` (libavcodec 59. 37.100 …). */
  ffmpegLibraries: string[];
  /** `heif-convert` banner, or 'absent'. */
  heifConvert: string;
  sharp: string;
  libvips: string;
  /** The EXIF parser (npm exif-reader). */
  exifReader: string;
  /** The libheif inside sharp's own libvips (not the one heif-convert uses). */
  sharpLibheif?: string;
}

/** One tool invocation, exact enough to run again. */
export interface ToolStep {
  tool: 'ffmpeg' | 'ffprobe' | 'heif-convert' | 'sharp';
  version: string;
  /**
   * The argument list as spawned, with the input written `{input}`, the output `{output}` and the
   * call's scratch folder `{tmp}` (a presigned URL is never recorded). For sharp: the operations
   * in order, as JSON-ready objects.
   */
  args: string[];
  /** Environment given to the tool beyond the inherited one (TZ for court copies). */
  env?: Record<string, string>;
  startedAt: string;
  durationMs: number;
  exitCode?: number | null;
}

export interface OutputRecord {
  role: string;
  fileName: string;
  mime: string;
  sha256: string;
  sizeBytes: number;
}

export interface ProvenanceRecord {
  derivative: DerivativeKind;
  recipeVersion: string;
  input: {
    /** A local file name, or the URL without its query string (no signatures are recorded). */
    ref: string;
    sha256: string;
    sha256Source: 'computed' | 'declared-by-caller';
    sizeBytes?: number;
  };
  outputs: OutputRecord[];
  steps: ToolStep[];
  tools: ToolVersions;
  /** Choices the recipe made that a person must know about (assumed frame rate, poster time …). */
  assumptions: Record<string, unknown>;
  /** What was checked after the tools ran (frame counts, durations …). */
  verification: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export interface DerivativeFile {
  /** Absolute path inside the caller's output folder; complete and checked. */
  path: string;
  fileName: string;
  mime: string;
  sha256: string;
  sizeBytes: number;
}

/* ---------------------------------------------------------------- results */

export interface FrameCountCheck {
  originalDecodedFrames: number;
  workingCopyDecodedFrames: number;
  equal: boolean;
}

export interface VideoWorkingCopy {
  file: DerivativeFile;
  width: number;
  height: number;
  durationSeconds?: number;
  frames: FrameCountCheck;
  deinterlaced: boolean;
  rotationApplied: 0 | 90 | 180 | 270;
  toneMapped: boolean;
  hasAudio: boolean;
  /** Set for raw elementary streams: the timing is an assumption and must be shown as one. */
  assumedTiming?: ElementaryStreamTiming;
  /** 'with-decode-errors' when the decoder reported damaged frames; the copy holds what decoded. */
  quality: 'complete' | 'with-decode-errors';
  decodeErrors: number;
  /** ffmpeg's own dup/drop counters from -progress; both must be 0. */
  duplicatedFrames: number;
  droppedFrames: number;
  /** The x264 version string the encoder wrote into the stream. */
  encoder?: string;
  warnings: string[];
  provenance: ProvenanceRecord;
}

export interface CourtCopy extends VideoWorkingCopy {
  caption: CaptionComputation;
}

/** How the burnt-in time was computed, in words and numbers, for the record. */
export interface CaptionComputation {
  exhibitReference: string;
  recorderTimeAtStart: string;
  clockOffsetSeconds: number;
  timeZone: string;
  /** UTC instant of stream time 0, corrected for the clock offset. */
  trueTimeAtStreamZeroUtc: string;
  /** The offset (seconds since 1970, UTC) added to each frame's stream time. */
  offsetSeconds: string;
  formula: string;
  description: string;
  /** Real-world time shown on the first frame and at a few stream times, for checking. */
  examples: { streamSeconds: number; shownAs: string }[];
}

export interface PosterFrame {
  file: DerivativeFile;
  width: number;
  height: number;
  requestedSeconds: number;
  provenance: ProvenanceRecord;
}

export interface ContactSheet {
  file: DerivativeFile;
  width: number;
  height: number;
  intervalSeconds: number;
  thumbnails: number;
  columns: number;
  rows: number;
  provenance: ProvenanceRecord;
}

export interface AudioWorkingCopy {
  file: DerivativeFile;
  codec: 'aac';
  sampleRate: number;
  channels: number;
  bitRate: number;
  durationSeconds: number;
  originalDecodedSeconds: number;
  durationDifferenceSeconds: number;
  toleranceSeconds: number;
  provenance: ProvenanceRecord;
}

/** Peaks a browser can draw: `peaks` holds min,max pairs in −1…1, one pair per bucket. */
export interface WaveformPeaks {
  version: 1;
  buckets: number;
  sampleRate: number;
  /** Peaks are of the mono down-mix. */
  channels: 1;
  totalSamples: number;
  durationSeconds: number;
  /** Samples per bucket (every bucket but the last holds exactly this many when `exact`). */
  samplesPerBucket: number;
  exact: boolean;
  peaks: number[];
}

export interface Waveform {
  json: DerivativeFile;
  png: DerivativeFile;
  peaks: WaveformPeaks;
  provenance: ProvenanceRecord;
}

export interface ImagePreview {
  preview: DerivativeFile & { width: number; height: number };
  thumbnail: DerivativeFile & { width: number; height: number };
  facts: ImageFacts;
  /** 'exif' for ordinary images; 'heif-transforms' when heif-convert applied the HEIF rotation. */
  orientationFrom: 'exif' | 'heif-transforms' | 'none';
  decodedVia: 'sharp' | 'heif-convert';
  provenance: ProvenanceRecord;
}

/* ---------------------------------------------------------------- failure */

export type MediaFailureCode =
  /** The bytes cannot be decoded (corrupt, truncated, empty, no decodable stream). */
  | 'MEDIA_UNDECODABLE'
  /** Recognised but not something this service can turn into a working copy. */
  | 'MEDIA_UNSUPPORTED'
  /** The tool ran longer than its time limit and was killed. */
  | 'MEDIA_TIMEOUT'
  /** The caller's AbortSignal fired. */
  | 'MEDIA_ABORTED'
  /** The input could not be read (missing file, HTTP error, network). */
  | 'MEDIA_INPUT_UNREADABLE'
  /** The tool finished but its output failed the checks (e.g. frame counts differ). */
  | 'MEDIA_VERIFICATION_FAILED'
  /** A tool this library needs is not installed. */
  | 'MEDIA_TOOL_MISSING'
  /** The tool failed in a way not recognised above. */
  | 'MEDIA_TOOL_FAILED';

export interface MediaFailure {
  code: MediaFailureCode;
  /** For a person: what is wrong and what to do. */
  message: string;
  /** Only the recorder's own player or a specialist tool can show it. */
  needsSpecialistTool: boolean;
  /** Worth trying again later (time-outs, network trouble); not for broken files. */
  retryable: boolean;
  tool?: string;
  exitCode?: number | null;
  /** The tool's last lines of complaint, for an expert. */
  detail?: string;
}

export type MediaResult<T> = { ok: true; value: T } | { ok: false; failure: MediaFailure };

export interface MediaProgress {
  /** 0–100, or undefined when the duration is unknown. */
  percent?: number;
  processedSeconds?: number;
  frame?: number;
}

/** Options every call takes. */
export interface MediaCallOptions {
  /** Wall-clock limit for each tool run; default from the service (scaled by duration for ffmpeg). */
  timeLimitMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: MediaProgress) => void;
  /** The input's SHA-256 when the caller already holds it (a sealed original); otherwise computed. */
  inputSha256?: string;
}
