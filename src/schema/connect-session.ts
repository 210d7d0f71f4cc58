/**
 * createConnectSession (CONTRACT.md "Web console and connect sessions") and the session a connect
 * token's bearer reads about itself. The token's limits are enforced where integrations are read
 * and changed (integration.ts, integrations/service.ts); policy: docs/console.md.
 */

import { Repeater } from 'graphql-yoga';
import {
  CONNECT_SESSION_DEFAULT_SECONDS,
  CONNECT_SESSION_MAX_SECONDS,
  CONNECT_SESSION_MIN_SECONDS,
  createConnectSession,
  type NewConnectSession,
} from '../auth/connect-sessions.ts';
import type { ConnectGrant } from '../auth/viewer.ts';
import { builder } from '../builder.ts';
import { type FieldError, ValidationError } from '../errors.ts';
import { findProvider, PROVIDERS } from '../providers/catalog.ts';

/** The allowed providers and lifetime asked for, checked; every problem at once. */
function validate(input: { allowedProviders?: string[] | null; expiresInSeconds?: number | null }) {
  const errors: FieldError[] = [];
  const asked = input.allowedProviders ?? PROVIDERS.map((p) => p.name);
  if (!asked.length) errors.push({ path: ['allowedProviders'], message: 'must name at least one provider, or be omitted for all' });
  else if (asked.length > PROVIDERS.length) {
    errors.push({ path: ['allowedProviders'], message: `at most ${PROVIDERS.length} providers (the catalog’s size)` });
  } else {
    asked.forEach((name, i) => {
      if (!findProvider(name)) {
        errors.push({
          path: ['allowedProviders', String(i)],
          message: `unknown provider (known: ${PROVIDERS.map((p) => p.name).join(', ')})`,
        });
      }
    });
  }
  const seconds = input.expiresInSeconds ?? CONNECT_SESSION_DEFAULT_SECONDS;
  if (seconds < CONNECT_SESSION_MIN_SECONDS || seconds > CONNECT_SESSION_MAX_SECONDS) {
    errors.push({
      path: ['expiresInSeconds'],
      message: `must be between ${CONNECT_SESSION_MIN_SECONDS} and ${CONNECT_SESSION_MAX_SECONDS} seconds`,
    });
  }
  if (errors.length) throw new ValidationError(errors);
  return { allowedProviders: [...new Set(asked)], seconds };
}

builder.relayMutationField(
  'createConnectSession',
  {
    description: 'What the connect session may do, and for how long.',
    inputFields: (t) => ({
      allowedProviders: t.stringList({
        required: false,
        description: 'The providers whose integrations the session may configure and read, e.g. ["stripe"]; default: every provider.',
      }),
      expiresInSeconds: t.int({
        required: false,
        description: `How long the token works: default ${CONNECT_SESSION_DEFAULT_SECONDS}, at least ${CONNECT_SESSION_MIN_SECONDS}, at most ${CONNECT_SESSION_MAX_SECONDS}.`,
      }),
    }),
  },
  {
    description:
      'A short-lived token for a tenant’s end user, with the scope connect only: list providers, and configure, re-verify and read the status of the tenant’s integrations of the allowed providers, nothing else. Hand its url to the end user’s browser (or an iframe).',
    authScopes: { 'integrations:write': true },
    errors: { types: [ValidationError] },
    resolve: (_root, { input }, ctx) => {
      const { allowedProviders, seconds } = validate(input);
      return createConnectSession(ctx.services.prisma, ctx.viewer, allowedProviders, seconds);
    },
  },
  {
    description: 'The new session and, this once, its token.',
    outputFields: (t) => ({
      token: t.string({
        description: 'The session token, for Authorization: Bearer. Shown only now; only its hash is kept.',
        resolve: (s: NewConnectSession) => s.token,
      }),
      url: t.field({
        type: 'URL',
        description: 'The connect page with the token: PUBLIC_URL/console/connect?session=<token>.',
        resolve: (s: NewConnectSession, _args, ctx) => `${ctx.services.publicUrl}/console/connect?session=${encodeURIComponent(s.token)}`,
      }),
      expiresAt: t.field({
        type: 'DateTime',
        description: 'When the token stops working.',
        resolve: (s: NewConnectSession) => s.expiresAt,
      }),
      allowedProviders: t.stringList({
        description: 'The providers the session may configure (the input’s, without repeats).',
        resolve: (s: NewConnectSession) => s.allowedProviders,
      }),
    }),
  },
);

const ConnectSessionRef = builder.objectRef<ConnectGrant>('ConnectSession').implement({
  description: 'The connect session the caller authenticated with.',
  fields: (t) => ({
    allowedProviders: t.stringList({
      description: 'The providers whose integrations it may configure and read.',
      resolve: (g) => [...g.allowedProviders].sort(),
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'When its token stops working.', resolve: (g) => g.expiresAt }),
  }),
});

builder.queryField('connectSession', (t) =>
  t.field({
    type: ConnectSessionRef,
    nullable: true,
    description: 'The caller’s connect session; null for any other credential.',
    resolve: (_root, _args, ctx) => ctx.viewer.connect ?? null,
  }),
);

/** The stream, ended when the connect session expires (its token no longer works then). */
export function untilExpiry<T>(source: AsyncIterable<T>, expiresAt: Date): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const timer = setTimeout(stop, Math.max(0, expiresAt.getTime() - Date.now()));
    stop.then(() => {
      clearTimeout(timer);
      void iterator.return?.();
    });
    for (let next = await Promise.race([iterator.next(), stop]); next && !next.done; next = await Promise.race([iterator.next(), stop])) {
      await push(next.value);
    }
    stop();
  });
}
