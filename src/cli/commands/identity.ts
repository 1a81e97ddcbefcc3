/** @module `mamori user` and `mamori token`: bootstrap the first administrator, manage users and API tokens from the host. */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { systemContext, ROLES, isRole, type Role } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { withCore } from '../context.js';
import { pageFooter, pageFromOptions, withPageOptions } from '../paging.js';
import { promptHidden, readStdin } from '../io.js';

function parseRoles(list: string): Role[] {
  const roles = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = roles.filter((r) => !isRole(r));
  if (bad.length > 0 || roles.length === 0) throw new AppError('VALIDATION_FAILED', `--role: unknown role ${bad.join(', ') || '(none)'}; choose from ${ROLES.join(', ')}.`);
  return roles as Role[];
}

/** Registers `user` and `token` subcommands. */
export function registerIdentityCommands(program: Command): void {
  const user = program.command('user').description('Manage users (runs on the host as the system; every change is audited).');

  user
    .command('add')
    .description('Create a user. The first administrator is bootstrapped this way.')
    .requiredOption('-u, --username <name>', 'login name (lower-case letters, digits, . _ -)')
    .requiredOption('-r, --role <roles>', `comma-separated roles: ${ROLES.join(', ')}`)
    .option('-n, --display-name <name>', 'name shown in the UI')
    .option('-o, --org <name>', 'organization name (must exist)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--generate-password', 'generate a strong password and print it once')
    .action(async (opts: { username: string; role: string; displayName?: string; org?: string; passwordStdin?: boolean; generatePassword?: boolean }, cmd: Command) => {
      const roles = parseRoles(opts.role);
      let password: string;
      if (opts.generatePassword === true) password = randomBytes(18).toString('base64url');
      else if (opts.passwordStdin === true) password = await readStdin();
      else password = await promptHidden(`Password for ${opts.username}: `);
      await withCore(cmd, async (core) => {
        const ctx = systemContext('cli');
        let orgId: string | null = null;
        if (opts.org !== undefined) {
          const org = await core.identity.findOrgByName(ctx, opts.org);
          if (org === undefined) throw new AppError('NOT_FOUND', `No organization named "${opts.org}"; list them with the API (GET /api/v1/orgs) or create it first.`);
          orgId = org.id;
        }
        const u = await core.identity.createUser(ctx, { username: opts.username, displayName: opts.displayName ?? opts.username, password, roles, orgId });
        process.stdout.write(`created user ${u.username} (${u.roles.join(', ')}) id ${u.id}\n`);
        if (opts.generatePassword === true) process.stdout.write(`password: ${password}\n(shown once; store it safely)\n`);
      });
    });

  withPageOptions(user
    .command('list')
    .description('List users by username, one page at a time.')
    .option('--json', 'print JSON ({ items, nextCursor })'))
    .action(async (opts: { json?: boolean; limit?: string; cursor?: string }, cmd: Command) => {
      const page = pageFromOptions(opts);
      await withCore(cmd, async (core) => {
        const users = await core.identity.pageUsers(systemContext('cli'), page);
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(users, null, 2)}\n`); return; }
        for (const u of users.items) process.stdout.write(`${u.username.padEnd(24)} ${u.roles.join(',').padEnd(24)} ${u.disabled ? 'disabled' : 'active  '} ${u.id}\n`);
        process.stdout.write(pageFooter(users, 'user(s)'));
      });
    });

  user
    .command('disable <username>')
    .description('Disable a user: sessions end and tokens stop working at once.')
    .action(async (username: string, _opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const u = await core.identity.disableUser(systemContext('cli'), username);
        process.stdout.write(`disabled ${u.username}\n`);
      });
    });

  const token = program.command('token').description('Manage API tokens for machines.');
  token
    .command('create')
    .description('Create an API token for a user; the secret is printed once.')
    .requiredOption('-u, --user <username>', 'owner of the token')
    .requiredOption('-n, --name <name>', 'what the token is for')
    .option('-r, --role <roles>', 'narrow the token to these of the owner\'s roles')
    .option('-d, --days <n>', 'days until it expires', '90')
    .action(async (opts: { user: string; name: string; role?: string; days: string }, cmd: Command) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1) throw new AppError('VALIDATION_FAILED', '--days: give a whole number of days, at least 1.');
      await withCore(cmd, async (core) => {
        const r = await core.identity.createToken(systemContext('cli'), { name: opts.name, expiresInDays: days, ...(opts.role !== undefined ? { roles: parseRoles(opts.role) } : {}) }, opts.user);
        process.stdout.write(`token id ${r.meta.id}, roles ${r.meta.roles.join(',')}, expires ${r.meta.expiresAt}\n${r.token}\n`);
      });
    });
  token
    .command('revoke <id>')
    .description('Revoke an API token at once.')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const t = await core.identity.revokeToken(systemContext('cli'), id);
        process.stdout.write(`revoked token ${t.id} (${t.name})\n`);
      });
    });
}
