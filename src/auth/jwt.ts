/**
 * Bearer JWT verification (jose): HS256 with AUTH_JWT_SECRET, or RS256/ES256 from AUTH_JWKS_URL,
 * with an explicit algorithm list (no `alg: none`, no algorithm confusion), issuer and audience when
 * configured, `exp` required, and no `iat` or `nbf` later than now beyond CLOCK_TOLERANCE_SECONDS.
 * A verified token is remembered by its whole text until `exp` or for 60 s, whichever is first
 * (checking a signature is the largest cost of a small request); a refused one is not.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';

export interface JwtSettings {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export class TokenError extends Error {}

const ASYMMETRIC = ['RS256', 'ES256'];
export const CLOCK_TOLERANCE_SECONDS = 5;
const REMEMBER_MS = 60_000;

export type JwtVerifier = (token: string) => Promise<JWTPayload>;

export function createJwtVerifier(settings: JwtSettings): JwtVerifier {
  // imported once: given raw bytes, jose would import the HMAC key again on every request
  const secret = settings.secret
    ? crypto.subtle.importKey('raw', new TextEncoder().encode(settings.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : undefined;
  const jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000 }) : undefined;
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];
  const getKey: JWTVerifyGetKey = (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (jwks && ASYMMETRIC.includes(header.alg)) return jwks(header, token);
    throw new TokenError(`tokens signed with ${header.alg ?? 'no algorithm'} are not accepted`);
  };

  const verified = new LRUCache<string, Readonly<JWTPayload>>({ max: 10_000, ttl: REMEMBER_MS });
  return async (token) => {
    const known = verified.get(token);
    if (known) return known;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new TokenError(describe(err));
    }
    // jose checks `iat` only against a maximum age; a token from the future is refused here
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new TokenError('the token\'s "iat" claim is in the future');
    }
    const untilExpiry = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_SECONDS) * 1000 - Date.now() : REMEMBER_MS;
    if (untilExpiry > 0) verified.set(token, Object.freeze(payload), { ttl: Math.min(REMEMBER_MS, untilExpiry) });
    return payload;
  };
}

/** A reason safe to send back: it names the check that failed, never the token. */
function describe(err: unknown): string {
  if (err instanceof TokenError) return err.message;
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the token has no "${err.claim}" claim`;
    if (err.claim === 'nbf') return 'the token\'s "nbf" claim is in the future';
    return `the token's "${err.claim}" claim is not accepted`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (err instanceof errors.JWKSTimeout || (err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID')) {
    return 'the signing keys could not be fetched';
  }
  return 'the token is malformed or invalid';
}
