import { ValidationError } from '../../domain/errors.js';
import type { User } from '../../domain/model.js';
import type { Store } from '../../store/store.js';

/**
 * A user named in a request body (agentId): an active user of the token's account. An id of
 * another account reads exactly like an unknown one.
 */
export async function activeAgentOf(store: Store, accountId: string, agentId: string, field = 'agentId'): Promise<User> {
  const user = await store.users.get(agentId);
  if (!user || user.accountId !== accountId) throw new ValidationError(`Field ${field}: no user with id ${agentId} in this account`);
  if (user.status !== 'active') throw new ValidationError(`Field ${field}: the user ${agentId} is disabled`);
  return user;
}
