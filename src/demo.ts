import type { Presence } from './domain/licenses.js';
import { ALL_SCOPES } from './domain/scopes.js';
import type { CredentialIssuer } from './auth/credentials.js';
import { generatePassword, hashPassword } from './auth/secrets.js';
import type { Store } from './store/store.js';

export interface DemoSeed {
  accountId: string;
  password: string;
  passwordGenerated: boolean;
  users: { email: string; license: string }[];
  credential: { clientId: string; clientSecret: string; scopes: string[] };
}

const SKILL_SETS: string[][] = [
  ['French', 'English'],
  ['French', 'English', 'Sales'],
  ['English', 'Sales'],
  ['English', 'Service'],
  ['Spanish', 'English'],
  ['Spanish', 'Service'],
  ['French', 'Service'],
  ['English', 'Spanish', 'Sales'],
  ['French', 'English', 'Service'],
  ['English'],
  ['Spanish'],
  ['French', 'Spanish', 'English', 'Sales', 'Service'],
  ['English', 'Sales', 'Service'],
  ['French'],
];
const PRESENCES: Presence[] = ['Ready', 'Away', 'Extended Away', 'Logged Out'];
const NAMES = ['Amelie Laurent', 'Ben Carter', 'Chloe Martin', 'Daniel Ruiz', 'Elena Garcia', 'Farid Haddad', 'Grace Lee', 'Hugo Moreau', 'Isla Brown', 'Jonas Weber', 'Keira Walsh', 'Luis Fernandez', 'Maya Patel', 'Noah Dubois'];

/** On an empty store: the demo account of SPEC 4. Returns undefined when the store has accounts. */
export async function seedDemo(store: Store, issuer: CredentialIssuer, demoPassword: string | undefined): Promise<DemoSeed | undefined> {
  if ((await store.accounts.count()) > 0) return undefined;
  const password = demoPassword ?? generatePassword();
  const passwordHash = await hashPassword(password);
  const account = await store.accounts.create({ name: 'Demo Contact Center', apiCredentialsEnabled: true });
  const people = [
    { email: 'admin@demo.test', name: 'Ada Admin', license: 'admin' as const, skills: ['English', 'Service'], presence: 'Ready' as Presence },
    { email: 'supervisor@demo.test', name: 'Sam Supervisor', license: 'supervisor' as const, skills: ['English', 'French', 'Sales'], presence: 'Away' as Presence },
    { email: 'agent@demo.test', name: 'Alex Agent', license: 'agent' as const, skills: ['English', 'French'], presence: 'Ready' as Presence },
  ];
  let admin;
  for (const p of people) {
    const user = await store.users.create({ accountId: account.id, email: p.email, name: p.name, license: p.license, passwordHash, skills: p.skills, presence: p.presence });
    if (p.license === 'admin') admin = user;
  }
  for (let i = 0; i < NAMES.length; i++) {
    const name = NAMES[i] as string;
    await store.users.create({
      accountId: account.id,
      email: `${name.split(' ')[0]?.toLowerCase()}.agent@demo.test`,
      name,
      license: 'agent',
      passwordHash: null,
      skills: SKILL_SETS[i % SKILL_SETS.length] as string[],
      presence: PRESENCES[i % PRESENCES.length] as Presence,
    });
  }
  if (!admin) throw new Error('demo admin missing');
  const created = await issuer.createUserLevel(admin, { name: 'Demo credential', scopes: [...ALL_SCOPES] }, { id: null, email: 'ccauth demo seed' });
  return {
    accountId: account.id,
    password,
    passwordGenerated: demoPassword === undefined,
    users: people.map((p) => ({ email: p.email, license: p.license })),
    credential: { clientId: created.credential.clientId, clientSecret: created.clientSecret, scopes: created.credential.scopes },
  };
}
