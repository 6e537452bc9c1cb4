/** DEMS_UPDATE_API_SCHEMA=1 (npm run openapi:types): tests that compare a generated file rewrite it instead. */
export const updatingGeneratedFiles = (): boolean => process.env.DEMS_UPDATE_API_SCHEMA === '1';
