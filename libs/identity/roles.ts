/** The global roles of the service (a user has exactly one). Kept free of imports so configuration can check role names. */
export const ROLES = [
  'investigator',
  'forensic_analyst',
  'disclosure_officer',
  'supervisor',
  'cps_prosecutor',
  'auditor',
  'administrator',
] as const;
export type Role = (typeof ROLES)[number];
