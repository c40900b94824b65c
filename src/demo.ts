import type { Presence } from './domain/licenses.js';
import type { User } from './domain/model.js';
import { ALL_SCOPES } from './domain/scopes.js';
import type { CredentialIssuer } from './auth/credentials.js';
import { generatePassword, hashPassword } from './auth/secrets.js';
import type { Channel, Direction } from './store/platform-model.js';
import type { Store } from './store/store.js';

export interface DemoSeed {
  accountId: string;
  password: string;
  passwordGenerated: boolean;
  users: { email: string; license: string }[];
  credential: { clientId: string; clientSecret: string; scopes: string[] };
  /** Interactions seeded for the platform APIs (some with recordings and transcripts). */
  interactions: number;
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
  const agents: User[] = [];
  for (const p of people) {
    const user = await store.users.create({ accountId: account.id, email: p.email, name: p.name, license: p.license, passwordHash, skills: p.skills, presence: p.presence });
    if (p.license === 'admin') admin = user;
    if (p.license === 'agent') agents.push(user);
  }
  for (let i = 0; i < NAMES.length; i++) {
    const name = NAMES[i] as string;
    const agent = await store.users.create({
      accountId: account.id,
      email: `${name.split(' ')[0]?.toLowerCase()}.agent@demo.test`,
      name,
      license: 'agent',
      passwordHash: null,
      skills: SKILL_SETS[i % SKILL_SETS.length] as string[],
      presence: PRESENCES[i % PRESENCES.length] as Presence,
    });
    agents.push(agent);
  }
  if (!admin) throw new Error('demo admin missing');
  const interactions = await seedDemoInteractions(store, account.id, agents);
  const created = await issuer.createUserLevel(admin, { name: 'Demo credential', scopes: [...ALL_SCOPES] }, { id: null, email: 'ccauth demo seed' });
  return {
    accountId: account.id,
    password,
    passwordGenerated: demoPassword === undefined,
    users: people.map((p) => ({ email: p.email, license: p.license })),
    credential: { clientId: created.credential.clientId, clientSecret: created.clientSecret, scopes: created.credential.scopes },
    interactions,
  };
}

/** A small deterministic generator (mulberry32): the demo data is the same on every first start. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A valid PCM WAV file (RIFF, 16-bit mono, 8 kHz): a short two-tone "call" so that a downloaded
 * demo recording plays in any player.
 */
export function demoWav(seconds = 1.5, frequencies: [number, number] = [440, 660]): Buffer {
  const rate = 8000;
  const samples = Math.round(seconds * rate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const f = t < seconds / 2 ? frequencies[0] : frequencies[1];
    const envelope = Math.min(1, t * 20, (seconds - t) * 20);
    data.writeInt16LE(Math.round(Math.sin(2 * Math.PI * f * t) * 0.3 * envelope * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const DIALOGUES: Record<string, { language: string; lines: [string, string][] }> = {
  Sales: {
    language: 'en-GB',
    lines: [
      ['agent', 'Thank you for calling, this is the sales team. How can I help?'],
      ['customer', 'I would like to upgrade my plan to the premium tier.'],
      ['agent', 'Of course. The premium tier adds priority support and more seats.'],
      ['customer', 'Great, please go ahead.'],
      ['agent', 'Done. You will receive a confirmation email shortly.'],
    ],
  },
  Service: {
    language: 'en-GB',
    lines: [
      ['agent', 'Customer service, how can I help you today?'],
      ['customer', 'My last delivery arrived damaged.'],
      ['agent', 'I am sorry to hear that. I have arranged a replacement at no cost.'],
      ['customer', 'Thank you, that is very helpful.'],
    ],
  },
  French: {
    language: 'fr-FR',
    lines: [
      ['agent', 'Bonjour, service client, que puis-je faire pour vous ?'],
      ['customer', 'Je voudrais changer mon adresse de livraison.'],
      ['agent', "C'est fait. Autre chose ?"],
      ['customer', 'Non, merci beaucoup.'],
    ],
  },
  Spanish: {
    language: 'es-ES',
    lines: [
      ['agent', 'Buenos dias, en que puedo ayudarle?'],
      ['customer', 'Quisiera saber el estado de mi pedido.'],
      ['agent', 'Su pedido sale hoy y llegara manana.'],
    ],
  },
  English: {
    language: 'en-GB',
    lines: [
      ['agent', 'Hello, thanks for getting in touch. What can I do for you?'],
      ['customer', 'I need a copy of my last invoice.'],
      ['agent', 'I have just sent it to the email address on your account.'],
    ],
  },
};

/**
 * Interactions of the last seven days for the platform APIs: completed calls with a recording and a
 * transcript, chats with a transcript, emails with a plain-text transcript, and a few calls still
 * active. Returns how many were created.
 */
export async function seedDemoInteractions(store: Store, accountId: string, agents: readonly User[], now = Date.now()): Promise<number> {
  const rnd = random(20240501);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const count = 36;
  for (let n = 0; n < count; n++) {
    const agent = pick(agents);
    const skill = agent.skills.length > 0 ? pick(agent.skills) : 'English';
    const roll = rnd();
    const channel: Channel = roll < 0.6 ? 'voice' : roll < 0.85 ? 'chat' : 'email';
    const direction: Direction = rnd() < 0.8 ? 'inbound' : 'outbound';
    const active = n >= count - 3;
    const handling = channel === 'voice' ? 120 + rnd() * 780 : channel === 'chat' ? 300 + rnd() * 900 : 600 + rnd() * 3000;
    const startedAt = active ? now - Math.round((2 + rnd() * 20) * 60_000) : now - Math.round((1 + rnd() * 166) * 3_600_000) - Math.round(handling * 1000);
    const customer = channel === 'email' ? `${pick(['j', 'm', 'a', 's', 'r'])}***@example.com` : `+44 7700 900${String(Math.floor(rnd() * 1000)).padStart(3, '0').slice(0, 1)}**`;
    const interaction = await store.interactions.create({
      accountId,
      channel,
      direction,
      agentId: agent.id,
      skill,
      customer,
      startedAt,
      endedAt: active ? null : startedAt + Math.round(handling * 1000),
    });
    if (active) continue;
    const dialogue = DIALOGUES[skill] ?? (DIALOGUES.English as (typeof DIALOGUES)[string]);
    const createdAt = startedAt + Math.round(handling * 1000) + 5_000;
    if (channel === 'voice') {
      const base = 300 + Math.floor(rnd() * 300);
      await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'recording', contentType: 'audio/wav', data: demoWav(1.5, [base, base * 1.5]), createdAt });
    }
    if (channel === 'email') {
      const text = dialogue.lines.map(([speaker, line]) => `${speaker === 'agent' ? 'Agent' : 'Customer'}: ${line}`).join('\n');
      await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'transcript', contentType: 'text/plain; charset=utf-8', data: Buffer.from(text, 'utf8'), createdAt });
    } else {
      const step = (handling * 1000) / dialogue.lines.length;
      const transcript = { language: dialogue.language, segments: dialogue.lines.map(([speaker, text], i) => ({ speaker, offsetMs: Math.round(i * step), text })) };
      await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'transcript', contentType: 'application/json', data: Buffer.from(JSON.stringify(transcript), 'utf8'), createdAt });
    }
  }
  return count;
}
