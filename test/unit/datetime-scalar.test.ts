/**
 * The DateTime scalar writes its ISO text itself (src/builder.ts): the same text JSON.stringify
 * gave graphql-scalars' Date through toJSON, and a typed error for what is no instant.
 */
import { GraphQLError, type GraphQLScalarType } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';

const dateTime = schema.getType('DateTime') as GraphQLScalarType;

it('serializes a Date, an instant text and a timestamp to the text a Date gives JSON', () => {
  const at = new Date('2026-12-04T19:00:00.123Z');
  expect(dateTime.serialize(at)).toBe(JSON.parse(JSON.stringify(at)));
  expect(dateTime.serialize('2026-12-04T21:00:00.123+02:00')).toBe('2026-12-04T19:00:00.123Z');
  expect(dateTime.serialize(at.getTime())).toBe('2026-12-04T19:00:00.123Z');
});

it('refuses an invalid Date, text or timestamp with a GraphQL error', () => {
  for (const value of [new Date(Number.NaN), 'yesterday', Number.NaN, { at: 1 }]) {
    expect(() => dateTime.serialize(value)).toThrow(GraphQLError);
  }
});
