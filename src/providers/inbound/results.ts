/**
 * How an inbound check answers, in one place so every provider says it the same way.
 *
 * Policy (CONTRACT.md, `POST /hooks/<provider>/<token>`): anything that fails authentication
 * (no signature, a wrong one, one made with another secret, a stale timestamp, or no secret
 * configured to check it with) is 401; a body the provider would not send is 400. Reasons name
 * the header or field at fault and never echo a secret or a signature.
 */
import type { Credentials, InboundEvent, InboundResult } from '../types.ts';

export type InboundFailure = Extract<InboundResult, { ok: false }>;

export const unauthorized = (reason: string): InboundFailure => ({ ok: false, status: 401, reason });

export const badRequest = (reason: string): InboundFailure => ({ ok: false, status: 400, reason });

/** The integration lacks the secret the scheme needs: nothing can be verified, so 401. */
export const missingSecret = (field: string): InboundFailure => unauthorized(`no ${field} configured for this integration`);

type Respond = Extract<InboundResult, { ok: true }>['respond'];

export const accepted = (events: InboundEvent[], respond?: Respond): InboundResult =>
  respond ? { ok: true, events, respond } : { ok: true, events };

/** A credential as a non-empty string; an empty value counts as not configured. */
export function secretOf(credentials: Credentials, field: string): string | undefined {
  const value = credentials[field];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
