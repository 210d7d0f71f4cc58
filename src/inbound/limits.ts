/**
 * Bounds on what a verified provider callback may store and relay (a signature proves who sent a
 * body, not that it is sane; Certisign and Adobe Sign sign nothing): a type of 1 to 200 characters
 * of `A-Za-z0-9_.:-` starting with a letter or digit, an id of 1 to 256 characters without control
 * characters or lone surrogates, a payload of at most 256 KiB and 32 levels with no NUL or lone
 * surrogate. A callback with any event outside them is refused whole (400, nothing stored).
 */
import { CONTROL_CHARACTERS, findInputProblem, INPUT_LIMITS } from '../graphql-hardening/input-limits.ts';
import type { InboundEvent } from '../providers/types.ts';

/** The payload's depth is every input's (findInputProblem checks it in the same walk as NUL and surrogates). */
export const INBOUND_LIMITS = { typeLength: 200, idLength: 256, payloadBytes: 256 * 1024, payloadDepth: INPUT_LIMITS.depth } as const;

const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Why the events cannot be stored (the first problem found), or null when they can. */
export function inboundEventProblem(events: readonly InboundEvent[]): string | null {
  for (const [index, event] of events.entries()) {
    const at = events.length === 1 ? 'event' : `event ${index}`;
    if (event.type.length > INBOUND_LIMITS.typeLength) return `${at} type must be at most ${INBOUND_LIMITS.typeLength} characters`;
    if (!EVENT_TYPE.test(event.type)) return `${at} type must be letters, digits and _ . : - (starting with a letter or digit)`;
    if (!event.id || event.id.length > INBOUND_LIMITS.idLength) return `${at} id must be 1 to ${INBOUND_LIMITS.idLength} characters`;
    if (CONTROL_CHARACTERS.test(event.id)) return `${at} id must not contain control characters`;
    if (!event.id.isWellFormed()) return `${at} id must not contain lone UTF-16 surrogates`;
    // one walk: nesting, and what PostgreSQL's jsonb cannot hold (src/graphql-hardening/input-limits.ts)
    const unstorable = findInputProblem(event.payload)?.kind;
    if (unstorable === 'depth') return `${at} payload nests more than ${INBOUND_LIMITS.payloadDepth} levels deep`;
    if (unstorable === 'nul' || unstorable === 'nul-key') return `${at} payload must not contain NUL (U+0000) characters`;
    if (unstorable === 'surrogate' || unstorable === 'surrogate-key') return `${at} payload must not contain lone UTF-16 surrogates`;
    if (Buffer.byteLength(JSON.stringify(event.payload)) > INBOUND_LIMITS.payloadBytes) {
      return `${at} payload must be at most ${INBOUND_LIMITS.payloadBytes / 1024} KiB as JSON`;
    }
  }
  return null;
}
