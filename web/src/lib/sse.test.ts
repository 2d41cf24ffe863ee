import { describe, expect, it } from 'vitest';
import { ResumableStream, SseParser, type SseEvent } from './sse';

describe('SseParser', () => {
  it('parses frames split at any byte', () => {
    const text =
      'id: 3:0\nevent: status\ndata: {"a":1}\n\n: keep-alive\n\nid: 3:1\nevent: log\ndata: x\ndata: y\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const events = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(events).toEqual([
        { id: '3:0', event: 'status', data: '{"a":1}' },
        { id: '3:1', event: 'log', data: 'x\ny' },
      ]);
    }
  });

  it('accepts CRLF and CR line ends, even a CRLF split across chunks', () => {
    const p = new SseParser();
    const events = [...p.feed('data: a\r'), ...p.feed('\n\r\n'), ...p.feed('data: b\r\r')];
    expect(events).toEqual([
      { id: undefined, event: 'message', data: 'a' },
      { id: undefined, event: 'message', data: 'b' },
    ]);
  });

  it('ignores frames without data and unknown fields', () => {
    const p = new SseParser();
    expect(p.feed('event: x\n\nretry: 10\nfoo: bar\n\n')).toEqual([]);
  });
});

// A server that answers each connection with the next scripted body; a body that ends without
// the done event is a dropped connection.
function scriptedFetch(bodies: (string | number)[]) {
  const seen: (string | undefined)[] = [];
  const impl = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = init?.headers as Record<string, string>;
    seen.push(headers['Last-Event-ID']);
    expect(headers.Authorization).toBe('Bearer t');
    const next = bodies.shift();
    if (next === undefined) throw new TypeError('connection refused');
    if (typeof next === 'number') {
      return new Response(JSON.stringify({ error: { code: 'x', message: `status ${next}` } }), {
        status: next,
      });
    }
    const bytes = new TextEncoder().encode(next);
    return new Response(
      new ReadableStream({
        start(c) {
          // Deliver in two pieces, splitting a frame, as a network would.
          c.enqueue(bytes.slice(0, Math.floor(bytes.length / 2)));
          c.enqueue(bytes.slice(Math.floor(bytes.length / 2)));
          c.close();
        },
      }),
      { status: 200, headers: { 'Content-Type': 'text/event-stream' } },
    );
  };
  return { impl: impl as typeof fetch, seen };
}

const noSleep = async () => undefined;

describe('ResumableStream', () => {
  it('resumes with the last id received after a dropped connection', async () => {
    const { impl, seen } = scriptedFetch([
      'id: 1:0\nevent: status\ndata: {}\n\nid: 1:1\nevent: log\ndata: {"n":1}\n\n',
      'id: 1:2\nevent: log\ndata: {"n":2}\n\nid: 5:2\nevent: done\ndata: {}\n\n',
    ]);
    const got: SseEvent[] = [];
    const s = new ResumableStream({
      url: 'http://x/v1/builds/b/events',
      headers: { Authorization: 'Bearer t' },
      onEvent: (e) => got.push(e),
      fetchImpl: impl,
      sleep: noSleep,
    });
    expect(await s.run()).toBe('done');
    expect(seen).toEqual([undefined, '1:1']);
    expect(got.map((e) => e.id)).toEqual(['1:0', '1:1', '1:2', '5:2']);
    expect(s.connections).toBe(2);
  });

  it('starts from the given resume point and retries server errors with back-off', async () => {
    const { impl, seen } = scriptedFetch([503, 'ignored-no-frames', 'id: 9:40\nevent: done\ndata: {}\n\n']);
    const delays: number[] = [];
    const s = new ResumableStream({
      url: 'u',
      headers: { Authorization: 'Bearer t' },
      lastEventId: '0:40',
      onEvent: () => undefined,
      fetchImpl: impl,
      sleep: async (ms) => { delays.push(ms); },
      initialRetryMs: 100,
    });
    expect(await s.run()).toBe('done');
    expect(seen).toEqual(['0:40', '0:40', '0:40']);
    expect(delays).toEqual([100, 200]);
  });

  it('gives up on a client error such as an unknown build or a bad token', async () => {
    const { impl } = scriptedFetch([404]);
    const states: string[] = [];
    const s = new ResumableStream({
      url: 'u',
      headers: { Authorization: 'Bearer t' },
      onEvent: () => undefined,
      onState: (st, detail) => states.push(detail ? `${st}: ${detail}` : st),
      fetchImpl: impl,
      sleep: noSleep,
    });
    expect(await s.run()).toBe('failed');
    expect(states).toEqual(['connecting', 'failed: status 404']);
  });

  it('reconnects after a network failure and stops when asked', async () => {
    const { impl, seen } = scriptedFetch([]);
    const s = new ResumableStream({
      url: 'u',
      headers: { Authorization: 'Bearer t' },
      lastEventId: '2:2',
      onEvent: () => undefined,
      fetchImpl: impl,
      sleep: async () => { if (seen.length >= 3) s.stop(); },
    });
    expect(await s.run()).toBe('stopped');
    expect(seen).toEqual(['2:2', '2:2', '2:2']);
  });
});
