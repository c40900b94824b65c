/**
 * Token verification moved to src/tokens/ (one module for the gateway and introspection); the
 * names other code imports from here stay.
 */
export { BearerError, type BearerFailure, TokenVerifier as BearerVerifier, type TokenVerifierOptions as BearerVerifierOptions, type VerifiedToken } from '../tokens/verify.js';
