export { AppError, DependencyUnavailableError } from './app-error.js';
export { MultiHashStream, RunningDigests, type Digests, type HashAlgorithm } from './multi-hash.js';
export { clientRequestId, loggingModule } from './logging.js';
export { initOrClose } from './nest-lifecycle.js';
export { canonicalIdOrSelf, canonicalUuid, isUuid, uuidInput } from './ids.js';
export { OffThreadDigests } from './off-thread-digests.js';
export { MISLEADING_CHARACTERS, safeText, textProblem } from './safe-text.js';
export { processFolderPrefix, removeDeadProcessFolders } from './process-folders.js';
