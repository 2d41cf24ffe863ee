import { describe, expect, it } from 'vitest';
import {
  buildDurationMs, commitTitle, formatBytes, formatDuration, formatPercent, formatRelative,
  imageTag, pullCommand, shortDigest, shortSha,
} from './format';

describe('format', () => {
  it('formats durations from milliseconds to hours', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(340)).toBe('340 ms');
    expect(formatDuration(4_250)).toBe('4.3 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_725_000)).toBe('1 h 2 min');
  });

  it('measures a running build up to now and a finished one from the API', () => {
    expect(buildDurationMs({ duration_ms: 5 })).toBe(5);
    expect(
      buildDurationMs({ requested_at: '2026-01-01T00:00:00.000Z', finished_at: null, duration_ms: null },
        Date.parse('2026-01-01T00:01:00Z')),
    ).toBe(60_000);
  });

  it('formats percentages, bytes, shas and digests', () => {
    expect(formatPercent(0.8333)).toBe('83%');
    expect(formatPercent(null)).toBe('–');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(shortSha('0123456789abcdef')).toBe('0123456');
    expect(shortDigest('sha256:0123456789abcdef0123')).toBe('sha256:0123456789ab');
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(formatRelative('2026-03-01T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2026-03-01T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelative('2026-03-01T15:00:00Z', now)).toBe('in 3 h');
    expect(formatRelative('2026-01-01T00:00:00Z', now)).toBe('2026-01-01');
  });

  it('shows the first line of a commit message', () => {
    expect(commitTitle('fix: x\n\nlong body')).toBe('fix: x');
    expect(commitTitle('a'.repeat(100), 10)).toBe('aaaaaaaaa…');
  });

  it('finds the tag of an image URL, even with a registry port', () => {
    expect(imageTag('127.0.0.1:5000/kiln/demo:sha-abc1234')).toBe('sha-abc1234');
    expect(imageTag('127.0.0.1:5000/kiln/demo')).toBe('latest');
    expect(imageTag(null)).toBe('–');
  });

  it('builds a docker pull by digest', () => {
    expect(pullCommand('127.0.0.1:5000/kiln/demo:main', 'sha256:ab')).toBe(
      'docker pull 127.0.0.1:5000/kiln/demo@sha256:ab',
    );
    expect(pullCommand('r:5000/x@sha256:00', 'sha256:ab')).toBe('docker pull r:5000/x@sha256:ab');
  });
});
