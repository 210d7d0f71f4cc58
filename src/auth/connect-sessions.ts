/**
 * Connect sessions: short-lived tokens (`icp_cs_` + the API key format) that a tenant hands to its
 * end user's browser. Opaque and stored as a SHA-256, like API keys, so they work the same whatever
 * verifies JWTs and can be revoked. A session carries only the `connect` scope, limited to its
 * allowed providers (docs/console.md "Connect sessions").
 */
import { inRowScope } from '../db/row-security.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { generateSecret, hashApiKey, isWellFormedSecret } from './api-keys.ts';
import { CONNECT_SCOPE } from './scopes.ts';
import type { ConnectGrant, Viewer } from './viewer.ts';

export const CONNECT_TOKEN_PREFIX = 'icp_cs_';
export const CONNECT_SESSION_DEFAULT_SECONDS = 900;
export const CONNECT_SESSION_MIN_SECONDS = 60;
export const CONNECT_SESSION_MAX_SECONDS = 3600;

export function isConnectToken(token: string): boolean {
  return token.startsWith(CONNECT_TOKEN_PREFIX);
}

export interface NewConnectSession {
  id: string;
  token: string;
  expiresAt: Date;
  allowedProviders: string[];
}

/** Stores a session for the creator's tenant (and application) and answers its token, once. */
export async function createConnectSession(
  prisma: PrismaClient,
  creator: Pick<Viewer, 'tenantId' | 'appId' | 'actorId'>,
  allowedProviders: string[],
  expiresInSeconds: number,
): Promise<NewConnectSession> {
  const token = generateSecret(CONNECT_TOKEN_PREFIX);
  const expiresAt = new Date(Date.now() + expiresInSeconds * 1000);
  const row = await inRowScope(
    prisma,
    { tenantId: creator.tenantId },
    prisma.connectSession.create({
      data: {
        tenantId: creator.tenantId,
        appId: creator.appId,
        tokenHash: hashApiKey(token),
        allowedProviders,
        expiresAt,
        createdBy: creator.actorId,
      },
    }),
  );
  return { id: row.id, token, expiresAt: row.expiresAt, allowedProviders: row.allowedProviders };
}

/** Why a connect token does not authenticate; undefined when it does. */
export type ConnectRefusal = 'malformed' | 'unknown' | 'expired';

/** The viewer of a connect token, or why there is none. One unique-index probe. */
export async function connectViewer(prisma: PrismaClient, token: string): Promise<Viewer | ConnectRefusal> {
  if (!isWellFormedSecret(token, CONNECT_TOKEN_PREFIX)) return 'malformed';
  // like an API key, the session is found by its hash before its tenant is known
  // (row-level security: the `authentication` policy of the connect_sessions migration)
  const tokenHash = hashApiKey(token);
  const row = await inRowScope(prisma, { apiKeyHash: tokenHash }, prisma.connectSession.findUnique({ where: { tokenHash } }));
  if (!row || row.revokedAt) return 'unknown';
  if (row.expiresAt.getTime() <= Date.now()) return 'expired';
  const connect: ConnectGrant = {
    sessionId: row.id,
    allowedProviders: new Set(row.allowedProviders),
    expiresAt: row.expiresAt,
  };
  return {
    tenantId: row.tenantId,
    actorId: `connect:${row.id}`,
    appId: row.appId,
    scopes: new Set([CONNECT_SCOPE]),
    via: 'connect_session',
    connect,
  };
}

/**
 * Whether the viewer may see and change integrations of `provider`: always, unless it is a
 * connect session, which may only for its allowed providers.
 */
export function providerAllowed(viewer: Viewer, provider: string): boolean {
  return !viewer.connect || viewer.connect.allowedProviders.has(provider);
}

/** A Prisma filter on Integration.provider for the viewer: empty unless it is a connect session. */
export function allowedProvidersWhere(viewer: Viewer): { provider?: { in: string[] } } {
  return viewer.connect ? { provider: { in: [...viewer.connect.allowedProviders] } } : {};
}
