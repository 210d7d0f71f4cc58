/**
 * Payload options for `builder.relayMutationField`: each named output field has a type and is
 * read from what the mutation's resolver returned. One helper instead of one per mutation.
 */
export interface PayloadField<Result> {
  type: unknown;
  description: string;
  resolve: (result: Result) => unknown;
}

export function payload<Result>(description: string, fields: Record<string, PayloadField<Result>>) {
  return {
    description,
    // the field builder's generics cannot follow a record of refs; the refs are checked by the schema build
    // biome-ignore lint/suspicious/noExplicitAny: see above
    outputFields: (t: any) =>
      Object.fromEntries(
        Object.entries(fields).map(([name, f]) => [name, t.field({ type: f.type, description: f.description, resolve: f.resolve })]),
      ),
  };
}
