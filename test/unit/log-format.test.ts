/**
 * The log format (docs/configuration.md, Logs): pretty for a person at a terminal, JSON lines for
 * anything else, and LOG_FORMAT forcing either way.
 */
import { describe, expect, it } from 'vitest';
import { defaultLogFormat } from '../../src/log.ts';

describe('defaultLogFormat', () => {
  it('without LOG_FORMAT: pretty on a terminal, JSON otherwise', () => {
    expect(defaultLogFormat({}, true)).toBe('pretty');
    expect(defaultLogFormat({}, false)).toBe('json');
    expect(defaultLogFormat({}, undefined)).toBe('json'); // process.stdout.isTTY on a pipe
    expect(defaultLogFormat({ LOG_FORMAT: '' }, true)).toBe('pretty');
  });

  it('LOG_FORMAT overrides the terminal both ways', () => {
    expect(defaultLogFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(defaultLogFormat({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(defaultLogFormat({ LOG_FORMAT: ' JSON ' }, true)).toBe('json');
    expect(defaultLogFormat({ LOG_FORMAT: 'Pretty' }, undefined)).toBe('pretty');
  });
});
