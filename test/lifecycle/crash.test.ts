// kill -9 in the middle of a burst of credential creates, through the admin API of a running
// server and through `ccauth credential create` processes, on SQLite and on PostgreSQL. After a
// restart: no partial credential (every row has its secret hash, its scopes and its audit event,
// and every audit event its row), and every acknowledged create (201 / exit 0 with JSON) survived
// and gets a token.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, ensureBuilt, root, serve } from '../cli/helpers.js';
import { freePort, postgresAvailable } from '../support/env.js';
import { type Dialect, type ProcessStore, processStore, seedAdmin, tokenAnswer } from './support.js';

const pgUp = await postgresAvailable();

interface Acknowledged {
  via: 'admin-api' | 'cli';
  id: string;
  clientId: string;
  clientSecret: string;
}

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`kill -9 during a burst of creates [${dialect}]`, { skip: dialect === 'postgres' && !pgUp ? 'PostgreSQL is not reachable (required in CI)' : false }, () => {
    let store: ProcessStore;
    before(async () => {
      await ensureBuilt();
      store = processStore(dialect);
      await store.prepare();
    });
    after(() => store.cleanup());

    it('leaves no partial credential and loses no acknowledged create', async (t) => {
      const seeded = await seedAdmin(store.env, 'stats');
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const serverEnv = { ...store.env, PORT: String(port), CCAUTH_HOST: '127.0.0.1' };
      const server = await serve([], serverEnv);

      const signIn = await fetch(`${base}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: seeded.email, password: seeded.password }) });
      assert.equal(signIn.status, 200);
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const { csrfToken } = (await signIn.json()) as { csrfToken: string };

      const acknowledged: Acknowledged[] = [];
      let killed = false;
      let n = 0;
      const apiWorker = async () => {
        while (!killed) {
          const name = `api-${n++}`;
          try {
            const res = await fetch(`${base}/admin/api/credentials`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
              body: JSON.stringify({ name, scopes: ['stats'] }),
            });
            const body = (await res.json()) as { id: string; clientId: string; clientSecret: string };
            if (res.status === 201) acknowledged.push({ via: 'admin-api', id: body.id, clientId: body.clientId, clientSecret: body.clientSecret });
            else assert.fail(`create answered ${res.status} before the kill: ${JSON.stringify(body)}`);
          } catch (err) {
            if (!killed) throw err;
          }
        }
      };
      const running = new Set<ChildProcess>();
      const cliWorker = async () => {
        while (!killed) {
          const child = spawn(process.execPath, [join(root, 'bin', 'ccauth.js'), 'credential', 'create', '--user', seeded.email, '--name', `cli-${n++}`, '--scopes', 'stats', '--json'], {
            cwd: root,
            env: cleanEnv(store.env),
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          running.add(child);
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
          child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
          const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
          running.delete(child);
          if (code === 0) {
            const body = JSON.parse(stdout) as { id: string; clientId: string; clientSecret: string };
            acknowledged.push({ via: 'cli', id: body.id, clientId: body.clientId, clientSecret: body.clientSecret });
          } else if (!killed) {
            assert.fail(`ccauth credential create exited ${code} before the kill: ${stderr}`);
          }
        }
      };
      const workers = [...Array.from({ length: 6 }, apiWorker), ...Array.from({ length: 3 }, cliWorker)];

      // Let the burst run until both paths have acknowledged creates and CLI processes are mid-way.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const api = acknowledged.filter((a) => a.via === 'admin-api').length;
        const cli = acknowledged.filter((a) => a.via === 'cli').length;
        if (api >= 30 && cli >= 4 && running.size > 0) break;
        assert.ok(Date.now() < deadline, `the burst got going (api ${api}, cli ${cli})`);
        await new Promise((r) => setTimeout(r, 10));
      }
      killed = true;
      server.child.kill('SIGKILL');
      const cliKilled = running.size;
      for (const child of running) child.kill('SIGKILL');
      await Promise.all(workers);
      assert.equal(await server.stop(), -1, 'the server died of the signal');
      assert.ok(cliKilled > 0, 'at least one CLI create was killed');

      // Restart on the same store.
      const restarted = await serve([], { ...serverEnv, PORT: String(await freePort()) });
      try {
        const db = await store.open();
        try {
          const rows = await db.db.selectFrom('api_credentials').selectAll().where('account_id', '=', seeded.accountId).execute();
          const created = await db.db.selectFrom('audit_events').selectAll().where('account_id', '=', seeded.accountId).where('action', '=', 'credential.created').execute();
          const audited = new Set(created.map((e) => e.target_id));
          for (const row of rows) {
            assert.match(row.secret_hash, /^\S{20,}$/, `${row.name}: a secret hash`);
            assert.equal(row.scopes, 'stats', `${row.name}: its scopes`);
            assert.match(row.client_id, /^\S{8,}$/, `${row.name}: a client id`);
            assert.ok(audited.has(row.id), `${row.name}: its credential.created audit event`);
          }
          const ids = new Set(rows.map((r) => r.id));
          for (const event of created) assert.ok(ids.has(event.target_id as string), `audit event ${event.id} without its credential`);
          for (const ack of acknowledged) assert.ok(ids.has(ack.id), `acknowledged ${ack.via} create ${ack.id} survived`);
          t.diagnostic(`${acknowledged.length} acknowledged creates (${acknowledged.filter((a) => a.via === 'cli').length} by the CLI), ${rows.length} credential rows after the restart, ${cliKilled} CLI creates killed`);
        } finally {
          await db.close();
        }
        const base2 = restarted.info.url;
        for (const ack of acknowledged) {
          const r = await tokenAnswer(base2, ack.clientId, ack.clientSecret, 'stats');
          assert.equal(r.status, 200, `${ack.via} credential ${ack.id} gets a token: ${r.body}`);
        }
      } finally {
        assert.equal(await restarted.stop(), 0);
      }
    });
  });
}
