export * from './custody-recorder.js';
export { checkJustification, vagueness } from './justification-policy.js';
export { AccessLogService, accessLogQuerySchema, toCsv, type AccessLogEntry, type AccessLogQuery, type RefusedRequest } from './access-log.service.js';
export { CustodyModule } from './custody.module.js';
export { LedgerService, type CheckpointView } from './ledger.service.js';
export { cosignaturesAt, storeCosignature, type CosignatureView } from './ledger-cosignatures.js';
export { verifyLedger, type LedgerVerification, type LedgerProblem, type WitnessedCheckpoint, type WitnessRequirement } from './ledger-verifier.js';
export {
  checkpointObjectKey,
  checkpointPrefix,
  parseCheckpointObjectName,
  publishedCheckpoints,
  type PublishedCheckpoint,
  type PublishedCheckpoints,
} from './published-checkpoints.js';
export { FixityService, type FixityOutcome, type FixityRunView, type StoredObjectKind } from './fixity.service.js';
