/** Moved to src/tokens/ (what a token is worth now); kept for existing imports. */
export { RevocationList } from '../tokens/revocations.js';
