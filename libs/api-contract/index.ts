/**
 * The API's contract as its clients see it: the paths of the OpenAPI document, generated into
 * api-schema.ts (npm run openapi:types) and kept equal to the live document by
 * test/e2e/openapi-contract.test.ts. A client (the CLI, the web application) that calls a route
 * the API no longer has, or with another method, does not compile.
 */
import type { paths } from './api-schema.js';

export type { paths } from './api-schema.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A path template of the document as the strings that match it: '/a/{id}/b' → `/a/${string}/b`. */
type Concrete<T extends string> = T extends `${infer Head}{${string}}${infer Tail}` ? `${Head}${string}${Concrete<Tail>}` : T;

/** The paths the API serves with this method. */
export type ApiPath<M extends HttpMethod> = { [P in keyof paths & string]: paths[P] extends { [K in M]: object } ? Concrete<P> : never }[keyof paths & string];
