// The build log: line numbers, ANSI colours, virtualised, following the end while the user is
// at the bottom. ANSI is parsed only for the rows on screen.

import { useState } from 'preact/hooks';
import { cssFor, parseAnsi } from '../lib/ansi';
import type { LogBuffer } from '../lib/live_build';
import { VirtualList } from '../components/VirtualList';

const LINE_HEIGHT = 18;

function LogRow({ log, i }: { log: LogBuffer; i: number }) {
  const line = log.lines[i];
  const { segments } = parseAnsi(line.text, log.styles[i]);
  return (
    <div class={`log-line ${line.stream === 'stderr' ? 'stderr' : ''}`} data-n={line.n}>
      <span class="log-n">{line.n}</span>
      <span class="log-text">
        {segments.map((s, k) => {
          const css = cssFor(s.style);
          return css ? <span key={k} style={css}>{s.text}</span> : s.text;
        })}
      </span>
    </div>
  );
}

export function LogView({ log, version, live }: { log: LogBuffer; version: number; live: boolean }) {
  const [follow, setFollow] = useState(true);
  return (
    <div class="log-wrap">
      <div class="log-tools">
        <span class="muted" data-testid="log-count" data-version={version}>
          {log.lines.length.toLocaleString('en-US')} lines
        </span>
        {live && (
          <button type="button" class={follow ? 'on' : ''} onClick={() => setFollow(!follow)} aria-pressed={follow}>
            {follow ? 'Following' : 'Follow'}
          </button>
        )}
      </div>
      {log.lines.length === 0 ? (
        <div class="log empty">{live ? 'Waiting for log lines…' : 'No log lines.'}</div>
      ) : (
        <VirtualList
          class="log"
          testId="log"
          count={log.lines.length}
          rowHeight={LINE_HEIGHT}
          follow={live && follow}
          onFollowChange={setFollow}
          overscan={20}
          renderRow={(i) => <LogRow key={log.lines[i].n} log={log} i={i} />}
        />
      )}
    </div>
  );
}
