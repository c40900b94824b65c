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
