import type { License } from './licenses.js';

/** One entry of the fixed scope catalogue (SPEC 1). */
export interface ScopeDefinition {
  readonly value: string;
  /** The text the Admin Portal shows for the scope. */
  readonly description: string;
  readonly apis: readonly string[];
  readonly licenses: readonly License[];
}

export const SCOPE_CATALOGUE: readonly ScopeDefinition[] = Object.freeze([
  { value: 'agents-availability:read', description: 'View agent availability', apis: ['Agent Availability API'], licenses: ['admin'] },
  { value: 'users:read', description: 'Read VCC user details, settings, and presences', apis: ['Agents API', 'User Admin API'], licenses: ['admin', 'supervisor'] },
  { value: 'users:write', description: 'Update VCC user details, settings, and presences', apis: ['Agents API', 'User Admin API'], licenses: ['admin'] },
  { value: 'interaction-content:read', description: 'Read or download interaction content', apis: ['Conversation Analyzer API', 'Interaction Content API'], licenses: ['admin', 'supervisor'] },
  { value: 'interaction-content:delete', description: 'Delete interaction content (e.g. call recordings, transcripts)', apis: ['Interaction Content API'], licenses: ['admin'] },
  { value: 'stats', description: 'View Insights stats', apis: ['Insights Stats API'], licenses: ['admin'] },
  { value: 'interactions:write', description: 'Create and update active interactions', apis: ['Interactions API'], licenses: ['admin'] },
  { value: 'globalpci', description: 'Create secure payment sessions', apis: ['Payment API'], licenses: ['admin'] },
] satisfies ScopeDefinition[]);

const BY_VALUE = new Map(SCOPE_CATALOGUE.map((s) => [s.value, s]));

export const ALL_SCOPES: readonly string[] = SCOPE_CATALOGUE.map((s) => s.value);

export function isKnownScope(value: string): boolean {
  return BY_VALUE.has(value);
}

export function scopeDefinition(value: string): ScopeDefinition | undefined {
  return BY_VALUE.get(value);
}

/** The accepted ways to write several scopes in one string, named in every error about them. */
export const SCOPE_LIST_FORMS = 'separate scopes with spaces or commas, e.g. "users:read stats" or "users:read,stats"';

export type ScopeListParse = { ok: true; scopes: string[] } | { ok: false; message: string };

/**
 * The one scope separator rule (admin API strings, CLI flags, list filters): scopes are separated
 * by spaces or commas, in any mix ("a b", "a,b", "a, b"); duplicates are folded and order kept.
 * Only the form is checked here; whether each scope exists or may be granted is the caller's rule.
 */
export function splitScopeList(value: string): ScopeListParse {
  const items = value
    .trim()
    .split(/[\s,]+/)
    .filter((s) => s !== '');
  if (items.length === 0) return { ok: false, message: `At least one scope is required: ${SCOPE_LIST_FORMS}` };
  // Scope values are letters, digits and . _ : / - (the catalogue's form); any other character
  // (; | + & quotes...) is taken for a separator we do not accept.
  const bad = items.find((s) => !/^[A-Za-z0-9._:/-]+$/.test(s));
  if (bad !== undefined) {
    const shown = bad.length > 40 ? `${bad.slice(0, 40)}…` : bad;
    return { ok: false, message: `Invalid scope list near ${JSON.stringify(shown)}: ${SCOPE_LIST_FORMS}` };
  }
  return { ok: true, scopes: [...new Set(items)] };
}
