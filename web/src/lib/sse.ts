// Server-sent events over fetch. The browser's EventSource cannot send the Authorization header
// the query API requires, so the stream is read with fetch and parsed here, and the resume after
// a dropped connection (Last-Event-ID) is done by ResumableStream below.

export interface SseEvent {
  id?: string; // undefined when the frame carried no id (the last one still applies)
  event: string; // "message" when the frame named none
  data: string;
}

// Incremental parser of the text/event-stream format (HTML Living Standard, 9.2.6).
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private sawCr = false;

  // Feeds decoded text; returns the events completed by it.
  feed(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A CRLF split across two chunks: the LF belongs to the CR already handled.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.sawCr = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return; // comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'done' | 'failed' | 'stopped';

export interface ResumableStreamOptions {
  url: string;
  headers?: Record<string, string>;
  lastEventId?: string; // resume point for the first connection
  onEvent: (event: SseEvent) => void;
  onState?: (state: StreamState, detail?: string) => void;
  // The server ends a finished build's stream with this event; no reconnect after it.
  doneEvent?: string;
  initialRetryMs?: number;
  maxRetryMs?: number;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

// HTTP statuses after which a reconnect cannot help: the request itself is wrong.
const FATAL = new Set([400, 401, 403, 404, 410, 422]);

export class StreamHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: the status line says enough
  }
  return `HTTP ${response.status}`;
}

// Follows an SSE URL until its done event, reconnecting with Last-Event-ID after a dropped
// connection or a server error, with exponential back-off reset by every received event.
export class ResumableStream {
  lastEventId: string | undefined;
  connections = 0;
  private received = false; // during the current connection
  private readonly abort = new AbortController();
  private readonly opts: Required<Omit<ResumableStreamOptions, 'lastEventId' | 'headers' | 'onState'>> &
    ResumableStreamOptions;

  constructor(options: ResumableStreamOptions) {
    this.opts = {
      doneEvent: 'done',
      initialRetryMs: 500,
      maxRetryMs: 10000,
      fetchImpl: (...args) => fetch(...args),
      sleep: defaultSleep,
      ...options,
    };
    this.lastEventId = options.lastEventId;
  }

  stop(): void {
    this.abort.abort();
    this.opts.onState?.('stopped');
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  // Resolves when the stream is done, stopped, or failed for good (the promise never rejects).
  async run(): Promise<StreamState> {
    let delay = this.opts.initialRetryMs;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      this.opts.onState?.(this.connections === 0 ? 'connecting' : 'reconnecting');
      let outcome: 'done' | 'ended' | 'received';
      try {
        outcome = await this.connectOnce(signal);
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof StreamHttpError && FATAL.has(e.status)) {
          this.opts.onState?.('failed', e.message);
          return 'failed';
        }
        this.opts.onState?.('reconnecting', e instanceof Error ? e.message : String(e));
        outcome = this.received ? 'received' : 'ended';
      }
      if (outcome === 'done') {
        this.opts.onState?.('done');
        return 'done';
      }
      if (outcome === 'received') delay = this.opts.initialRetryMs;
      await this.opts.sleep(delay, signal);
      delay = Math.min(delay * 2, this.opts.maxRetryMs);
    }
    return 'stopped';
  }

  private async connectOnce(signal: AbortSignal): Promise<'done' | 'ended' | 'received'> {
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...this.opts.headers };
    if (this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
    this.connections++;
    this.received = false;
    const response = await this.opts.fetchImpl(this.opts.url, { headers, signal, cache: 'no-store' });
    if (!response.ok) throw new StreamHttpError(response.status, await errorMessage(response));
    if (!response.body) throw new Error('the stream has no body');
    this.opts.onState?.('open');
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
          if (event.id !== undefined) this.lastEventId = event.id;
          this.received = true;
          this.opts.onEvent(event);
          if (event.event === this.opts.doneEvent) return 'done';
        }
      }
    } finally {
      reader.cancel().catch(() => undefined); // already closed or aborted: nothing to release
    }
    return this.received ? 'received' : 'ended';
  }
}
