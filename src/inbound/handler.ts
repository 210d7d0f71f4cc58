/**
 * `POST /hooks/<provider>/<token>`: a provider's callback for one integration. The token names
 * the integration; the provider's own signature scheme (its file in src/providers/) checks the
 * raw body with the integration's secret. Valid events are stored once each (the provider's
 * event id is unique per integration) and relayed through the outbox as
 * `provider.<name>.<type>`; a provider's retry of an event already stored is acknowledged and
 * not relayed again. A new event about an operation also moves its delivery status
 * (src/operations/tracking.ts). Nothing is stored when any check fails. Credentials that cannot be
 * decrypted are answered 503 (the provider retries later) and relay nothing
 * (src/crypto/unreadable.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { credentialsAad, revealCredentials } from '../crypto/credentials.ts';
import { isDecryptionError } from '../crypto/unreadable.ts';
import { lockForUpdate } from '../db/lock.ts';
import { inRowScope } from '../db/row-security.ts';
import { forTenant } from '../db/tenant.ts';
import type { Integration, Prisma } from '../generated/prisma/client.ts';
import { BodyTooLarge, readBody } from '../http/body.ts';
import { integrationGlobalId } from '../ids.ts';
import { integrationEventData } from '../integrations/present.ts';
import { trackDelivery } from '../operations/tracking.ts';
import { findProvider } from '../providers/catalog.ts';
import type { Credentials, CredentialValue, InboundEvent, ProviderDefinition } from '../providers/types.ts';
import type { Services } from '../services.ts';
import { camelCaseKeys, revocationReason } from './effects.ts';
import { inboundEventProblem } from './limits.ts';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function findIntegration(services: Services, provider: ProviderDefinition, token: string): Promise<Integration | null> {
  // The token is the lookup key: unguessable (192 bits), unique across tenants.
  // Row-level security shows this one row to whoever holds its token.
  const { prisma } = services;
  const row = await inRowScope(prisma, { inboundToken: token }, prisma.integration.findUnique({ where: { inboundToken: token } }));
  return row && !row.deletedAt && row.provider === provider.name ? row : null;
}

/** Stores and relays the events not seen before; returns how many were new. */
async function store(
  services: Services,
  integration: Integration,
  provider: ProviderDefinition,
  events: InboundEvent[],
  camelCase: boolean,
) {
  const db = forTenant(services.prisma, integration.tenantId);
  const actor = { tenantId: integration.tenantId, actorId: `provider:${provider.name}`, appId: integration.appId };
  const outcome = await services.queue.transaction(db, async (tx) => {
    let fresh = 0;
    let statusChanged = false;
    /** Operations whose delivery status a callback changed, announced after the commit. */
    const tracked = new Map<string, { operationId: string; status: string; appId: string | null }>();
    // One stored event per provider event id: callbacks carrying the same one wait here for each
    // other, in one order (a partitioned Event table holds no unique index on the pair)
    await tx.$executeRaw`
      SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended(${integration.id}::text || ':' || id, 0) AS k FROM unnest(${events.map((e) => e.id)}::text[]) AS id ORDER BY k
      ) AS keys`;
    for (const event of events) {
      // every stored event, expired ones included (ctx reads hide those: src/retention/windows.ts),
      // until the purge deletes them
      const seen = await tx.$queryRaw<unknown[]>`
        SELECT 1 FROM "Event" WHERE "sourceIntegrationId" = ${integration.id} AND "providerEventId" = ${event.id} LIMIT 1`;
      if (seen.length) continue;
      fresh++;
      await services.outbox.record(tx, actor, {
        type: `provider.${provider.name}.${event.type}`,
        subjectId: integration.id,
        source: { integrationId: integration.id, providerEventId: event.id },
        data: {
          integrationId: integrationGlobalId(integration.id),
          provider: provider.name,
          providerEventId: event.id,
          providerEventType: event.type,
          payload: (camelCase ? camelCaseKeys(event.payload) : event.payload) as Prisma.InputJsonObject,
        },
      });
      const delivery = provider.deliveryUpdate?.(event);
      const operation = delivery && (await trackDelivery(tx, services.outbox, integration, delivery, provider));
      if (operation) tracked.set(operation.id, { operationId: operation.id, status: operation.status, appId: operation.appId });
      const revoked = revocationReason(provider.name, event.type);
      if (revoked) {
        await lockForUpdate(tx, 'Integration', integration.tenantId, integration.id);
        const current = await tx.integration.findUniqueOrThrow({ where: { id: integration.id } });
        if (current.status !== 'ERROR' || current.lastError !== revoked) {
          const updated = await tx.integration.update({
            where: { id: integration.id },
            data: { status: 'ERROR', lastError: revoked, verifiedRevision: null, version: { increment: 1 }, updatedBy: actor.actorId },
          });
          if (current.status !== 'ERROR') {
            await services.outbox.record(tx, actor, {
              type: 'integration.status_changed',
              subjectId: integration.id,
              data: { ...integrationEventData(updated), previousStatus: current.status },
            });
            statusChanged = true;
          }
        }
      }
    }
    return { fresh, statusChanged, tracked };
  });
  if (outcome.statusChanged) {
    // this process's routes see the revocation at once; others when the database announces it
    services.routes.changed(integration.tenantId);
    services.pubsub.publish('integration:status', integration.tenantId, { integrationId: integration.id });
  }
  for (const update of outcome.tracked.values()) services.pubsub.publish('operation:updated', integration.tenantId, update);
  return outcome.fresh;
}

export async function handleInbound(services: Services, req: IncomingMessage, res: ServerResponse, providerName: string, token: string) {
  const provider = findProvider(providerName);
  if (!provider?.inbound) return send(res, 404, { error: 'unknown webhook endpoint' });
  const handshake = req.method === 'GET' ? provider.inbound.handshake : undefined;
  if (req.method !== 'POST' && !handshake) return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
  let rawBody: Buffer;
  try {
    rawBody = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) return send(res, 413, { error: err.message });
    throw err;
  }
  const integration = await findIntegration(services, provider, token);
  if (!integration) return send(res, 404, { error: 'unknown webhook endpoint' });
  if (integration.status === 'INACTIVE') return send(res, 403, { error: 'the integration is disabled' });

  let credentials: Credentials;
  try {
    credentials = revealCredentials(
      services.keyring,
      { ...integration, config: integration.config as Record<string, CredentialValue> },
      credentialsAad(integration.tenantId, integration.id),
    );
  } catch (err) {
    if (!isDecryptionError(err)) throw err;
    // the signature cannot be checked: nothing is stored or relayed, and the provider retries
    services.decryptionFailed('integration_credentials', err, { integrationId: integration.id, provider: provider.name, work: 'inbound' });
    return send(res, 503, { error: 'this callback cannot be processed right now; retry later' }, { 'retry-after': '60' });
  }
  const inbound = { method: req.method ?? 'POST', url: `${services.publicUrl}${req.url ?? ''}`, headers: lowerCaseHeaders(req), rawBody };
  const result = handshake ? handshake(inbound, credentials) : provider.inbound.verify(inbound, credentials, new Date());
  const log = { integrationId: integration.id, provider: provider.name };
  if (!result.ok) {
    services.logger.warn({ ...log, status: result.status, reason: result.reason }, 'inbound callback refused');
    return send(res, result.status, { error: result.reason });
  }
  const outOfBounds = inboundEventProblem(result.events);
  if (outOfBounds) {
    services.logger.warn({ ...log, status: 400, reason: outOfBounds }, 'inbound callback refused');
    return send(res, 400, { error: outOfBounds });
  }
  const camelCase = credentials.changeKeys === true;
  const fresh = await store(services, integration, provider, result.events, camelCase);
  services.logger.info({ ...log, events: result.events.length, relayed: fresh }, 'inbound callback stored');
  const respond = result.respond;
  return send(res, 200, respond?.body ?? { received: result.events.length, relayed: fresh }, respond?.headers);
}
