/** What a token is worth now: signature verification, revocation list, standing rules. */
export { BearerError, type TokenCheck, TokenVerifier, type VerifiedToken } from './verify.js';
export { RevocationList } from './revocations.js';
export { type TokenClaims, type TokenReason, standing, stillStanding } from './standing.js';
