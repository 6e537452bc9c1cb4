import { TMP, type CommandSpec } from './ffmpeg-args.js';
import { IMAGE_PREVIEW, IMAGE_THUMBNAIL, MAX_INPUT_PIXELS } from './media-recipes.js';

/**
 * What sharp does to make one image derivative, as data: the repository executes exactly this
 * and the provenance records it, so the step can be repeated with the same sharp/libvips.
 */
export interface ImageRenderRecipe {
  open: { failOn: 'error'; limitInputPixels: number; sequentialRead: true; pages: 1 };
  /** Apply the EXIF orientation once (sharp `.rotate()` with no angle). */
  autoOrient: boolean;
  resize: { width: number; height: number; fit: 'inside'; withoutEnlargement: true; kernel: 'lanczos3' };
  /** Transparent areas become white (JPEG has no alpha). */
  flatten: { background: '#ffffff' };
  jpeg: { quality: number; chromaSubsampling: '4:2:0'; mozjpeg: false; progressive: false };
  /** No metadata is written: sharp strips it unless asked (no EXIF, no GPS, no orientation tag). */
  metadata: 'stripped';
}

export function imageRenderRecipe(kind: 'preview' | 'thumbnail', autoOrient: boolean, maxSide?: number): ImageRenderRecipe {
  const base = kind === 'preview' ? IMAGE_PREVIEW : IMAGE_THUMBNAIL;
  const side = maxSide ?? base.maxSide;
  if (!(side >= 1)) throw new Error(`maxSide must be at least 1 (got ${side})`);
  return {
    open: { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true, pages: 1 },
    autoOrient,
    resize: { width: side, height: side, fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' },
    flatten: { background: '#ffffff' },
    jpeg: { quality: base.quality, chromaSubsampling: '4:2:0', mozjpeg: false, progressive: false },
    metadata: 'stripped',
  };
}

/**
 * HEIC (iPhone) → PNG with Debian's heif-convert (libheif + libde265): sharp's prebuilt
 * libvips has no HEVC decoder (lovell/sharp#4050). heif-convert applies the HEIF container's
 * rotation/mirror (irot/imir), which the HEIF standard makes authoritative, but libheif 1.15
 * leaves the EXIF Orientation tag in the PNG, so the PNG must not be auto-oriented again. The
 * output name must end in .png (heif-convert picks the format by suffix). Pure.
 */
export function buildHeifConvertCommand(): CommandSpec & { output: string } {
  const output = `${TMP}/heif-decoded.png`;
  return { tool: 'heif-convert', args: ['{input}', output], output };
}
