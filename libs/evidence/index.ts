export { EvidenceFilesService, uploadKey, fileIdFromKey, uploadNotFound, type EvidenceFileView, type EvidenceFileState } from './evidence-files.service.js';
export { parseUploadMetadata, UPLOAD_METADATA_KEYS, type UploadDeclaration } from './upload-metadata.js';
export { EvidenceModule } from './evidence.module.js';
export { WorkingCopiesService, type DerivativeView, type MediaState, type MediaView } from './working-copies.service.js';
export { ExtractionsService, entriesToCsv, type ExtractionView, type ExtractionEntryView, type ExtractionState, type EntryQuery } from './extractions.service.js';
export { ExtractionWorkflowService, type ExtractionWorkflowView, type ExtractionNoteView, type StrategyVersionView, type ExtractionReportView } from './extraction-workflow.service.js';
export { ExtractionExportsService, type ExtractionExportView, type ExportItemView, type ExportManifest } from './extraction-exports.service.js';
export * from './extraction-workflow.schemas.js';
