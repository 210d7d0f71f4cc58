/**
 * Node ids resolved without a promise (src/schema/node-ids.ts, `resolveNodeIdsAtOnce`): every node
 * type of the schema answers its id at once, and the same id the relay plugin's own resolver gives.
 */
import SchemaBuilder from '@pothos/core';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';
import { implementsNode, resolveNodeIdsAtOnce } from '../../src/schema/node-ids.ts';

const info = {} as GraphQLResolveInfo;
const nodeTypes = Object.values(schema.getTypeMap()).filter(implementsNode);

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
  type Row = { key: string };
  /** A small schema: ids at once, from a promise, behind an auth scope, and one set on the schema after its build. */
  function smallSchema() {
    const builder = new SchemaBuilder<{ AuthScopes: { reader: boolean } }>({
      plugins: [ScopeAuthPlugin, RelayPlugin],
      scopeAuth: { authScopes: () => ({ reader: false }) },
      // the service's builder options (src/builder.ts) make plugin-prisma's required; this builder has none
    } as never);
    const laterCalls: Row[] = [];
    builder.node(builder.objectRef<Row>('AtOnce'), { id: { resolve: (row) => row.key } });
    builder.node(builder.objectRef<Row>('Later'), {
      id: {
        resolve: async (row) => {
          laterCalls.push(row);
          return row.key;
        },
      },
    });
    builder.node(builder.objectRef<Row>('Guarded'), { id: { resolve: (row) => row.key, authScopes: { reader: true } } });
    builder.node(builder.objectRef<Row>('SetAfter'), { id: { resolve: (row) => row.key } });
    builder.queryType({ fields: (t) => ({ ok: t.boolean({ resolve: () => true }) }) });
    const schema = builder.toSchema();
    const setAfter = () => 'set on the schema';
    fieldOf(schema, 'SetAfter').resolve = setAfter;
    return { schema, laterCalls, guarded: fieldOf(schema, 'Guarded').resolve, setAfter };
  }
  function fieldOf(schema: GraphQLSchema, name: string) {
    const type = schema.getType(name);
    if (!isObjectType(type)) throw new Error(name);
    return type.getFields().id!;
  }
  const resolveId = (schema: GraphQLSchema, name: string, row: Row) => fieldOf(schema, name).resolve!(row, {}, {}, info);

  it('changes the types whose id resolver is still the plugin’s own, and leaves a wrapped or replaced one alone', () => {
    const { schema, guarded, setAfter } = smallSchema();
    expect(resolveNodeIdsAtOnce(schema).sort()).toEqual(['AtOnce', 'Later']);
    expect(fieldOf(schema, 'Guarded').resolve).toBe(guarded);
    expect(fieldOf(schema, 'SetAfter').resolve).toBe(setAfter);
  });

  it('encodes a raw id that is there at once, and one that is a promise once it settles, reading it once', async () => {
    const { schema, laterCalls } = smallSchema();
    resolveNodeIdsAtOnce(schema);
    expect(resolveId(schema, 'AtOnce', { key: 'k1' })).toBe(Buffer.from('AtOnce:k1').toString('base64'));
    const later = resolveId(schema, 'Later', { key: 'k2' });
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(Buffer.from('Later:k2').toString('base64'));
    expect(laterCalls).toEqual([{ key: 'k2' }]);
  });

  it('encodes with the encoder it is given, as the plugin does with relay.encodeGlobalID', async () => {
    const { schema } = smallSchema();
    const contexts: unknown[] = [];
    resolveNodeIdsAtOnce(schema, (typename, id, context) => {
      contexts.push(context);
      return `${typename}/${id}`;
    });
    expect(resolveId(schema, 'AtOnce', { key: 'k1' })).toBe('AtOnce/k1');
    expect(await resolveId(schema, 'Later', { key: 'k2' })).toBe('Later/k2');
    expect(contexts).toEqual([{}, {}]);
  });
});
