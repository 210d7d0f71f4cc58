/**
 * Every GraphQL operation the project documents, as a client would send it: each operation of the
 * ```graphql blocks of README.md and docs/*.md (labelled by file) and of the example client's
 * operations.graphql on its own (with the fragments it uses), the example's persisted documents,
 * and GraphiQL's default document and introspection query whole (GraphiQL sends the whole
 * editor). And what each measures against the document limits, by the same rules the server runs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  type DefinitionNode,
  type DocumentNode,
  type GraphQLSchema,
  getIntrospectionQuery,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
  visit,
} from 'graphql';
import { GRAPHIQL_DEFAULT_QUERY } from '../../src/graphql/graphiql.ts';
import { costOf } from '../../src/graphql-hardening/cost.ts';
import { MAX_PAGE_SIZE } from '../../src/schema/paging.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(ROOT, 'src/examples');

export interface DocumentedOperation {
  /** Where it is documented, e.g. `README.md block 1: mutation #1`, `docs/using-the-api.md block 2: mutation #1`. */
  where: string;
  /** The text a client sends. */
  source: string;
}

function filesUnder(dir: string, suffix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return filesUnder(file, suffix);
    return file.endsWith(suffix) ? [file] : [];
  });
}

function fragmentsUsed(definition: DefinitionNode, fragments: Map<string, DefinitionNode>, seen = new Set<string>()): Set<string> {
  visit(definition, {
    FragmentSpread(node) {
      const name = node.name.value;
      if (seen.has(name)) return;
      seen.add(name);
      const fragment = fragments.get(name);
      if (fragment) fragmentsUsed(fragment, fragments, seen);
    },
  });
  return seen;
}

/** Each operation of `source` on its own, with the text of the fragments it uses. */
export function splitOperations(source: string, where: string): DocumentedOperation[] {
  const document = parse(source);
  const text = (d: DefinitionNode) => source.slice(d.loc!.start, d.loc!.end);
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operations.map((operation, i) => ({
    where: `${where}: ${operation.operation} ${operation.name?.value ?? `#${i + 1}`}`,
    source: [text(operation), ...[...fragmentsUsed(operation, fragments)].map((name) => text(fragments.get(name)!))].join('\n\n'),
  }));
}

/** The ```graphql blocks of a Markdown file. */
export function graphqlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```graphql\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

/** GraphiQL's schema query, with every option GraphiQL may turn on (the largest variant). */
export const GRAPHIQL_INTROSPECTION_QUERY = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

/** The Markdown documentation: README.md, then every docs/*.md (paths relative to the root). */
export function markdownFiles(): string[] {
  return [
    'README.md',
    ...filesUnder(path.join(ROOT, 'docs'), '.md')
      .map((file) => path.relative(ROOT, file))
      .sort(),
  ];
}

export function documentedOperations(): DocumentedOperation[] {
  return [
    ...markdownFiles().flatMap((file) =>
      graphqlBlocks(readFileSync(path.join(ROOT, file), 'utf8')).flatMap((block, i) => splitOperations(block, `${file} block ${i + 1}`)),
    ),
    { where: 'GraphiQL default document', source: GRAPHIQL_DEFAULT_QUERY },
    { where: 'GraphiQL introspection query', source: GRAPHIQL_INTROSPECTION_QUERY },
    ...filesUnder(EXAMPLES, '.graphql').flatMap((file) => splitOperations(readFileSync(file, 'utf8'), path.relative(ROOT, file))),
    ...filesUnder(EXAMPLES, 'persisted-documents.json').flatMap((file) =>
      Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>).map(([hash, source]) => ({
        where: `${path.relative(ROOT, file)} ${hash}`,
        source,
      })),
    ),
  ];
}

export interface Measures {
  tokens: number;
  depth: number;
  aliases: number;
  cost: number;
}

/** Values for an operation's variables that make its cost the largest: every Int a full page. */
function largestPages(operation: OperationDefinitionNode): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    let type = definition.type;
    while (type.kind !== Kind.NAMED_TYPE) type = type.type;
    if (type.name.value === 'Int') variables[definition.variable.name.value] = MAX_PAGE_SIZE;
  }
  return variables;
}

/**
 * What a document measures, by the rules the server applies: its tokens (whole document, as
 * the parser counts them), and the largest depth, alias count and cost of its operations (each
 * operation is checked), the cost with every Int variable at the largest page size.
 */
export function measure(schema: GraphQLSchema, source: string): Measures {
  const parser = new MaxTokensParserWLexer(source, { n: Number.MAX_SAFE_INTEGER });
  const document: DocumentNode = parser.parseDocument();
  const measures: Measures = { tokens: parser.tokenCount, depth: 0, aliases: 0, cost: 0 };
  const keep = (key: 'depth' | 'aliases') => (_: unknown, details: { n: number }) => (measures[key] = Math.max(measures[key], details.n));
  validate(schema, document, [
    maxDepthRule({ n: Number.MAX_SAFE_INTEGER, ignoreIntrospection: true, onAccept: [keep('depth')] }),
    maxAliasesRule({ n: Number.MAX_SAFE_INTEGER, onAccept: [keep('aliases')] }),
  ]);
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION) continue;
    measures.cost = Math.max(measures.cost, costOf(schema, document, operation, largestPages(operation)));
  }
  return measures;
}
