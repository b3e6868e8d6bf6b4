/**
 * The assignment-level API of the tune agent in one import: find, rewrite and check the
 * `NAME = <literal>` lines that a search space points at, and offer candidates for `init`.
 */
export { readAssignment, rewriteAssignment } from './rewrite.js';
export { checkSpaceAgainstFiles } from './check.js';
export { detectCandidateConstants } from './candidates.js';
