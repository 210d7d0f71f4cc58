/**
 * `npm run token -- --tenant acme [--sub alice] [--scope "integrations:read integrations:write"] [--app my-app] [--ttl 3600]`
 * prints a development JWT signed with AUTH_JWT_SECRET, or with the secret the embedded
 * default generated in DATA_DIR/jwt-secret. `--help`: its options.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import { claimProblem } from '../auth/claims.ts';
import { type Command, parseCommandLine, usageError } from './cli.ts';

const COMMAND = {
  usage: 'npm run token -- --tenant <tenant_id> [--sub <id>] [--scope "<scopes>"] [--app <app_id>] [--ttl <seconds>]',
  summary:
    'Prints a development JWT for the embedded default (AUTH_JWT_SECRET, or the secret the server generated in DATA_DIR/jwt-secret).',
  options: {
    tenant: { type: 'string', value: '<tenant_id>', description: 'the tenant the token acts for (required)' },
    sub: { type: 'string', value: '<id>', default: 'dev-user', description: 'the subject: who acts' },
    scope: { type: 'string', value: '"<scopes>"', description: 'space-separated scopes, e.g. "integrations:read integrations:write"' },
    app: { type: 'string', value: '<app_id>', description: 'the app_id claim' },
    ttl: { type: 'string', value: '<seconds>', default: '3600', description: 'lifetime in seconds' },
  },
  env: {
    AUTH_JWT_SECRET: 'the HS256 secret the server verifies with',
    DATA_DIR: 'where the embedded default keeps jwt-secret when AUTH_JWT_SECRET is unset (default ./data)',
  },
} as const satisfies Command;

const { values } = parseCommandLine(COMMAND);
if (!values.tenant) usageError(COMMAND, '--tenant is required');
// the server would refuse these: say so now rather than print a token that cannot be used
const ttl = Number(values.ttl);
const problems = [
  claimProblem('tenant_id', values.tenant) && '--tenant: 1 to 128 characters from A-Z a-z 0-9 . _ : @ -',
  claimProblem('sub', values.sub) && '--sub: 1 to 128 characters from A-Z a-z 0-9 . _ : @ - | + = /',
  claimProblem('app_id', values.app) && '--app: 1 to 128 characters from A-Z a-z 0-9 . _ : @ - | + = /',
  !(Number.isInteger(ttl) && ttl > 0) && '--ttl: a positive whole number of seconds (every token expires)',
].filter((problem) => typeof problem === 'string');
if (problems.length) usageError(COMMAND, ...problems);
const secret =
  process.env.AUTH_JWT_SECRET ??
  (await readFile(path.join(path.resolve(process.env.DATA_DIR ?? './data'), 'jwt-secret'), 'utf8').catch(() => {
    console.error('no AUTH_JWT_SECRET and no DATA_DIR/jwt-secret: start the server once (npm start) or set AUTH_JWT_SECRET');
    process.exit(1);
  }));
const claims: Record<string, string> = { tenant_id: values.tenant };
if (values.scope) claims.scope = values.scope;
if (values.app) claims.app_id = values.app;
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`)
  .sign(new TextEncoder().encode(secret.trim()));
console.log(token);
