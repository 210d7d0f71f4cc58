/**
 * API keys: machine credentials minted by a tenant admin. The secret is returned once; only
 * its hash is kept. A key can hold at most the scopes of the credential that created it.
 */
import { generateApiKey } from '../auth/api-keys.ts';
import { isScope, SCOPES, type Scope } from '../auth/scopes.ts';
import { tenantTransaction } from '../db/tenant.ts';
import { assertUnderCap } from '../db/tenant-caps.ts';
import { type FieldError, NotFoundError, ValidationError } from '../errors.ts';
import type { ApiKey } from '../generated/prisma/client.ts';
import { apiKeyGlobalId } from '../ids.ts';
import type { RequestScope } from '../services.ts';

/** Reads of API keys by an application credential see only that application's keys. */
export function apiKeyVisibility(scope: Pick<RequestScope, 'viewer'>) {
  return scope.viewer.appId ? { appId: scope.viewer.appId } : {};
}

export async function createApiKey(
  scope: RequestScope,
  input: { name: string; scopes?: string[] | null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const { viewer } = scope;
  const errors: FieldError[] = [];
  const name = input.name.trim();
  if (!name || name.length > 100) errors.push({ path: ['name'], message: 'must be 1 to 100 characters' });
  const requested = input.scopes ?? [...viewer.scopes];
  const scopes: Scope[] = [];
  requested.forEach((s, i) => {
    if (!isScope(s)) errors.push({ path: ['scopes', String(i)], message: `unknown scope (known: ${SCOPES.join(', ')})` });
    else if (!viewer.scopes.has(s))
      errors.push({ path: ['scopes', String(i)], message: `cannot grant "${s}": the caller does not have it` });
    else scopes.push(s);
  });
  if (!requested.length) errors.push({ path: ['scopes'], message: 'must name at least one scope' });
  if (errors.length) throw new ValidationError(errors);

  const key = generateApiKey();
  const apiKey = await tenantTransaction(scope.db, async (tx) => {
    await assertUnderCap(tx, viewer.tenantId, 'apiKeys', () => tx.apiKey.count({ where: { revokedAt: null } }));
    return tx.apiKey.create({
      data: {
        tenantId: viewer.tenantId,
        appId: viewer.appId,
        name,
        prefix: key.prefix,
        secretHash: key.secretHash,
        scopes: [...new Set(scopes)],
        createdBy: viewer.actorId,
        updatedBy: viewer.actorId,
      },
    });
  });
  return { apiKey, secret: key.secret };
}

/** Revocation is immediate: authentication checks revokedAt on every request. */
export async function revokeApiKey(scope: RequestScope, id: string): Promise<ApiKey> {
  const { viewer } = scope;
  const key = await scope.db.apiKey.findFirst({ where: { id, ...apiKeyVisibility(scope) } });
  if (!key) throw new NotFoundError('ApiKey', apiKeyGlobalId(id));
  if (key.revokedAt) return key;
  return scope.db.apiKey.update({
    where: { id },
    data: { revokedAt: new Date(), revokedBy: viewer.actorId, updatedBy: viewer.actorId, version: { increment: 1 } },
  });
}
