import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AppError } from '../core/index.js';
import { buildAudioWorkingCopyCommand, buildPcmDecodeCommand, type AudioSource } from './audio-working-copy.command.js';
import { buildContactSheetCommand } from './contact-sheet.command.js';
import { buildCourtCopyCommand, type CaptionSpec } from './court-copy.command.js';
import { decideDetection, sniffMagic, SNIFF_BYTES, type MagicMatch } from './content-sniffer.js';
import { exifFacts, jsonSafe } from './exif-facts.parser.js';
import { parseFfprobe, probeError } from './ffprobe-facts.parser.js';
import type { CommandSpec, InputSpec } from './ffmpeg-args.js';
import { FrameTimingAccumulator } from './frame-timing.js';
import { buildHeifConvertCommand, imageRenderRecipe } from './image-preview.recipe.js';
import { diagnoseToolFailure, mediaFailure } from './media-failure.js';
import {
  CAPTION_FONT_FILE,
  CONTACT_SHEET,
  DEFAULT_ASSUMED_FRAME_RATE,
  DEFAULT_GAP_THRESHOLD_SECONDS,
  DEFAULT_MAX_SHORT_SIDE,
  POSTER,
  RECIPE_VERSIONS,
  WAVEFORM,
} from './media-recipes.js';
import {
  DEFAULT_REPOSITORY_SETTINGS,
  InputReadError,
  isUrl,
  MediaRepository,
  type RunPaths,
  type ToolRunOutcome,
} from './media.repository.js';
import type {
  AudioWorkingCopy,
  AvFacts,
  ContactSheet,
  ContentDetection,
  CourtCopy,
  DerivativeFile,
  DerivativeKind,
  ElementaryStreamTiming,
  FrameTimingFacts,
  ImageFacts,
  ImagePreview,
  MediaCallOptions,
  MediaFailure,
  MediaProbe,
  MediaResult,
  OutputRecord,
  PosterFrame,
  ProvenanceRecord,
  ToolStep,
  ToolVersions,
  VideoWorkingCopy,
  Waveform,
} from './media.types.js';
import { ProgressParser } from './progress-parser.js';
import { buildFrameScanCommand, buildProbeCommand } from './probe.command.js';
import { buildPosterFrameCommand } from './poster-frame.command.js';
import { buildVideoWorkingCopyCommand, type VideoCommand, type VideoSource } from './video-working-copy.command.js';
import { PeakAccumulator, rasterizePeaks } from './waveform-peaks.js';
import { reproduceRecord, type ReproductionReport } from './reproduce.js';

export interface MediaServiceOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  heifConvertPath?: string;
  /** SIGTERM → SIGKILL grace when a tool is stopped (default 2 s). */
  killGraceMs?: number;
  /** Default time limit of one tool run: base + per second of media (default 120 s + 4 s/s). */
  timeLimit?: { baseMs: number; perMediaSecondMs: number };
  /** The caption font (default Debian's DejaVu Sans Mono). */
  fontFile?: string;
  /** Where the IANA zone files are (court copies run ffmpeg under TZ=zone). */
  zoneInfoDir?: string;
}

export interface ProbeOptions extends MediaCallOptions {
  /** Frame rate assumed for raw .264/.265 streams, e.g. '25' or '30000/1001' (default 25). */
  assumedFrameRate?: string;
  /** Timestamp jumps larger than this are listed as gaps (default 1 s). */
  gapThresholdSeconds?: number;
}

interface WithProbe extends ProbeOptions {
  /** A probe of the same input made earlier (saves decoding the original again). */
  probe?: MediaProbe;
  /** File name (without extension) inside the output folder; default `<kind>-<random>`. */
  baseName?: string;
}

export interface VideoWorkingCopyOptions extends WithProbe {
  /** The short side is brought down to this (720 = "720p"); never enlarged. */
  maxHeight?: number;
}

export interface CourtCopyOptions extends VideoWorkingCopyOptions, CaptionSpec {}

export interface PosterFrameOptions extends WithProbe {
  /** Stream time of the frame (default 10 % of the duration, 0 when unknown). */
  atSeconds?: number;
  maxHeight?: number;
}

export interface ContactSheetOptions extends WithProbe {
  /** One thumbnail per this many seconds of stream time (default: a round interval giving ≤ 20). */
  intervalSeconds?: number;
  columns?: number;
  thumbWidth?: number;
}

export interface WaveformOptions extends WithProbe {
  buckets?: number;
  pngWidth?: number;
  pngHeight?: number;
}

export interface ImagePreviewOptions extends WithProbe {
  previewMaxSide?: number;
  thumbnailMaxSide?: number;
}

/** Raised inside a call and turned into `{ok: false}` at its edge. */
class Fail extends Error {
  constructor(readonly failure: MediaFailure) {
    super(failure.message);
  }
}

interface CallContext {
  derivative: DerivativeKind;
  input: string;
  started: Date;
  versions: ToolVersions;
  steps: ToolStep[];
  tmp?: string;
  opts: MediaCallOptions;
}

const INTERVALS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/**
 * What the media workers call. Every method takes a local path or an http(s) URL and an output
 * folder on local disk, and returns a value: the derivative with its provenance, or a typed
 * failure. Temporary files live in a scratch folder inside the output folder and are removed
 * whatever happens; outputs are written under a temporary name and moved into place only once
 * the tool succeeded and the result was checked.
 */
export class MediaService {
  readonly repository: MediaRepository;
  private readonly timeLimit: { baseMs: number; perMediaSecondMs: number };
  private readonly fontFile: string;
  private readonly zoneInfoDir: string;

  constructor(options: MediaServiceOptions = {}, repository?: MediaRepository) {
    this.repository =
      repository ??
      new MediaRepository({
        ...DEFAULT_REPOSITORY_SETTINGS,
        ffmpegPath: options.ffmpegPath ?? DEFAULT_REPOSITORY_SETTINGS.ffmpegPath,
        ffprobePath: options.ffprobePath ?? DEFAULT_REPOSITORY_SETTINGS.ffprobePath,
        heifConvertPath: options.heifConvertPath ?? DEFAULT_REPOSITORY_SETTINGS.heifConvertPath,
        killGraceMs: options.killGraceMs ?? DEFAULT_REPOSITORY_SETTINGS.killGraceMs,
      });
    this.timeLimit = options.timeLimit ?? { baseMs: 120_000, perMediaSecondMs: 4_000 };
    this.fontFile = options.fontFile ?? CAPTION_FONT_FILE;
    this.zoneInfoDir = options.zoneInfoDir ?? '/usr/share/zoneinfo';
  }

  toolVersions(): Promise<ToolVersions> {
    return this.repository.toolVersions();
  }

  /* ================================================================ detection and probe */

  /** Kind and MIME type from the content (magic bytes, then ffprobe's streams). */
  async detect(input: string, opts: ProbeOptions = {}): Promise<MediaResult<ContentDetection>> {
    return this.edge(async () => {
      const head = await this.head(input, opts);
      const magic = sniffMagic(head);
      if (magic && (magic.kind === 'image' || magic.kind === 'other' || !magic.kindFromStreams)) {
        return decideDetection(magic, undefined, hex(head));
      }
      const raw = await this.ffprobeJson(input, inputSpec(input, magic, opts), opts, undefined).then((r) => r.raw).catch(() => undefined);
      const av = raw && !probeError(raw) ? parseFfprobe(raw) : undefined;
      return decideDetection(
        magic,
        av ? { formatName: av.container.formatName, videoStreams: av.video.length, audioStreams: av.audio.length } : undefined,
        hex(head),
      );
    });
  }

  /**
   * Everything known about the file: detection, typed facts (container, streams, rotation,
   * interlacing, frame rate and whether it varies, decoded frame count, timestamp gaps, creation
   * time, GPS, EXIF for images) and the raw tool output for storage.
   */
  async probe(input: string, opts: ProbeOptions = {}): Promise<MediaResult<MediaProbe>> {
    return this.edge(async () => {
      const ctx = await this.context('probe', input, opts);
      try {
        return await this.probeWith(ctx, opts);
      } finally {
        // A URL image is downloaded to a scratch folder for sharp; it goes with the call.
        if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
      }
    });
  }

  private async probeWith(ctx: CallContext, opts: ProbeOptions): Promise<MediaProbe> {
    const { input } = ctx;
    const head = await this.head(input, opts);
    const magic = sniffMagic(head);
    const warnings: string[] = [];
    const provenanceOf = async (extra: Partial<ProvenanceRecord> = {}) => this.provenance(ctx, [], extra);

    if (head.length === 0) {
      throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'The file is empty (0 bytes): there is nothing to play.'));
    }
    if (magic?.kind === 'image') {
      const local = await this.localCopy(ctx, input, opts);
      let meta: Awaited<ReturnType<MediaRepository['imageMetadata']>>;
      try {
        meta = await this.sharpStep(ctx, [{ op: 'metadata', input: '{input}', options: { failOn: 'error', pages: 1 } }, { op: 'exif-reader', version: ctx.versions.exifReader }], () =>
          this.repository.imageMetadata(local),
        );
      } catch (err) {
        throw new Fail(imageFailure(err));
      }
      const exifTree = meta.exif ? this.repository.parseExif(meta.exif) : undefined;
      const image = imageFacts(meta.metadata, exifTree, magic.format);
      return {
        detection: decideDetection(magic, undefined, hex(head)),
        image,
        raw: { sharp: meta.metadata, ...(exifTree ? { exif: jsonSafe(exifTree) as Record<string, unknown> } : {}) },
        decodeErrors: 0,
        warnings,
        provenance: await provenanceOf({ assumptions: {}, verification: {} }),
      };
    }
    if (magic?.kind === 'other') {
      return {
        detection: decideDetection(magic, undefined, hex(head)),
        raw: {},
        decodeErrors: 0,
        warnings,
        provenance: await provenanceOf(),
      };
    }

    const spec = inputSpec(input, magic, opts);
    const { raw, stderr } = await this.ffprobeJson(input, spec, opts, ctx);
    const err = probeError(raw);
    if (err) {
      if (!magic) {
        // Not a signature we know and ffprobe cannot read it: a document, or a recorder format.
        warnings.push(
          `No known media signature and ffprobe cannot read it (${err}). If this is a recording, it needs the recorder's native player.`,
        );
        return { detection: decideDetection(undefined, undefined, hex(head)), raw: { ffprobe: raw }, decodeErrors: 0, warnings, provenance: await provenanceOf() };
      }
      throw new Fail(diagnoseToolFailure('ffprobe', 1, `${stderr}\n${err}`));
    }
    const av: AvFacts = parseFfprobe(raw);
    const detection = decideDetection(magic, { formatName: av.container.formatName, videoStreams: av.video.length, audioStreams: av.audio.length }, hex(head));
    if (magic?.elementaryStream) {
      av.elementaryStream = elementaryTiming(magic, av, opts);
    }
    let decodeErrors = 0;
    if (av.video.length > 0) {
      const scan = await this.frameScan(input, spec, av.video[0].index, opts, ctx, av.elementaryStream ? 'assumed' : 'stream', av.durationSeconds);
      av.frames = scan.facts;
      decodeErrors = scan.decodeErrors;
      if (scan.facts.decodedFrames === 0) {
        throw new Fail(
          mediaFailure(
            'MEDIA_UNDECODABLE',
            `The video stream could not be decoded: ${scan.facts.packets ?? 'its'} packets gave no picture. The original is kept as received; play it with the recorder's own player or a specialist tool.`,
            { needsSpecialistTool: true, tool: 'ffprobe', detail: scan.detail },
          ),
        );
      }
      if (scan.facts.packets !== undefined && scan.facts.packets > scan.facts.decodedFrames) {
        warnings.push(`${scan.facts.packets - scan.facts.decodedFrames} of ${scan.facts.packets} video packets did not decode to a frame.`);
      }
      if (scan.facts.gapCount > 0) warnings.push(`${scan.facts.gapCount} timestamp discontinuities larger than ${scan.facts.gapThresholdSeconds} s.`);
      if (av.elementaryStream) warnings.push(`Raw ${av.elementaryStream.codec} stream without timing: ${av.elementaryStream.assumedFrameRate} frames/s is assumed.`);
    } else if (av.audio.length === 0) {
      throw new Fail(mediaFailure('MEDIA_UNSUPPORTED', 'The file holds no audio or video stream ffmpeg can use.', { needsSpecialistTool: true }));
    }
    return {
      detection,
      av,
      raw: { ffprobe: raw },
      decodeErrors,
      warnings,
      provenance: await this.provenance(ctx, [], {
        assumptions: av.elementaryStream ? { elementaryStream: av.elementaryStream } : {},
        verification: av.frames ? { decodedFrames: av.frames.decodedFrames, packets: av.frames.packets } : {},
      }),
    };
  }

  /* ================================================================ video */

  /** H.264/AAC MP4 working copy; its decoded frame count is checked against the original's. */
  async makeVideoWorkingCopy(input: string, outDir: string, opts: VideoWorkingCopyOptions = {}): Promise<MediaResult<VideoWorkingCopy>> {
    return this.edge(() =>
      this.withContext('video-working-copy', input, outDir, opts, async (ctx) => {
        const probe = await this.videoProbe(ctx, opts);
        const source = videoSource(probe, input);
        const cmd = buildVideoWorkingCopyCommand({ source, maxShortSide: opts.maxHeight ?? DEFAULT_MAX_SHORT_SIDE });
        return this.encodeVideo(ctx, outDir, opts, probe, cmd, 'video-working-copy');
      }),
    );
  }

  /**
   * The court copy: the working-copy recipe from the original, with the exhibit reference and
   * each frame's real-world time burnt in (stream time + declared clock offset, in the
   * recorder's time zone). One generation of loss, like the working copy, and the same checks.
   */
  /**
   * Runs a derivative's recorded command again on an original and compares hashes and tool
   * versions with the record (reproduce.ts); the output is left in `outDir`.
   */
  reproduce(record: ProvenanceRecord, originalPath: string, outDir: string, options: { timeLimitMs?: number; signal?: AbortSignal } = {}): Promise<ReproductionReport | { unsupported: string }> {
    return reproduceRecord(this.repository, record, originalPath, outDir, { timeLimitMs: options.timeLimitMs ?? 6 * 3600_000, ...(options.signal ? { signal: options.signal } : {}) });
  }

  async makeCourtCopy(input: string, outDir: string, opts: CourtCopyOptions): Promise<MediaResult<CourtCopy>> {
    return this.edge(() =>
      this.withContext('court-copy', input, outDir, opts, async (ctx) => {
        const timeZone = opts.timeZone ?? 'UTC';
        if (!(await exists(join(this.zoneInfoDir, timeZone)))) {
          throw new Fail(mediaFailure('MEDIA_TOOL_MISSING', `The time-zone data for ${timeZone} is not installed (Debian package tzdata).`));
        }
        if (!(await exists(this.fontFile))) {
          throw new Fail(mediaFailure('MEDIA_TOOL_MISSING', `The caption font ${this.fontFile} is not installed (Debian package fonts-dejavu-core).`));
        }
        const probe = await this.videoProbe(ctx, opts);
        const source = videoSource(probe, input);
        let cmd: ReturnType<typeof buildCourtCopyCommand>;
        try {
          cmd = buildCourtCopyCommand(source, opts.maxHeight ?? DEFAULT_MAX_SHORT_SIDE, { ...opts, timeZone }, this.fontFile);
        } catch (err) {
          throw new AppError('MEDIA_INVALID_OPTIONS', `Court copy caption: ${(err as Error).message}`, 400);
        }
        const copy = await this.encodeVideo(ctx, outDir, opts, probe, cmd, 'court-copy', { caption: cmd.caption });
        return { ...copy, caption: cmd.caption };
      }),
    );
  }

  private async encodeVideo(
    ctx: CallContext,
    outDir: string,
    opts: VideoWorkingCopyOptions,
    probe: MediaProbe,
    cmd: VideoCommand,
    kind: 'video-working-copy' | 'court-copy',
    extraAssumptions: Record<string, unknown> = {},
  ): Promise<VideoWorkingCopy> {
    const av = probe.av as AvFacts;
    const frames = av.frames as FrameTimingFacts;
    const partial = join(ctx.tmp as string, 'output.partial.mp4');
    const duration = av.durationSeconds ?? frames.spanSeconds;
    const progress = new ProgressParser(duration, opts.onProgress);
    const run = await this.runTool(ctx, cmd, { input: ctx.input, output: partial, tmp: ctx.tmp }, opts, duration, (b) => progress.push(b.toString('utf8')));
    this.throwIfFailed(run, cmd.tool);

    // Verification: a real MP4 with H.264 (and AAC), and every decoded frame of the original.
    const outSpec: InputSpec = { url: false };
    const { raw: outRaw } = await this.ffprobeJson(partial, outSpec, opts, undefined, true);
    const outAv = parseFfprobe(outRaw);
    const outVideo = outAv.video[0];
    if (probeError(outRaw) || !outVideo || outVideo.codec !== 'h264' || !outAv.container.formatName.includes('mp4')) {
      throw new Fail(mediaFailure('MEDIA_VERIFICATION_FAILED', 'The working copy is not a playable H.264 MP4; it was discarded.', { detail: JSON.stringify(outAv.container) }));
    }
    const hasAudio = av.audio.length > 0;
    if (hasAudio && outAv.audio[0]?.codec !== 'aac') {
      throw new Fail(mediaFailure('MEDIA_VERIFICATION_FAILED', 'The working copy lost its audio track; it was discarded.'));
    }
    const outFrames = readFramesOf(outRaw, outVideo.index);
    const check = {
      originalDecodedFrames: frames.decodedFrames,
      workingCopyDecodedFrames: outFrames,
      equal: frames.decodedFrames === outFrames,
    };
    if (!check.equal || progress.totals.dupFrames > 0 || progress.totals.dropFrames > 0) {
      throw new Fail(
        mediaFailure(
          'MEDIA_VERIFICATION_FAILED',
          `The working copy has ${check.workingCopyDecodedFrames} frames but the original decodes to ${check.originalDecodedFrames} ` +
            `(ffmpeg duplicated ${progress.totals.dupFrames}, dropped ${progress.totals.dropFrames}); it was discarded.`,
          { retryable: false },
        ),
      );
    }
    const encoder = await this.repository.findInFile(partial, /x264 - core \d+ r\d+ [0-9a-f]+/);
    const file = await this.promote(partial, outDir, opts.baseName ?? `${kind}-${shortId()}`, '.mp4', 'video/mp4');
    const decodeErrors = probe.decodeErrors + run.decodeErrors;
    const warnings = [...probe.warnings];
    if (run.decodeErrors > 0) warnings.push(`ffmpeg reported ${run.decodeErrors} damaged frames while decoding; the copy holds what decoded.`);
    const assumptions: Record<string, unknown> = {
      maxShortSide: opts.maxHeight ?? DEFAULT_MAX_SHORT_SIDE,
      ...(av.elementaryStream ? { elementaryStream: av.elementaryStream } : {}),
      ...extraAssumptions,
    };
    const verification = {
      frames: check,
      duplicatedFrames: progress.totals.dupFrames,
      droppedFrames: progress.totals.dropFrames,
      output: { width: outVideo.width, height: outVideo.height, codec: outVideo.codec, audio: outAv.audio[0]?.codec ?? null, durationSeconds: outAv.durationSeconds },
      decodeErrors,
      ...(encoder ? { encoder } : {}),
    };
    return {
      file,
      width: outVideo.width,
      height: outVideo.height,
      ...(outAv.durationSeconds !== undefined ? { durationSeconds: outAv.durationSeconds } : {}),
      frames: check,
      deinterlaced: cmd.deinterlace,
      rotationApplied: av.video[0].rotation,
      toneMapped: cmd.toneMap,
      hasAudio,
      ...(av.elementaryStream ? { assumedTiming: av.elementaryStream } : {}),
      quality: decodeErrors > 0 ? 'with-decode-errors' : 'complete',
      decodeErrors,
      duplicatedFrames: progress.totals.dupFrames,
      droppedFrames: progress.totals.dropFrames,
      ...(encoder ? { encoder } : {}),
      warnings,
      provenance: await this.provenance(ctx, [record('working-copy', file)], { assumptions, verification }),
    };
  }

  /** One frame as JPEG (ffmpeg → PNG, sharp → JPEG). */
  async makePosterFrame(input: string, outDir: string, opts: PosterFrameOptions = {}): Promise<MediaResult<PosterFrame>> {
    return this.edge(() =>
      this.withContext('poster-frame', input, outDir, opts, async (ctx) => {
        const probe = await this.videoProbe(ctx, opts);
        const av = probe.av as AvFacts;
        const duration = av.durationSeconds ?? av.frames?.spanSeconds;
        const atSeconds = opts.atSeconds ?? (duration ? Math.round(duration * 0.1 * 1000) / 1000 : 0);
        const plan = { source: videoSource(probe, input), atSeconds, maxShortSide: opts.maxHeight ?? DEFAULT_MAX_SHORT_SIDE };
        const png = join(ctx.tmp as string, 'poster.png');
        let seek: 'input' | 'decode' = 'input';
        let run = await this.runTool(ctx, buildPosterFrameCommand(plan), { input, output: png, tmp: ctx.tmp }, opts, duration);
        this.throwIfFailed(run, 'ffmpeg');
        if (atSeconds > 0 && (await this.repository.fileSize(png)) === undefined) {
          // The seek landed where nothing decodes (few key frames): decode from the start instead.
          seek = 'decode';
          run = await this.runTool(ctx, buildPosterFrameCommand({ ...plan, seek }), { input, output: png, tmp: ctx.tmp }, opts, duration);
          this.throwIfFailed(run, 'ffmpeg');
        }
        if ((await this.repository.fileSize(png)) === undefined) {
          throw new Fail(mediaFailure('MEDIA_UNDECODABLE', `No frame could be decoded at or after ${atSeconds} s.`, { needsSpecialistTool: true, detail: run.stderr.slice(-2000) }));
        }
        const jpeg = join(ctx.tmp as string, 'poster.partial.jpg');
        const size = await this.sharpStep(ctx, [{ op: 'pngToJpeg', input: '{tmp}/poster.png', quality: POSTER.quality }], () =>
          this.repository.pngToJpeg(png, jpeg, POSTER.quality),
        );
        const file = await this.promote(jpeg, outDir, opts.baseName ?? `poster-${shortId()}`, '.jpg', 'image/jpeg');
        return {
          file,
          ...size,
          requestedSeconds: atSeconds,
          provenance: await this.provenance(ctx, [record('poster', file)], { assumptions: { atSeconds, rule: opts.atSeconds === undefined ? '10% of the duration' : 'caller', seek }, verification: size }),
        };
      }),
    );
  }

  /** Thumbnails at a fixed interval, labelled with stream time, tiled by sharp into one JPEG. */
  async makeContactSheet(input: string, outDir: string, opts: ContactSheetOptions = {}): Promise<MediaResult<ContactSheet>> {
    return this.edge(() =>
      this.withContext('contact-sheet', input, outDir, opts, async (ctx) => {
        const probe = await this.videoProbe(ctx, opts);
        const av = probe.av as AvFacts;
        const duration = av.durationSeconds ?? av.frames?.spanSeconds ?? 0;
        const intervalSeconds = opts.intervalSeconds ?? INTERVALS.find((i) => duration / i <= 20) ?? 7200;
        const cmd = buildContactSheetCommand({ source: videoSource(probe, input), intervalSeconds, ...(opts.thumbWidth ? { thumbWidth: opts.thumbWidth } : {}), fontFile: this.fontFile });
        const run = await this.runTool(ctx, cmd, { input, tmp: ctx.tmp }, opts, duration);
        this.throwIfFailed(run, 'ffmpeg');
        const thumbs = (await readdir(ctx.tmp as string)).filter((f) => /^thumb-\d+\.png$/.test(f)).sort();
        if (thumbs.length === 0) throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'No frame could be decoded for the contact sheet.', { needsSpecialistTool: true }));
        const columns = Math.min(opts.columns ?? CONTACT_SHEET.columns, thumbs.length);
        const rows = Math.ceil(thumbs.length / columns);
        const jpeg = join(ctx.tmp as string, 'sheet.partial.jpg');
        const size = await this.sharpStep(
          ctx,
          [{ op: 'tile', inputs: `{tmp}/thumb-00001.png … thumb-${String(thumbs.length).padStart(5, '0')}.png`, columns, tile: [cmd.thumbWidth, cmd.thumbHeight], padding: 2, background: '#000000', jpeg: { quality: CONTACT_SHEET.quality, chromaSubsampling: '4:2:0' } }],
          () => this.repository.tile(thumbs.map((t) => join(ctx.tmp as string, t)), columns, cmd.thumbWidth, cmd.thumbHeight, jpeg, CONTACT_SHEET.quality),
        );
        const file = await this.promote(jpeg, outDir, opts.baseName ?? `contact-sheet-${shortId()}`, '.jpg', 'image/jpeg');
        return {
          file,
          ...size,
          intervalSeconds,
          thumbnails: thumbs.length,
          columns,
          rows,
          provenance: await this.provenance(ctx, [record('contact-sheet', file)], { assumptions: { intervalSeconds }, verification: { thumbnails: thumbs.length, ...size } }),
        };
      }),
    );
  }

  /* ================================================================ audio */

  /** AAC .m4a; its duration is checked against the original's decoded length (within one AAC frame). */
  async makeAudioWorkingCopy(input: string, outDir: string, opts: WithProbe = {}): Promise<MediaResult<AudioWorkingCopy>> {
    return this.edge(() =>
      this.withContext('audio-working-copy', input, outDir, opts, async (ctx) => {
        const probe = await this.audioProbe(ctx, opts);
        const source = audioSource(probe, input);
        const duration = probe.av?.durationSeconds;
        // The original's decoded length (and proof that it decodes at all).
        const pcm = buildPcmDecodeCommand(source);
        let samples = 0;
        const decode = await this.runTool(ctx, pcm, { input }, opts, duration, (b) => (samples += b.length / 2));
        this.throwIfFailed(decode, 'ffmpeg');
        if (samples === 0) throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'The audio stream decodes to no sound at all (0 samples).', { needsSpecialistTool: true }));
        const originalDecodedSeconds = samples / source.audio.sampleRate;

        const cmd = buildAudioWorkingCopyCommand(source);
        const partial = join(ctx.tmp as string, 'output.partial.m4a');
        const progress = new ProgressParser(duration ?? originalDecodedSeconds, opts.onProgress);
        const run = await this.runTool(ctx, cmd, { input, output: partial }, opts, duration, (b) => progress.push(b.toString('utf8')));
        this.throwIfFailed(run, 'ffmpeg');
        const outAv = parseFfprobe((await this.ffprobeJson(partial, { url: false }, opts, undefined)).raw);
        const a = outAv.audio[0];
        const copyDuration = outAv.durationSeconds ?? a?.durationSeconds;
        const toleranceSeconds = 1024 / source.audio.sampleRate + 0.001;
        if (!a || a.codec !== 'aac' || copyDuration === undefined) {
          throw new Fail(mediaFailure('MEDIA_VERIFICATION_FAILED', 'The audio working copy is not a playable AAC file; it was discarded.'));
        }
        const diff = Math.abs(copyDuration - originalDecodedSeconds);
        if (diff > toleranceSeconds || a.sampleRate !== source.audio.sampleRate || a.channels !== source.audio.channels) {
          throw new Fail(
            mediaFailure(
              'MEDIA_VERIFICATION_FAILED',
              `The audio working copy lasts ${copyDuration} s (${a.sampleRate} Hz, ${a.channels} ch) but the original decodes to ${originalDecodedSeconds.toFixed(6)} s (${source.audio.sampleRate} Hz, ${source.audio.channels} ch); it was discarded.`,
            ),
          );
        }
        const file = await this.promote(partial, outDir, opts.baseName ?? `audio-working-copy-${shortId()}`, '.m4a', 'audio/mp4');
        const verification = { originalDecodedSamples: samples, originalDecodedSeconds, copyDurationSeconds: copyDuration, differenceSeconds: diff, toleranceSeconds };
        return {
          file,
          codec: 'aac',
          sampleRate: a.sampleRate,
          channels: a.channels,
          bitRate: cmd.bitRate,
          durationSeconds: copyDuration,
          originalDecodedSeconds,
          durationDifferenceSeconds: diff,
          toleranceSeconds,
          provenance: await this.provenance(ctx, [record('working-copy', file)], { assumptions: { bitRate: cmd.bitRate }, verification }),
        };
      }),
    );
  }

  /** Peaks JSON (fixed number of buckets, from streamed PCM) and a PNG drawn from it. */
  async makeWaveform(input: string, outDir: string, opts: WaveformOptions = {}): Promise<MediaResult<Waveform>> {
    return this.edge(() =>
      this.withContext('waveform', input, outDir, opts, async (ctx) => {
        const probe = await this.audioProbe(ctx, opts);
        const source = audioSource(probe, input);
        const duration = probe.av?.audio[0]?.durationSeconds ?? probe.av?.durationSeconds;
        const buckets = opts.buckets ?? WAVEFORM.buckets;
        const acc = new PeakAccumulator(buckets, source.audio.sampleRate, duration ? Math.round(duration * source.audio.sampleRate) : undefined);
        const run = await this.runTool(ctx, buildPcmDecodeCommand(source), { input }, opts, duration, (b) => acc.push(b));
        this.throwIfFailed(run, 'ffmpeg');
        const peaks = acc.result();
        if (peaks.totalSamples === 0) throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'The audio stream decodes to no sound at all (0 samples).', { needsSpecialistTool: true }));
        const jsonPath = join(ctx.tmp as string, 'peaks.partial.json');
        await writeFile(jsonPath, `${JSON.stringify(peaks)}\n`);
        const width = opts.pngWidth ?? WAVEFORM.pngWidth;
        const height = opts.pngHeight ?? WAVEFORM.pngHeight;
        const pngPath = join(ctx.tmp as string, 'waveform.partial.png');
        await this.sharpStep(ctx, [{ op: 'rasterizePeaks', width, height }, { op: 'png', raw: { channels: 1 }, compressionLevel: 9, adaptiveFiltering: false }], () =>
          this.repository.greyPng(rasterizePeaks(peaks, width, height), width, height, pngPath),
        );
        const base = opts.baseName ?? `waveform-${shortId()}`;
        const json = await this.promote(jsonPath, outDir, base, '.json', 'application/json');
        const png = await this.promote(pngPath, outDir, base, '.png', 'image/png');
        return {
          json,
          png,
          peaks,
          provenance: await this.provenance(ctx, [record('peaks', json), record('waveform-image', png)], {
            assumptions: { buckets, downmix: 'mono (-ac 1)', pcm: 's16le' },
            verification: { totalSamples: peaks.totalSamples, durationSeconds: peaks.durationSeconds, exact: peaks.exact },
          }),
        };
      }),
    );
  }

  /* ================================================================ images */

  /** Preview and thumbnail JPEGs (orientation applied, metadata stripped) and the EXIF facts. */
  async makeImagePreview(input: string, outDir: string, opts: ImagePreviewOptions = {}): Promise<MediaResult<ImagePreview>> {
    return this.edge(() =>
      this.withContext('image-preview', input, outDir, opts, async (ctx) => {
        const probe = opts.probe ?? (await this.probeWith(ctx, opts));
        if (probe.detection.kind !== 'image' || !probe.image) {
          throw new Fail(mediaFailure('MEDIA_UNSUPPORTED', `This is not an image (${probe.detection.mime}).`));
        }
        let source = await this.localCopy(ctx, input, opts);
        const heic = probe.detection.format === 'heic';
        if (heic) {
          const cmd = buildHeifConvertCommand();
          const run = await this.runTool(ctx, cmd, { input: source, tmp: ctx.tmp }, opts, undefined);
          this.throwIfFailed(run, 'heif-convert');
          source = cmd.output.replace('{tmp}', ctx.tmp as string);
          if ((await this.repository.fileSize(source)) === undefined) {
            throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'heif-convert could not decode the HEIC image.', { needsSpecialistTool: true, detail: run.stderr.slice(-2000) }));
          }
        }
        // HEIC: heif-convert already applied the container's rotation (the EXIF tag is descriptive
        // in HEIF and libheif 1.15 leaves it in the PNG); everything else: EXIF orientation, once.
        const autoOrient = !heic;
        const previewRecipe = imageRenderRecipe('preview', autoOrient, opts.previewMaxSide);
        const thumbRecipe = imageRenderRecipe('thumbnail', autoOrient, opts.thumbnailMaxSide);
        const previewPath = join(ctx.tmp as string, 'preview.partial.jpg');
        const thumbPath = join(ctx.tmp as string, 'thumbnail.partial.jpg');
        const inputName = heic ? '{tmp}/heif-decoded.png' : '{input}';
        const pSize = await this.sharpStep(ctx, [{ op: 'render', input: inputName, recipe: previewRecipe }], () => this.repository.renderImage(source, previewRecipe, previewPath)).catch((err) => {
          throw err instanceof Fail ? err : new Fail(imageFailure(err));
        });
        const tSize = await this.sharpStep(ctx, [{ op: 'render', input: inputName, recipe: thumbRecipe }], () => this.repository.renderImage(source, thumbRecipe, thumbPath)).catch((err) => {
          throw err instanceof Fail ? err : new Fail(imageFailure(err));
        });
        const base = opts.baseName ?? `image-${shortId()}`;
        const preview = { ...(await this.promote(previewPath, outDir, `${base}-preview`, '.jpg', 'image/jpeg')), ...pSize };
        const thumbnail = { ...(await this.promote(thumbPath, outDir, `${base}-thumbnail`, '.jpg', 'image/jpeg')), ...tSize };
        const orientationFrom = heic ? 'heif-transforms' : probe.image.orientation && probe.image.orientation > 1 ? 'exif' : 'none';
        return {
          preview,
          thumbnail,
          facts: probe.image,
          orientationFrom,
          decodedVia: heic ? 'heif-convert' : 'sharp',
          provenance: await this.provenance(ctx, [record('preview', preview), record('thumbnail', thumbnail)], {
            assumptions: { orientationFrom, previewMaxSide: previewRecipe.resize.width, thumbnailMaxSide: thumbRecipe.resize.width },
            verification: { preview: pSize, thumbnail: tSize },
          }),
        };
      }),
    );
  }

  /* ================================================================ plumbing */

  /** Turns thrown failures into values; lets programming errors (AppError, TypeError) through. */
  private async edge<T>(fn: () => Promise<T>): Promise<MediaResult<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof Fail) return { ok: false, failure: err.failure };
      if (err instanceof InputReadError) {
        return { ok: false, failure: mediaFailure('MEDIA_INPUT_UNREADABLE', `The input could not be read (${err.message}).`, { retryable: (err.status ?? 0) >= 500 }) };
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
        return { ok: false, failure: mediaFailure('MEDIA_INPUT_UNREADABLE', `The input could not be read (${code}).`) };
      }
      if ((err as Error).name === 'TimeoutError') {
        return { ok: false, failure: mediaFailure('MEDIA_TIMEOUT', 'Reading the input took longer than the time limit; the storage may be slow or stalled.', { retryable: true }) };
      }
      if ((err as Error).name === 'AbortError') return { ok: false, failure: mediaFailure('MEDIA_ABORTED', 'The work was cancelled.') };
      if (err instanceof TypeError && /fetch failed/.test(err.message)) {
        return { ok: false, failure: mediaFailure('MEDIA_INPUT_UNREADABLE', 'The file could not be read over the network; try again later.', { retryable: true }) };
      }
      throw err;
    }
  }

  private async context(derivative: DerivativeKind, input: string, opts: MediaCallOptions): Promise<CallContext> {
    return { derivative, input, started: new Date(), versions: await this.repository.toolVersions(), steps: [], opts };
  }

  /** A scratch folder inside the output folder for the call, removed whatever happens. */
  private async withContext<T>(derivative: DerivativeKind, input: string, outDir: string, opts: MediaCallOptions, fn: (ctx: CallContext) => Promise<T>): Promise<T> {
    if (!(await exists(outDir))) throw new AppError('MEDIA_INVALID_OPTIONS', `The output folder does not exist: ${outDir}`, 400);
    const ctx = await this.context(derivative, input, opts);
    ctx.tmp = await mkdtemp(join(outDir, `.media-${derivative}-`));
    try {
      return await fn(ctx);
    } finally {
      await rm(ctx.tmp, { recursive: true, force: true });
    }
  }

  private async videoProbe(ctx: CallContext, opts: WithProbe): Promise<MediaProbe> {
    const probe = opts.probe ?? (await this.probeWith(ctx, opts));
    if (probe.detection.kind !== 'video' || !probe.av?.frames || probe.av.video.length === 0) {
      throw new Fail(
        probe.detection.kind === 'other'
          ? mediaFailure('MEDIA_UNSUPPORTED', `This is not a video ffmpeg can read (${probe.detection.mime}). If it is a recording, it needs the recorder's native player.`, { needsSpecialistTool: true })
          : mediaFailure('MEDIA_UNSUPPORTED', `This is not a video (${probe.detection.mime}).`),
      );
    }
    return probe;
  }

  private async audioProbe(ctx: CallContext, opts: WithProbe): Promise<MediaProbe> {
    const probe = opts.probe ?? (await this.probeWith(ctx, opts));
    if (!probe.av || probe.av.audio.length === 0) {
      throw new Fail(mediaFailure('MEDIA_UNSUPPORTED', `There is no audio stream in this file (${probe.detection.mime}).`));
    }
    return probe;
  }

  private async head(input: string, opts: MediaCallOptions): Promise<Buffer> {
    return this.repository.readHead(input, SNIFF_BYTES, opts.signal, this.timeLimitFor(opts, undefined));
  }

  /** sharp and heif-convert read local files: a URL input is downloaded into the scratch folder. */
  private async localCopy(ctx: CallContext, input: string, opts: MediaCallOptions): Promise<string> {
    if (!isUrl(input)) return input;
    const dir = ctx.tmp ?? (await mkdtemp(join(tmpdir(), 'media-probe-')));
    const dest = join(dir, 'input.download');
    await this.repository.download(input, dest, opts.signal, this.timeLimitFor(opts, undefined));
    if (!ctx.tmp) ctx.tmp = dir; // removed by the caller's context, or below for bare probes
    return dest;
  }

  private timeLimitFor(opts: MediaCallOptions, mediaSeconds: number | undefined): number {
    if (opts.timeLimitMs !== undefined) return opts.timeLimitMs;
    return this.timeLimit.baseMs + Math.ceil((mediaSeconds ?? 0) * this.timeLimit.perMediaSecondMs);
  }

  private async runTool(
    ctx: CallContext,
    spec: CommandSpec,
    paths: RunPaths,
    opts: MediaCallOptions,
    mediaSeconds: number | undefined,
    onStdout?: (b: Buffer) => void,
  ): Promise<ToolRunOutcome> {
    const run = await this.repository.run(spec, paths, {
      timeLimitMs: this.timeLimitFor(opts, mediaSeconds),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onStdout ? { onStdout } : {}),
    });
    ctx.steps.push({
      tool: spec.tool,
      version: versionOf(ctx.versions, spec.tool),
      args: [...spec.args],
      ...(spec.env ? { env: MediaRepository.toolEnv(spec.env) } : {}),
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      exitCode: run.exitCode,
    });
    return run;
  }

  private throwIfFailed(run: ToolRunOutcome, tool: string): void {
    if (run.missing) throw new Fail(mediaFailure('MEDIA_TOOL_MISSING', `${tool} is not installed on this worker.`, { tool }));
    if (run.aborted) throw new Fail(mediaFailure('MEDIA_ABORTED', `${tool} was stopped because the work was cancelled.`, { tool, exitCode: run.exitCode }));
    if (run.timedOut) {
      throw new Fail(mediaFailure('MEDIA_TIMEOUT', `${tool} ran past its time limit and was stopped; the file may be very long or the storage slow.`, { tool, exitCode: run.exitCode, retryable: true }));
    }
    if (run.exitCode !== 0) throw new Fail(diagnoseToolFailure(tool, run.exitCode, run.stderr));
  }

  private async ffprobeJson(input: string, spec: InputSpec, opts: MediaCallOptions, ctx: CallContext | undefined, countFrames = false): Promise<{ raw: unknown; stderr: string }> {
    const cmd = buildProbeCommand(spec, countFrames);
    const run = ctx
      ? await this.runToolCollect(ctx, cmd, input, opts)
      : await this.repository.run(cmd, { input }, { timeLimitMs: this.timeLimitFor(opts, undefined), collectStdout: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (run.missing || run.aborted || run.timedOut) this.throwIfFailed(run, 'ffprobe');
    try {
      return { raw: JSON.parse(run.stdout?.toString('utf8') || '{}'), stderr: run.stderr };
    } catch {
      throw new Fail(diagnoseToolFailure('ffprobe', run.exitCode, run.stderr));
    }
  }

  private async runToolCollect(ctx: CallContext, cmd: CommandSpec, input: string, opts: MediaCallOptions): Promise<ToolRunOutcome> {
    const run = await this.repository.run(cmd, { input }, { timeLimitMs: this.timeLimitFor(opts, undefined), collectStdout: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    ctx.steps.push({ tool: cmd.tool, version: versionOf(ctx.versions, cmd.tool), args: [...cmd.args], startedAt: run.startedAt, durationMs: run.durationMs, exitCode: run.exitCode });
    return run;
  }

  private async frameScan(
    input: string,
    spec: InputSpec,
    streamIndex: number,
    opts: ProbeOptions,
    ctx: CallContext | undefined,
    timing: 'stream' | 'assumed',
    mediaSeconds: number | undefined,
  ): Promise<{ facts: FrameTimingFacts; decodeErrors: number; detail: string }> {
    const cmd = buildFrameScanCommand({ ...spec, assumedFrameRate: undefined } as InputSpec, streamIndex);
    const acc = new FrameTimingAccumulator(opts.gapThresholdSeconds ?? DEFAULT_GAP_THRESHOLD_SECONDS, timing);
    const run = await this.repository.run(cmd, { input }, {
      timeLimitMs: this.timeLimitFor(opts, mediaSeconds),
      onStdout: (b) => acc.push(b.toString('utf8')),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    acc.end();
    if (ctx) ctx.steps.push({ tool: 'ffprobe', version: ctx.versions.ffprobe, args: [...cmd.args], startedAt: run.startedAt, durationMs: run.durationMs, exitCode: run.exitCode });
    if (run.missing || run.aborted || run.timedOut) this.throwIfFailed(run, 'ffprobe');
    return { facts: acc.facts(), decodeErrors: run.decodeErrors, detail: run.stderr.split('\n').filter(Boolean).slice(-8).join('\n') };
  }

  private async sharpStep<T>(ctx: CallContext, operations: Record<string, unknown>[], fn: () => Promise<T>): Promise<T> {
    const started = new Date();
    const result = await fn();
    ctx.steps.push({
      tool: 'sharp',
      version: `sharp ${ctx.versions.sharp} (libvips ${ctx.versions.libvips})`,
      args: operations.map((o) => JSON.stringify(o)),
      startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
    });
    return result;
  }

  /** Hashes a finished, checked file and moves it into the output folder under its final name. */
  private async promote(partial: string, outDir: string, base: string, ext: string, mime: string): Promise<DerivativeFile> {
    if (!/^[\w.-]+$/.test(base)) throw new AppError('MEDIA_INVALID_OPTIONS', `baseName may hold letters, digits, '.', '_' and '-' only: ${base}`, 400);
    const { sha256, size } = await this.repository.sha256(partial);
    if (size === 0) throw new Fail(mediaFailure('MEDIA_VERIFICATION_FAILED', 'The tool wrote an empty file; it was discarded.'));
    const fileName = `${base}${ext}`;
    const path = join(outDir, fileName);
    await rename(partial, path);
    return { path, fileName, mime, sha256, sizeBytes: size };
  }

  private async provenance(ctx: CallContext, outputs: OutputRecord[], extra: Partial<ProvenanceRecord> = {}): Promise<ProvenanceRecord> {
    const declared = ctx.opts.inputSha256;
    const digest = declared ? undefined : await this.repository.sha256(ctx.input, ctx.opts.signal);
    const finished = new Date();
    return {
      derivative: ctx.derivative,
      recipeVersion: RECIPE_VERSIONS[ctx.derivative],
      input: {
        ref: inputRef(ctx.input),
        sha256: declared ?? (digest as { sha256: string }).sha256,
        sha256Source: declared ? 'declared-by-caller' : 'computed',
        ...(digest ? { sizeBytes: digest.size } : {}),
      },
      outputs,
      steps: [...ctx.steps],
      tools: ctx.versions,
      assumptions: extra.assumptions ?? {},
      verification: extra.verification ?? {},
      startedAt: ctx.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - ctx.started.getTime(),
    };
  }
}

/* ==================================================================== helpers */

function hex(b: Buffer): string {
  return b.subarray(0, 16).toString('hex');
}

function shortId(): string {
  return randomUUID().slice(0, 8);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function versionOf(v: ToolVersions, tool: ToolStep['tool']): string {
  if (tool === 'ffmpeg') return v.ffmpeg;
  if (tool === 'ffprobe') return v.ffprobe;
  if (tool === 'heif-convert') return v.heifConvert;
  return `sharp ${v.sharp} (libvips ${v.libvips})`;
}

/** nb_read_frames of one stream from an ffprobe -count_frames JSON (decoded frames, not packets). */
function readFramesOf(raw: unknown, index: number): number {
  const s = (raw as { streams?: { index?: number; nb_read_frames?: string }[] }).streams?.find((x) => x.index === index);
  const n = Number(s?.nb_read_frames);
  return Number.isFinite(n) ? n : -1;
}

/** A file name, or a URL without query or fragment: presigned signatures are never recorded. */
export function inputRef(input: string): string {
  if (isUrl(input)) {
    const u = new URL(input);
    return `${u.protocol}//${u.host}${u.pathname}`;
  }
  return basename(input);
}

function record(role: string, f: DerivativeFile): OutputRecord {
  return { role, fileName: f.fileName, mime: f.mime, sha256: f.sha256, sizeBytes: f.sizeBytes };
}

function inputSpec(input: string, magic: MagicMatch | undefined, opts: ProbeOptions): InputSpec {
  return {
    url: isUrl(input),
    ...(magic?.forceDemuxer ? { forceFormat: magic.forceDemuxer } : {}),
    ...(magic?.elementaryStream ? { assumedFrameRate: normaliseRate(opts.assumedFrameRate ?? DEFAULT_ASSUMED_FRAME_RATE) } : {}),
  };
}

function normaliseRate(rate: string): string {
  const s = String(rate).trim();
  if (!/^\d+(\.\d+)?(\/\d+)?$/.test(s) || Number(s.split('/')[0]) <= 0) {
    throw new AppError('MEDIA_INVALID_OPTIONS', `assumedFrameRate must be a positive number or fraction such as 25 or 30000/1001 (got ${rate})`, 400);
  }
  return s.includes('/') ? s : `${s}/1`;
}

function elementaryTiming(magic: MagicMatch, av: AvFacts, opts: ProbeOptions): ElementaryStreamTiming {
  return {
    codec: magic.elementaryStream as 'h264' | 'hevc',
    assumedFrameRate: normaliseRate(opts.assumedFrameRate ?? DEFAULT_ASSUMED_FRAME_RATE),
    assumedFrameRateSource: opts.assumedFrameRate ? 'caller' : 'default',
    ...(av.video[0]?.rFrameRate ? { probedFrameRate: av.video[0].rFrameRate } : {}),
  };
}

function videoSource(probe: MediaProbe, input: string): VideoSource {
  const av = probe.av as AvFacts;
  const v = av.video[0];
  const a = av.audio[0];
  const magicLike: MagicMatch | undefined = probe.detection.elementaryStream
    ? { kind: 'video', mime: probe.detection.mime, format: probe.detection.format, kindFromStreams: false, elementaryStream: probe.detection.elementaryStream, forceDemuxer: probe.detection.elementaryStream }
    : probe.detection.format === 'dhav'
      ? { kind: 'video', mime: probe.detection.mime, format: 'dhav', kindFromStreams: true, forceDemuxer: 'dhav' }
      : undefined;
  return {
    input: {
      url: isUrl(input),
      ...(magicLike?.forceDemuxer ? { forceFormat: magicLike.forceDemuxer } : {}),
      ...(av.elementaryStream ? { assumedFrameRate: av.elementaryStream.assumedFrameRate } : {}),
    },
    video: {
      index: v.index,
      displayWidth: v.displayWidth,
      displayHeight: v.displayHeight,
      rotation: v.rotation,
      interlaced: v.interlaced || (av.frames?.interlacedFrames ?? 0) > 0,
      hdr: v.hdr,
    },
    ...(a && a.sampleRate > 0 && a.channels > 0 ? { audio: { index: a.index, sampleRate: a.sampleRate, channels: a.channels } } : {}),
  };
}

function audioSource(probe: MediaProbe, input: string): AudioSource {
  const a = (probe.av as AvFacts).audio[0];
  if (!(a.sampleRate > 0 && a.channels > 0)) {
    throw new Fail(mediaFailure('MEDIA_UNDECODABLE', 'The audio stream has no usable sample rate or channel count.', { needsSpecialistTool: true }));
  }
  return { input: { url: isUrl(input) }, audio: { index: a.index, sampleRate: a.sampleRate, channels: a.channels } };
}

function imageFacts(meta: Record<string, unknown>, exifTree: Record<string, unknown> | undefined, format: string): ImageFacts {
  const width = Number(meta.width ?? 0);
  const height = Number(meta.height ?? 0);
  const orientation = typeof meta.orientation === 'number' ? meta.orientation : undefined;
  // HEIC orientation comes from the container (applied by heif-convert), not the EXIF tag.
  const swap = format !== 'heic' && orientation !== undefined && orientation >= 5 && orientation <= 8;
  const exif = exifTree ? exifFacts(exifTree) : undefined;
  return {
    format: String(meta.format ?? format),
    width,
    height,
    displayWidth: swap ? height : width,
    displayHeight: swap ? width : height,
    ...(orientation !== undefined ? { orientation } : {}),
    ...(typeof meta.pages === 'number' ? { pages: meta.pages } : {}),
    ...(typeof meta.space === 'string' ? { space: meta.space } : {}),
    ...(typeof meta.channels === 'number' ? { channels: meta.channels } : {}),
    ...(typeof meta.depth === 'string' ? { depth: meta.depth } : {}),
    ...(typeof meta.hasAlpha === 'boolean' ? { hasAlpha: meta.hasAlpha } : {}),
    ...(typeof meta.hasProfile === 'boolean' ? { hasProfile: meta.hasProfile } : {}),
    ...(exif ? { exif } : {}),
  };
}

function imageFailure(err: unknown): MediaFailure {
  const msg = (err as Error)?.message ?? String(err);
  if (/pixel limit/i.test(msg)) {
    return mediaFailure('MEDIA_UNSUPPORTED', 'The image is larger than the pixel limit (a guard against decompression bombs); open it with a specialist viewer.', { needsSpecialistTool: true, tool: 'sharp', detail: msg });
  }
  if (/unsupported image format|not a known file format|bad seek|no decoder|not been built in|Support for this compression format/i.test(msg)) {
    return mediaFailure('MEDIA_UNSUPPORTED', 'This image format cannot be decoded here; it needs a specialist viewer.', { needsSpecialistTool: true, tool: 'sharp', detail: msg });
  }
  return mediaFailure('MEDIA_UNDECODABLE', 'The image is damaged and could not be decoded; the original is kept as received. Open it with a specialist viewer.', {
    needsSpecialistTool: true,
    tool: 'sharp',
    detail: msg,
  });
}
