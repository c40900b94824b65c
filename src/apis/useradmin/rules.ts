import { ValidationError } from '../../domain/errors.js';
import type { License, Presence, UserStatus } from '../../domain/licenses.js';
import type { User } from '../../domain/model.js';

/** A user as the User Admin / Agents APIs show it. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  license: License;
  status: UserStatus;
  skills: string[];
  presence: Presence;
}

export function toUserView(u: User): UserView {
  return { id: u.id, email: u.email, name: u.name, license: u.license, status: u.status, skills: u.skills, presence: u.presence };
}

export interface UserFilter {
  /** The users tagged with all these skills (case-insensitive). */
  skills?: string[];
  presence?: Presence;
  status?: UserStatus;
  license?: License;
}

export function parseSkillList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const skills = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (skills.length === 0) throw new ValidationError('Query parameter skill must name at least one skill (comma-separated for several)');
  return skills;
}

export function filterUsers(users: readonly User[], f: UserFilter): User[] {
  const wanted = f.skills?.map((s) => s.toLowerCase());
  return users.filter((u) => {
    if (f.presence && u.presence !== f.presence) return false;
    if (f.status && u.status !== f.status) return false;
    if (f.license && u.license !== f.license) return false;
    if (wanted) {
      const has = new Set(u.skills.map((s) => s.toLowerCase()));
      if (!wanted.every((s) => has.has(s))) return false;
    }
    return true;
  });
}

export const NAME_MAX = 100;
export const SKILL_MAX = 50;
export const SKILLS_MAX = 50;

export interface UserPatchBody {
  name?: string;
  skills?: string[];
  status?: UserStatus;
}

export interface UserPatch {
  name?: string;
  skills?: string[];
  status?: UserStatus;
}

/**
 * The changes a PATCH asks for, normalized: a trimmed name of 1..100 characters; skills trimmed,
 * 1..50 characters each, no commas (Agent Availability takes a comma-separated list), duplicates
 * (case-insensitive) dropped. Nobody disables the user their own token acts for.
 */
export function userPatch(body: UserPatchBody, target: { id: string }, caller: { userId: string | null }): UserPatch {
  const out: UserPatch = {};
  if (body.name !== undefined) {
    const name = body.name.trim();
    if (name.length === 0 || name.length > NAME_MAX) throw new ValidationError(`Field name must be 1..${NAME_MAX} characters after trimming`);
    out.name = name;
  }
  if (body.skills !== undefined) {
    const seen = new Set<string>();
    const skills: string[] = [];
    body.skills.forEach((raw, i) => {
      const skill = raw.trim();
      if (skill.length === 0 || skill.length > SKILL_MAX) throw new ValidationError(`Field skills[${i}] must be 1..${SKILL_MAX} characters after trimming`);
      if (skill.includes(',')) throw new ValidationError(`Field skills[${i}] must not contain a comma`);
      if (!seen.has(skill.toLowerCase())) {
        seen.add(skill.toLowerCase());
        skills.push(skill);
      }
    });
    out.skills = skills;
  }
  if (body.status !== undefined) {
    if (body.status === 'disabled' && caller.userId === target.id) {
      throw new ValidationError('You cannot disable the user this access token acts for: its credentials would stop working');
    }
    out.status = body.status;
  }
  return out;
}
