/** Kept equal to package.json's version by test/unit/version.spec.ts. */
export const SERVICE_VERSION = '0.1.0';
