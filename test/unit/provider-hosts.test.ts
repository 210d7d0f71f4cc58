/**
 * Where DocuSign's and Acrobat Sign's tokens may go: the API hosts their sessions name (userinfo's
 * base_uri, baseUris' apiAccessPoint) and Adobe's configured api_access_point must be https on the
 * provider's own domains. Over HTTP these checks only run without an API_BASE_URL override, which
 * the integration tests always set, so the policy is pinned here.
 */
import { describe, expect, it } from 'vitest';
import { ADOBE_SIGN_DOMAINS, adobeSignHostProblem } from '../../src/providers/adobe-sign.ts';
import { DOCUSIGN_DOMAINS, docusignHostProblem } from '../../src/providers/docusign.ts';

describe('docusign base_uri hosts', () => {
  it.each([
    'https://demo.docusign.net',
    'https://www.docusign.net',
    'https://na3.docusign.net',
    'https://eu.docusign.net/',
    'https://ca.docusign.net',
    'https://account-d.docusign.com',
    'https://docusign.net',
  ])('accepts %s', (url) => {
    expect(docusignHostProblem(url)).toBeNull();
  });

  it.each([
    ['http://demo.docusign.net', 'demo.docusign.net is not served over https'],
    ['http://127.0.0.1:9', '127.0.0.1 is not served over https'],
    ['https://169.254.169.254', '169.254.169.254 is not under docusign.net, docusign.com'],
    ['https://evildocusign.net', 'evildocusign.net is not under'],
    ['https://demo.docusign.net.attacker.example', 'demo.docusign.net.attacker.example is not under'],
    ['https://docusign.com.attacker.example/x?docusign.net', 'docusign.com.attacker.example is not under'],
    ['https://user:pw@demo.docusign.net', 'demo.docusign.net is given with credentials'],
    ['ftp://demo.docusign.net', 'not served over https'],
    ['demo.docusign.net', 'is not a URL'],
  ])('refuses %s, naming the host', (url, reason) => {
    const problem = docusignHostProblem(url);
    expect(problem).toMatch(/^DocuSign userinfo names an account base_uri/);
    expect(problem).toContain(reason);
    expect(problem).not.toContain('pw');
  });

  it('names the domains it allows', () => {
    expect(DOCUSIGN_DOMAINS).toEqual(['docusign.net', 'docusign.com']);
  });
});

describe('acrobat sign access point hosts', () => {
  it.each([
    'https://api.na1.adobesign.com/',
    'https://api.eu1.adobesign.com',
    'https://api.na1.echosign.com/',
    'https://secure.na1.adobesign.us/',
    'https://api.na1.adobesignsandbox.com/',
    'https://api.adobesignsandbox.com',
  ])('accepts %s', (url) => {
    expect(adobeSignHostProblem(url, 'baseUris apiAccessPoint')).toBeNull();
  });

  it.each([
    ['http://api.na1.adobesign.com/', 'api.na1.adobesign.com is not served over https'],
    ['http://127.0.0.1:8080/', '127.0.0.1 is not served over https'],
    ['https://metadata.google.internal/', 'metadata.google.internal is not under'],
    ['https://api.na1.adobesign.com.attacker.example/', 'api.na1.adobesign.com.attacker.example is not under'],
    ['https://api.na1.adobesign.community/', 'api.na1.adobesign.community is not under'],
    ['https://notadobesign.com/', 'notadobesign.com is not under'],
  ])('refuses %s, naming the host', (url, reason) => {
    const problem = adobeSignHostProblem(url, 'api_access_point');
    expect(problem).toMatch(/^Adobe Acrobat Sign api_access_point is not one of Adobe's hosts/);
    expect(problem).toContain(reason);
  });

  it('names the domains it allows', () => {
    expect(ADOBE_SIGN_DOMAINS).toEqual(['adobesign.com', 'echosign.com', 'adobesign.us', 'adobesignsandbox.com']);
  });
});
