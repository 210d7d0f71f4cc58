import { providerAllowed } from '../auth/connect-sessions.ts';
import { builder } from '../builder.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { findProvider, PROVIDERS } from '../providers/catalog.ts';
import { logoPath } from '../providers/logos.ts';
import { authenticates, type CredentialField, type ProviderDefinition } from '../providers/types.ts';

/** The most credential fields any provider has: the bound of every list of them. */
export const MAX_CREDENTIAL_FIELDS = Math.max(...PROVIDERS.map((p) => p.credentialSchema.length));

export const ProviderCategoryEnum = builder.enumType('ProviderCategory', {
  description: 'What kind of service a provider is.',
  values: {
    PAYMENT: { description: 'Payments (Stripe).' },
    COMMUNICATION: { description: 'SMS and messaging (Twilio, Plivo, WhatsApp).' },
    EMAIL: { description: 'Email delivery (SendGrid).' },
    E_SIGNATURE: { description: 'Electronic signatures (DocuSign, Clicksign, D4Sign, Certisign, Adobe Sign).' },
    AI: { description: 'AI models (OpenAI).' },
  },
});

const CredentialFieldTypeEnum = builder.enumType('CredentialFieldType', {
  description: 'The type of a credential field’s value.',
  values: {
    STRING: { description: 'Text.' },
    BOOLEAN: { description: 'true or false.' },
    ENUM: { description: 'One of enumValues.' },
    URL: { description: 'An http(s) URL.' },
  },
});

const CredentialFieldRef = builder.objectRef<CredentialField>('CredentialField').implement({
  description: 'One field of a provider’s credential schema.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key in the credentials object.' }),
    label: t.exposeString('label', { description: 'A label for forms.' }),
    type: t.field({ type: CredentialFieldTypeEnum, description: 'The value’s type.', resolve: (f) => f.type }),
    sensitive: t.exposeBoolean('sensitive', {
      description: 'Sensitive values are encrypted at rest and never returned (they read as null).',
    }),
    required: t.exposeBoolean('required', { description: 'Whether configureIntegration needs it.' }),
    enumValues: t.stringList({
      nullable: true,
      description: 'The allowed values of an ENUM field.',
      resolve: (f) => (f.enumValues ? [...f.enumValues] : null),
    }),
    description: t.string({
      nullable: true,
      description: 'What the field is and where to find it.',
      resolve: (f) => f.description ?? null,
    }),
    defaultValue: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The value used when the field is omitted on configure.',
      resolve: (f) => f.defaultValue ?? null,
    }),
    pattern: t.string({
      nullable: true,
      description: 'A regular expression a STRING value must match, where the provider fixes the format.',
      resolve: (f) => f.pattern?.source ?? null,
    }),
    authenticates: t.boolean({
      description:
        'Whether the provider authenticates with it: changing it re-verifies the integration (PENDING_VERIFY, verifiedAt null). Changing only fields that do not (webhook signing secrets, sender settings, changeKeys…) keeps the integration as it is.',
      resolve: (f) => authenticates(f),
    }),
  }),
});

export const ProviderRef = builder.objectRef<ProviderDefinition>('Provider');

builder.node(ProviderRef, {
  description: 'A provider of the catalog, as it stands for the caller’s tenant.',
  id: { resolve: (p) => p.name },
  // a connect session's catalog is its allowed providers (the catalog is no secret: this keeps its pages to them)
  loadOne: (name, ctx) => (providerAllowed(ctx.viewer, name) ? (findProvider(name) ?? null) : null),
  isTypeOf: (value) => PROVIDERS.includes(value as ProviderDefinition),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The fixed identifier, e.g. "stripe".' }),
    slug: t.exposeString('name', { description: 'The same as name: the identifier for URLs and lookups.' }),
    displayName: t.exposeString('displayName', { description: 'The name to show people.' }),
    description: t.exposeString('description', { description: 'One sentence saying what the provider is.' }),
    logoUrl: t.field({
      type: 'URL',
      nullable: true,
      description: 'A square SVG badge (monogram in the provider’s colour) served by this service, below its public URL.',
      resolve: (p, _args, ctx) => `${ctx.services.publicUrl}${logoPath(p.name)}`,
    }),
    docsUrl: t.field({
      type: 'URL',
      nullable: true,
      description: 'The provider’s own documentation on finding the credentials credentialSchema asks for.',
      resolve: (p) => p.docsUrl,
    }),
    category: t.field({ type: ProviderCategoryEnum, description: 'The provider’s category.', resolve: (p) => p.category }),
    capabilities: t.stringList({ description: 'What the provider can do, e.g. send_sms.', resolve: (p) => [...p.capabilities] }),
    credentialSchema: t.field({
      type: [CredentialFieldRef],
      description: 'The credentials configureIntegration takes for this provider.',
      extensions: maxItems(MAX_CREDENTIAL_FIELDS),
      resolve: (p) => [...p.credentialSchema],
    }),
    isConfigured: t.boolean({
      description: 'Whether the tenant has a (not deleted) integration of this provider.',
      authScopes: { $any: { 'integrations:read': true, connect: true } },
      resolve: async (p, _args, ctx) =>
        providerAllowed(ctx.viewer, p.name) && (await ctx.loaders.integrationByProvider.load(p.name)) !== null,
    }),
    // Provider.integration is added by integration.ts, which imports this file
  }),
});

builder.queryFields((t) => ({
  providers: t.field({
    type: [ProviderRef],
    description: 'The provider catalog, optionally filtered (for a connect session: its allowed providers).',
    extensions: maxItems(PROVIDERS.length),
    args: {
      category: t.arg({ type: ProviderCategoryEnum, required: false, description: 'Only providers of this category.' }),
      capability: t.arg.string({ required: false, description: 'Only providers with this capability.' }),
    },
    resolve: (_root, args, ctx) =>
      PROVIDERS.filter(
        (p) =>
          (!args.category || p.category === args.category) &&
          (!args.capability || p.capabilities.includes(args.capability)) &&
          providerAllowed(ctx.viewer, p.name),
      ),
  }),
  provider: t.field({
    type: ProviderRef,
    nullable: true,
    description: 'One provider by name (e.g. "stripe"); null when there is none (or a connect session may not use it).',
    args: { name: t.arg.string({ required: true, description: 'The provider’s name.' }) },
    resolve: (_root, args, ctx) => (providerAllowed(ctx.viewer, args.name) ? (findProvider(args.name) ?? null) : null),
  }),
}));
