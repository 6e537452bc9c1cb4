import { CreateUsers1763900000000 } from './migrations/1763900000000-create-users.js';
import { CasesExhibitsCustody1763900100000 } from './migrations/1763900100000-cases-exhibits-custody.js';
import { OidcUserLinks1763900200000 } from './migrations/1763900200000-oidc-user-links.js';
import { CustodyLedger1763900300000 } from './migrations/1763900300000-custody-ledger.js';
import { Fixity1763900400000 } from './migrations/1763900400000-fixity.js';
import { RequireCustodyEvents1763900500000 } from './migrations/1763900500000-require-custody-events.js';
import { AppRole1763900600000 } from './migrations/1763900600000-app-role.js';
import { EvidenceFiles1763900700000 } from './migrations/1763900700000-evidence-files.js';
import { LedgerEventBytes1763900800000 } from './migrations/1763900800000-ledger-event-bytes.js';
import { Sessions1763900900000 } from './migrations/1763900900000-sessions.js';
import { SealFailures1763901000000 } from './migrations/1763901000000-seal-failures.js';
import { Media1763901300000 } from './migrations/1763901300000-media.js';
import { Disclosure1763901200000 } from './migrations/1763901200000-disclosure.js';
import { LedgerCosignatures1763901400000 } from './migrations/1763901400000-ledger-cosignatures.js';
import { Extractions1763901500000 } from './migrations/1763901500000-extractions.js';
import { LeastPrivilege1763902300000 } from './migrations/1763902300000-least-privilege.js';
import { DisclosureBundleFixity1763902600000 } from './migrations/1763902600000-disclosure-bundle-fixity.js';
import { CourtCopies1763902800000 } from './migrations/1763902800000-court-copies.js';
import { ExtractionWorkflow1763902500000 } from './migrations/1763902500000-extraction-workflow.js';
import { FixityFailingIndex1763902200000 } from './migrations/1763902200000-fixity-failing-index.js';
import { FixityRequests1763902400000 } from './migrations/1763902400000-fixity-requests.js';

/**
 * Every migration, listed explicitly (ESM has no reliable glob loading, and an
 * explicit list makes a forgotten migration a compile-time matter). Append new migrations.
 */
export const MIGRATIONS = [CreateUsers1763900000000, CasesExhibitsCustody1763900100000, OidcUserLinks1763900200000, CustodyLedger1763900300000, Fixity1763900400000, RequireCustodyEvents1763900500000, AppRole1763900600000, EvidenceFiles1763900700000, LedgerEventBytes1763900800000, Sessions1763900900000, SealFailures1763901000000, Disclosure1763901200000, Media1763901300000, LedgerCosignatures1763901400000, Extractions1763901500000, FixityFailingIndex1763902200000, LeastPrivilege1763902300000, FixityRequests1763902400000, ExtractionWorkflow1763902500000, DisclosureBundleFixity1763902600000, CourtCopies1763902800000];
