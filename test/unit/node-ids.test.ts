/**
 * Node ids resolved without a promise (src/schema/node-ids.ts, `resolveNodeIdsAtOnce`): every node
 * type of the schema answers its id at once, and the same id the relay plugin's own resolver gives.
 */
import SchemaBuilder from '@pothos/core';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { type GraphQLFieldResolver, type GraphQLResolveInfo, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';
import { resolveNodeIdsAtOnce } from '../../src/schema/node-ids.ts';

const info = {} as GraphQLResolveInfo;
const nodeTypes = Object.values(schema.getTypeMap()).filter(
  (type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node'),
);

describe('the service schema', () => {
  it('has node types (else the checks below check nothing)', () => {
    expect(nodeTypes.map((t) => t.name)).toEqual(
      expect.arrayContaining(['Integration', 'Webhook', 'WebhookDelivery', 'Event', 'Provider']),
    );
  });

  it.each(nodeTypes.map((t) => [t.name, t] as const))('%s.id answers at once, the id the relay plugin gives', async (_name, type) => {
    if (!isObjectType(type)) throw new Error('not an object type');
    const field = type.getFields().id!;
    const plugins = field.extensions.pothosOriginalResolve as GraphQLFieldResolver<unknown, unknown>;
    expect(field.resolve).not.toBe(plugins);
    for (const parent of [
      { id: 'cm0abc123', name: 'twilio' },
      { id: 'd3b07384-d9a0-4c9f-8f1e-9c7c6d1b2a10', name: 'docusign' },
    ]) {
      const now = field.resolve!(parent, {}, {}, info);
      expect(typeof now).toBe('string');
      expect(now).toBe(await plugins(parent, {}, {}, info));
      expect(decodeGlobalID(now as string).typename).toBe(type.name);
    }
  });
});

describe('resolveNodeIdsAtOnce', () => {
  const builder = new SchemaBuilder<{ AuthScopes: { reader: boolean } }>({
    plugins: [ScopeAuthPlugin, RelayPlugin],
    scopeAuth: { authScopes: () => ({ reader: false }) },
    // the service's builder options (src/builder.ts) make plugin-prisma's required; this builder has none
  } as never);
  type Row = { key: string };
  builder.node(builder.objectRef<Row>('AtOnce'), { id: { resolve: (row) => row.key } });
  builder.node(builder.objectRef<Row>('Later'), { id: { resolve: async (row) => row.key } });
  builder.node(builder.objectRef<Row>('Guarded'), { id: { resolve: (row) => row.key, authScopes: { reader: true } } });
  builder.queryType({ fields: (t) => ({ ok: t.boolean({ resolve: () => true }) }) });
  const small = builder.toSchema();
  const resolverOf = (name: string) => {
    const type = small.getType(name);
    if (!isObjectType(type)) throw new Error(name);
    return { field: type.getFields().id!, before: type.getFields().id!.resolve! };
  };
  const guarded = resolverOf('Guarded');
  const changed = resolveNodeIdsAtOnce(small);

  it('changes the types whose id field nothing wraps, and leaves a wrapped one alone', () => {
    expect(changed.sort()).toEqual(['AtOnce', 'Later']);
    expect(guarded.field.resolve).toBe(guarded.before);
  });

  it('encodes a raw id that is there at once, and leaves one that is a promise to the plugin', async () => {
    const atOnce = resolverOf('AtOnce').field.resolve!({ key: 'k1' }, {}, {}, info);
    expect(atOnce).toBe(Buffer.from('AtOnce:k1').toString('base64'));
    const later = resolverOf('Later').field.resolve!({ key: 'k2' }, {}, {}, info);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(Buffer.from('Later:k2').toString('base64'));
  });
});
