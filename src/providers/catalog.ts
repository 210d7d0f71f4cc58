/**
 * The provider catalog: the single list a new provider is registered in.
 */
import { adobeSign } from './adobe-sign.ts';
import { certisign } from './certisign.ts';
import { clicksign } from './clicksign.ts';
import { d4sign } from './d4sign.ts';
import { docusign } from './docusign.ts';
import { openai } from './openai.ts';
import { plivo } from './plivo.ts';
import { sendgrid } from './sendgrid.ts';
import { stripe } from './stripe.ts';
import { twilio } from './twilio.ts';
import type { ProviderDefinition } from './types.ts';
import { whatsappTwilio } from './whatsapp-twilio.ts';

/** In CONTRACT.md's order. */
export const PROVIDERS: readonly ProviderDefinition[] = [
  stripe,
  twilio,
  plivo,
  whatsappTwilio,
  sendgrid,
  openai,
  docusign,
  clicksign,
  d4sign,
  certisign,
  adobeSign,
];

const byName = new Map(PROVIDERS.map((p) => [p.name, p]));

export function findProvider(name: string): ProviderDefinition | undefined {
  return byName.get(name);
}

/** `adobe_sign` → `ADOBE_SIGN_API_BASE_URL`. */
export function baseUrlEnvVar(providerName: string): string {
  return `${providerName.toUpperCase()}_API_BASE_URL`;
}
