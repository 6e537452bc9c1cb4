/**
 * libs/media: probing, detection and faithful working copies of video, audio and images, with
 * provenance exact enough to repeat. This file is the only way in for other code.
 */
export * from './media.types.js';
export {
  MediaService,
  inputRef,
  type MediaServiceOptions,
  type ProbeOptions,
  type VideoWorkingCopyOptions,
  type CourtCopyOptions,
  type PosterFrameOptions,
  type ContactSheetOptions,
  type WaveformOptions,
  type ImagePreviewOptions,
} from './media.service.js';
export { MediaModule } from './media.module.js';
export { MediaError, mediaFailure } from './media-failure.js';
export { RECIPE_VERSIONS, X264 } from './media-recipes.js';
export { asLocalInput, reproductionPlan, type ReproductionReport } from './reproduce.js';
export { checkCaption, type CaptionSpec } from './court-copy.command.js';
export type { MediaRepository, RunOptions, ToolRunOutcome } from './media.repository.js';
