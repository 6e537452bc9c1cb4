export { DisclosureModule } from './disclosure.module.js';
export { DisclosureSchedulesService, scheduleVersionSchema, type ScheduleVersionInput, type ScheduleVersionSummary } from './disclosure-schedules.service.js';
export { DisclosureBundlesService, bundleRequestSchema, shareRequestSchema, bundleNotFound, type BundleView } from './disclosure-bundles.service.js';
export { BundleBuilder, bundleSigningKey, type BundleSelection } from './bundle-builder.service.js';
export { MG6_FORMS, SCHEDULE_TYPES, scheduleCsv, schedulePdf, type ScheduleType, type ScheduleVersionView } from './mg6-forms.js';
export { BUNDLE_FILES, MANIFEST_FORMAT, pathSafeRef, safeFileName, type BundleManifest, type ManifestFile } from './bundle-layout.js';
export { BUNDLE_SIGNATURE_NAMESPACE, BUNDLE_SIGNER_PRINCIPAL, allowedSignersLine, sshsigSign, sshsigVerify, parseSshsig } from './sshsig.js';
export { verifyCustodyExtract, type ExtractCheck } from './custody-extract.js';
export { verifyBundle, type BundleVerdict } from './bundle-verifier.js';
