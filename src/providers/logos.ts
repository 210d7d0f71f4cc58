/**
 * Provider logos the service draws itself: a rounded square in the provider's colour with its
 * monogram (ProviderDefinition.badge), served at /assets/providers/<name>.svg. No provider artwork
 * is copied and no image is fetched from elsewhere, so a console behind a firewall shows them too.
 * docs/using-the-api.md ("Provider catalog").
 */
import { createHash } from 'node:crypto';
import type { ProviderBadge } from './types.ts';

/** Where a provider's logo is served, below PUBLIC_URL. */
export const LOGO_PATH = /^\/assets\/providers\/([a-z0-9_]{1,40})\.svg$/;

export function logoPath(providerName: string): string {
  return `/assets/providers/${providerName}.svg`;
}

/** White or near-black text, whichever reads better on `color` (WCAG relative luminance). */
function textColour(color: string): string {
  const channel = (hex: string) => {
    const c = Number.parseInt(hex, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = [color.slice(1, 3), color.slice(3, 5), color.slice(5, 7)].map(channel) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.35 ? '#111111' : '#FFFFFF';
}

/** The badge as a standalone SVG document (64×64, no script, no external reference). */
export function renderLogo(badge: ProviderBadge): string {
  if (!/^#[0-9A-Fa-f]{6}$/.test(badge.color)) throw new Error(`badge colour must be #rrggbb: ${badge.color}`);
  if (!/^[A-Z0-9]{1,3}$/.test(badge.monogram)) throw new Error(`badge monogram must be 1-3 capitals or digits: ${badge.monogram}`);
  const size = badge.monogram.length === 1 ? 34 : badge.monogram.length === 2 ? 26 : 20;
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img">',
    `<rect width="64" height="64" rx="14" fill="${badge.color}"/>`,
    `<text x="32" y="33" text-anchor="middle" dominant-baseline="central" fill="${textColour(badge.color)}"`,
    ` font-family="Helvetica, Arial, sans-serif" font-size="${size}" font-weight="700">${badge.monogram}</text>`,
    '</svg>\n',
  ].join('');
}

/** A rendered logo with the validator its responses carry. */
export interface RenderedLogo {
  body: Buffer;
  etag: string;
}

export function renderedLogo(badge: ProviderBadge): RenderedLogo {
  const body = Buffer.from(renderLogo(badge), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}
