/**
 * Trusted documents (persisted operations): TRUSTED_DOCUMENTS names a JSON manifest mapping each
 * document's id to its text, the `persisted-documents.json` graphql-codegen's client preset
 * writes with `persistedDocuments: true` (`{ "sha256:<hex>": "query … { … }" }`; ids without the
 * `sha256:` prefix, as older versions and other tools write them, work too). Read once at
 * start-up: a missing file, bad JSON, a document that does not parse or a `sha256:` id that is not
 * its document's hash stops the start, naming the problem.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kind, parse } from 'graphql';

const SHA256_PREFIX = 'sha256:';

/**
 * The key a document id is looked up by: a `sha256:<hex>` id (GraphQL over HTTP, codegen's
 * manifests) and the bare `<hex>` (Apollo's `persistedQuery.sha256Hash`) name the same document.
 */
export function documentKey(id: string): string {
  return id.startsWith(SHA256_PREFIX) ? id.slice(SHA256_PREFIX.length).toLowerCase() : id;
}

/** What is wrong with one manifest entry, if anything. */
function entryProblem(id: string, document: unknown): string | undefined {
  if (typeof document !== 'string') return `"${id}": expected the document's text, got ${typeof document}`;
  try {
    const definitions = parse(document).definitions;
    if (definitions.some((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION)) {
      return `"${id}": only operations and fragments may be trusted documents`;
    }
  } catch (err) {
    return `"${id}": ${(err as Error).message}`;
  }
  if (id.startsWith(SHA256_PREFIX)) {
    const hash = createHash('sha256').update(document, 'utf8').digest('hex');
    if (documentKey(id) !== hash) return `"${id}": not the sha256 of its document (that is ${SHA256_PREFIX}${hash})`;
  }
  return undefined;
}

/** The manifest at `file`, keyed by documentKey; throws an Error saying what is wrong with it. */
export function readTrustedDocuments(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new Error(
      `${file}: expected a JSON object mapping each document's hash to its text (graphql-codegen's persisted-documents.json)`,
    );
  }
  const entries = Object.entries(manifest);
  if (entries.length === 0) throw new Error(`${file} holds no documents`);
  const problems = entries.flatMap(([id, document]) => entryProblem(id, document) ?? []);
  if (problems.length) {
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new Error(`${file}: ${problems.slice(0, 5).join('; ')}${more}`);
  }
  return new Map(entries.map(([id, document]) => [documentKey(id), document as string]));
}
