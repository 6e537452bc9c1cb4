/**
 * libs/extraction: device extractions (E01 sets, UFDR, UFD, GrayKey and other ZIP exports) —
 * recognition from content, verification against the acquisition tool's own hashes, inventory,
 * hostile-archive rules and verified artefact export. The only public door of the library.
 * See docs/extraction.md.
 */
export type * from './extraction.types.js';
export { EXTRACTION_ERRORS, outcomeFrom, notVerifiable } from './extraction-errors.js';
export { type ByteSource, LocalFileByteSource, ObjectStoreByteSource, CountingByteSource, readBytes } from './byte-source.js';
export { recogniseContainer, readEwfSegmentFacts, EX01_NOT_VERIFIABLE } from './container-recognition.js';
export { groupExtractionSets } from './extraction-sets.js';
export { segmentExtension, formatGuid } from './ewf-segment.parser.js';
export { parseEwfinfoOutput } from './ewfinfo-output.parser.js';
export { parseEwfverifyOutput, parseEwfverifyProgress, type EwfverifyReport, type EwfverifyVerdict } from './ewfverify-output.parser.js';
export { EwfToolsRepository, DEFAULT_EWF_TOOLS_SETTINGS, type EwfToolsSettings, type EwfToolOutput, type EwfToolRunOptions } from './ewf-tools.repository.js';
export {
  EwfVerificationService,
  DEFAULT_EWF_VERIFICATION_SETTINGS,
  type EwfVerificationSettings,
  type EwfSegmentInput,
  type EwfVerifyOptions,
} from './ewf-verification.service.js';
export { StagingBudget } from './staging-budget.js';
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip-central-directory.js';
export { inspectZip, type ZipInspection, type ZipInspectionOptions, type UfdrReportCheck } from './zip-inspection.service.js';
export {
  parseUfdrReport,
  UfdrReportParser,
  UfdrReportError,
  CELLEBRITE_REPORT_NS,
  DEFAULT_UFDR_REPORT_LIMITS,
  type UfdrReportFacts,
  type UfdrTaggedFile,
  type UfdrReportLimits,
  type UfdrParseOptions,
} from './ufdr-report.parser.js';
export { parseUfdIni, checkUfdHashes, looksLikeUfd, UfdIniError, type UfdIni, type UfdHashCheck, type ComputedDigests, type UfdHashAlgorithm } from './ufd-ini.parser.js';
export { verifyUfd, type UfdVerification } from './ufd-verification.js';
export { exportArtefacts, selectArtefacts, type ArtefactRequest, type ArtefactDescriptor, type ExportedArtefact } from './artefact-export.js';
export { nameFlags, normaliseReportPath } from './zip-entry-names.js';
