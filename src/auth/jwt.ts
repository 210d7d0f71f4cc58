/**
 * Bearer JWT verification (jose). HS256 with AUTH_JWT_SECRET for development and tests;
 * RS256/ES256 from a remote JWKS (AUTH_JWKS_URL) in production. The algorithm allow-list is
 * explicit, so `alg: none` and algorithm confusion are refused; issuer and audience are checked
 * when configured.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface JwtSettings {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export class TokenError extends Error {}

const ASYMMETRIC = ['RS256', 'ES256'];

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

  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: 5,
      });
      return payload;
    } catch (err) {
      throw new TokenError(describe(err));
    }
  };
}

/** A reason safe to send back: it names the check that failed, never the token. */
function describe(err: unknown): string {
  if (err instanceof TokenError) return err.message;
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's "${err.claim}" claim is not accepted`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID') {
    return 'the signing keys could not be fetched';
  }
  return 'the token is malformed or invalid';
}
