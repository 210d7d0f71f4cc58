/**
 * The embedded database's migration child runs with the server's node flags but not a debugger's
 * (src/db/migrate-apart.ts): a second inspector would wait for one or fight for its port.
 */
import { describe, expect, it } from 'vitest';
import { withoutDebugger } from '../../src/db/migrate-apart.ts';

describe('withoutDebugger', () => {
  it('keeps loaders and other flags, drops every inspector flag and the value of a two-part one', () => {
    expect(
      withoutDebugger([
        '--import',
        'tsx',
        '--inspect',
        '--inspect-brk=0',
        '--inspect-port',
        '9230',
        '--debug-port=9231',
        '--enable-source-maps',
        '--inspect-wait',
        '--max-old-space-size=512',
      ]),
    ).toEqual(['--import', 'tsx', '--enable-source-maps', '--max-old-space-size=512']);
  });
});
