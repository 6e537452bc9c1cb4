export * from './case.schemas.js';
export { parseUrn, displayUrn, type Urn } from './urn.js';
export { parseExhibitReference, type ExhibitReference } from './exhibit-reference.js';
export { CaseAccessService, caseNotFound, type CaseAccess, type CasePermission } from './case-access.service.js';
export { CasesService, type CaseView, type MemberView } from './cases.service.js';
export { ExhibitsService, exhibitNotFound, requireJustification, type ExhibitView } from './exhibits.service.js';
export { exhibitVisibility, hiddenItemIds, type RecordedEvent } from './sensitive-items.js';
export { CasesModule } from './cases.module.js';
