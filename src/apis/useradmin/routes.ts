import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../domain/errors.js';
import { LICENSES, PRESENCES, type License, type Presence, USER_STATUSES, type UserStatus } from '../../domain/licenses.js';
import type { User } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import { type PageQuery, pageOf } from '../shared/paging.js';
import { schemaErrorFormatter } from '../shared/schema-errors.js';
import { badRequest, gatewayErrors, idParams, notFound, pagedSchema, pagingProperties } from '../shared/schemas.js';
import { NAME_MAX, SKILLS_MAX, SKILL_MAX, type UserPatchBody, filterUsers, parseSkillList, toUserView, userPatch } from './rules.js';

const TAGS = ['User Admin / Agents'];

const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    license: { type: 'string', enum: [...LICENSES] },
    status: { type: 'string', enum: [...USER_STATUSES] },
    skills: { type: 'array', items: { type: 'string' } },
    presence: { type: 'string', enum: [...PRESENCES] },
  },
  required: ['id', 'email', 'name', 'license', 'status', 'skills', 'presence'],
} as const;

/**
 * User Admin / Agents API: the account's users (its agents) with their skills and presence.
 * Reads need users:read, changes users:write; a user of another account is not found.
 */
export async function userAdminApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  /** The user with this id in the token's account. */
  const userOf = async (accountId: string, id: string): Promise<User> => {
    const user = await o.store.users.get(id);
    if (!user || user.accountId !== accountId) throw new NotFoundError(`No user with id ${id} in this account`);
    return user;
  };

  app.get<{ Querystring: PageQuery & { skill?: string; presence?: Presence; status?: UserStatus; license?: License } }>(
    '/useradmin/users',
    {
      config: { scope: 'users:read' },
      schemaErrorFormatter: schemaErrorFormatter('users'),
      schema: {
        summary: "List the account's users (agents), a page at a time",
        description: 'Sorted by email. Filters combine: skill (comma-separated: the users tagged with all of them), presence, status, license.',
        tags: TAGS,
        querystring: {
          type: 'object',
          properties: {
            ...pagingProperties,
            skill: { type: 'string', description: 'Only the users tagged with all these skills (comma-separated, case-insensitive)' },
            presence: { type: 'string', enum: [...PRESENCES] },
            status: { type: 'string', enum: [...USER_STATUSES] },
            license: { type: 'string', enum: [...LICENSES] },
          },
        },
        response: { 200: pagedSchema(userSchema, 'A page of users'), 400: badRequest, ...gatewayErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const filter = { skills: parseSkillList(q.skill), presence: q.presence, status: q.status, license: q.license };
      const users = filterUsers(await o.store.users.listByAccount(request.token.accountId), filter);
      const page = pageOf(users, q);
      return { meta: page.meta, items: page.items.map(toUserView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/useradmin/users/:id',
    {
      config: { scope: 'users:read' },
      schema: {
        summary: 'Read one user',
        tags: TAGS,
        params: idParams('id'),
        response: { 200: userSchema, 404: notFound, ...gatewayErrors },
      },
    },
    async (request) => toUserView(await userOf(request.token.accountId, request.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: UserPatchBody }>(
    '/useradmin/users/:id',
    {
      config: { scope: 'users:write' },
      schema: {
        summary: "Change a user's name, skills or status",
        description: 'Disabling a user makes the API credentials they own stop working at once (tokens already issued included).',
        tags: TAGS,
        params: idParams('id'),
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: NAME_MAX, description: `1..${NAME_MAX} characters after trimming` },
            skills: {
              type: 'array',
              maxItems: SKILLS_MAX,
              items: { type: 'string', minLength: 1, maxLength: SKILL_MAX },
              description: `Replaces the skills: up to ${SKILLS_MAX} names of 1..${SKILL_MAX} characters, no commas`,
            },
            status: { type: 'string', enum: [...USER_STATUSES] },
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: userSchema, 400: badRequest, 404: notFound, ...gatewayErrors },
      },
    },
    async (request) => {
      const target = await userOf(request.token.accountId, request.params.id);
      const changes = userPatch(request.body, target, { userId: request.token.userId ?? null });
      const updated = await o.store.users.update(target.id, changes);
      if (!updated) throw new NotFoundError(`No user with id ${target.id} in this account`);
      return toUserView(updated);
    },
  );

  app.put<{ Params: { id: string }; Body: { presence: Presence } }>(
    '/useradmin/users/:id/presence',
    {
      config: { scope: 'users:write' },
      schema: {
        summary: "Set a user's presence",
        tags: TAGS,
        params: idParams('id'),
        body: {
          type: 'object',
          properties: { presence: { type: 'string', enum: [...PRESENCES] } },
          required: ['presence'],
          additionalProperties: false,
        },
        response: { 200: userSchema, 400: badRequest, 404: notFound, ...gatewayErrors },
      },
    },
    async (request) => {
      const target = await userOf(request.token.accountId, request.params.id);
      const updated = await o.store.users.update(target.id, { presence: request.body.presence });
      if (!updated) throw new NotFoundError(`No user with id ${target.id} in this account`);
      return toUserView(updated);
    },
  );
}
