/**
 * OpenAI. One origin. Check: `GET /v1/models` with the API key as a Bearer token, a free read any
 * valid key may make. `OpenAI-Organization` / `OpenAI-Project` are sent when set, so a key used
 * with the wrong organization or project fails here rather than on the first real call.
 */
import { check } from './http.ts';
import type { ProviderDefinition } from './types.ts';

export const openai: ProviderDefinition = {
  name: 'openai',
  displayName: 'OpenAI',
  category: 'AI',
  capabilities: ['generate_text', 'create_embedding'],
  credentialSchema: [
    {
      key: 'api_key',
      label: 'API key',
      type: 'STRING',
      sensitive: true,
      required: true,
      pattern: /^sk-/,
      patternHint: 'starts with sk-',
      description: 'A project, service-account or user API key (sk-proj-…, sk-svcacct-…, sk-…).',
    },
    {
      key: 'organization_id',
      label: 'Organization ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'Sent as OpenAI-Organization (org-…); only for keys that belong to several organizations.',
    },
    {
      key: 'project_id',
      label: 'Project ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'Sent as OpenAI-Project (proj_…); bills usage to that project for legacy user keys.',
    },
  ],
  verify: (credentials, ctx) => {
    const headers: Record<string, string> = { authorization: `Bearer ${credentials.api_key}` };
    if (credentials.organization_id) headers['openai-organization'] = String(credentials.organization_id);
    if (credentials.project_id) headers['openai-project'] = String(credentials.project_id);
    return check('OpenAI', ctx, { url: `${ctx.origin('https://api.openai.com')}/v1/models`, headers });
  },
};
