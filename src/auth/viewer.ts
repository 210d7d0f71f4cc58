/**
 * The authenticated caller. The only code that reads auth headers: everything downstream
 * takes the tenant, the actor and the scopes from here.
 */
import { inRowScope } from '../db/row-security.ts';
import { forTenant } from '../db/tenant.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { hashApiKey, isWellFormedApiKey } from './api-keys.ts';
import { claimProblem } from './claims.ts';
import { connectViewer, isConnectToken } from './connect-sessions.ts';
import { type JwtVerifier, TokenError } from './jwt.ts';
import { effectiveScopes, isScope, parseScopeClaim, type Scope } from './scopes.ts';

export interface Viewer {
  tenantId: string;
  /** Stamped into createdBy/updatedBy: the JWT `sub`, or `apikey:<id>`. */
  actorId: string | null;
  /** Set for application credentials; limits reads of webhooks and API keys to that app. */
  appId: string | null;
  scopes: ReadonlySet<Scope>;
  via: 'jwt' | 'api_key' | 'connect_session';
  apiKeyId?: string;
  /** Set for a connect session (connect-sessions.ts): what limits it beyond its `connect` scope. */
  connect?: ConnectGrant;
}

export interface ConnectGrant {
  sessionId: string;
  /** Integrations of other providers behave as missing; configuring one is refused. */
  allowedProviders: ReadonlySet<string>;
  expiresAt: Date;
}

export class AuthenticationError extends Error {}

const LAST_USED_RESOLUTION_MS = 60_000;

/** Longer than any key createApiKey mints: refused before any work on it. */
const MAX_API_KEY_HEADER_LENGTH = 256;

export interface AuthenticatorDeps {
  verifyJwt?: JwtVerifier;
  prisma: PrismaClient;
  logger: Logger;
}

export type Authenticator = (headers: Headers) => Promise<Viewer>;

export function createAuthenticator({ verifyJwt, prisma, logger }: AuthenticatorDeps): Authenticator {
  /** The viewer of each claims object the verifier remembers (it hands out the same object again). */
  const jwtViewers = new WeakMap<object, Viewer>();

  async function fromJwt(token: string): Promise<Viewer> {
    if (!verifyJwt) throw new AuthenticationError('bearer tokens are not configured on this server');
    let claims;
    try {
      claims = await verifyJwt(token);
    } catch (err) {
      throw new AuthenticationError(err instanceof TokenError ? err.message : 'the token is invalid');
    }
    let viewer = jwtViewers.get(claims);
    if (!viewer) jwtViewers.set(claims, (viewer = Object.freeze(viewerOfClaims(claims))));
    return viewer;
  }

  function viewerOfClaims(claims: Awaited<ReturnType<JwtVerifier>>): Viewer {
    for (const claim of ['tenant_id', 'sub', 'app_id'] as const) {
      const problem = claimProblem(claim, claims[claim]);
      if (problem) throw new AuthenticationError(problem);
    }
    return {
      tenantId: claims.tenant_id as string,
      actorId: (claims.sub as string | undefined) ?? null,
      appId: (claims.app_id as string | undefined) ?? null,
      scopes: parseScopeClaim(claims.scope),
      via: 'jwt',
    };
  }

  async function fromApiKey(secret: string): Promise<Viewer> {
    if (!isWellFormedApiKey(secret)) throw new AuthenticationError('the API key is malformed');
    // Authentication is the one lookup that is not tenant-scoped: the key names its tenant.
    // Row-level security shows the row to whoever presents the key's hash, and nothing else.
    const apiKeyHash = hashApiKey(secret);
    const key = await inRowScope(prisma, { apiKeyHash }, prisma.apiKey.findUnique({ where: { secretHash: apiKeyHash } }));
    if (!key || key.revokedAt || key.deletedAt) throw new AuthenticationError('the API key is unknown or revoked');
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      forTenant(prisma, key.tenantId)
        .apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } })
        .catch((err: unknown) => logger.warn({ err, apiKeyId: key.id }, 'could not record API key use'));
    }
    return {
      tenantId: key.tenantId,
      actorId: `apikey:${key.id}`,
      appId: key.appId,
      scopes: effectiveScopes(key.scopes.filter(isScope)),
      via: 'api_key',
      apiKeyId: key.id,
    };
  }

  async function fromConnectToken(token: string): Promise<Viewer> {
    const viewer = await connectViewer(prisma, token);
    if (typeof viewer === 'string') {
      throw new AuthenticationError(
        viewer === 'expired'
          ? 'the connect session has expired'
          : viewer === 'malformed'
            ? 'the connect token is malformed'
            : 'the connect session is unknown or revoked',
      );
    }
    return viewer;
  }

  return async (headers) => {
    const authorization = headers.get('authorization');
    const apiKey = headers.get('x-api-key');
    if (authorization && apiKey) throw new AuthenticationError('send either Authorization or x-api-key, not both');
    if (apiKey) {
      if (apiKey.length > MAX_API_KEY_HEADER_LENGTH) throw new AuthenticationError('the API key is malformed');
      return fromApiKey(apiKey.trim());
    }
    if (!authorization) throw new AuthenticationError('credentials required: Authorization: Bearer <JWT> or x-api-key');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new AuthenticationError('the Authorization header must be "Bearer <JWT>"');
    return isConnectToken(match[1]) ? fromConnectToken(match[1]) : fromJwt(match[1]);
  };
}
