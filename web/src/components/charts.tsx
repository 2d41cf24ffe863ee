// Hand-drawn SVG charts (no chart library): stacked bars per day and lines over days. Every
// mark carries its value in data attributes and a <title>, so tests and screen readers can read
// the numbers the chart draws.

export interface Series {
  name: string;
  color: string; // CSS colour or var()
  values: (number | null)[];
}

const W = 640;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function Axes({ labels, max, format }: { labels: string[]; max: number; format: (v: number) => string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const plotH = H - PAD.top - PAD.bottom;
  const step = Math.max(1, Math.ceil(labels.length / 8));
  const x = (i: number) => PAD.left + ((i + 0.5) * (W - PAD.left - PAD.right)) / Math.max(1, labels.length);
  return (
    <g class="axes">
      {ticks.map((t) => {
        const y = PAD.top + plotH - (t / max) * plotH;
        return (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} class="grid" />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end">{format(t)}</text>
          </g>
        );
      })}
      {labels.map((l, i) => (i % step === 0 ? <text key={l} x={x(i)} y={H - 8} text-anchor="middle">{l.slice(5)}</text> : null))}
    </g>
  );
}

function Legend({ series }: { series: Series[] }) {
  return (
    <div class="legend">
      {series.map((s) => <span key={s.name}><i style={{ background: s.color }} />{s.name}</span>)}
    </div>
  );
}

export function StackedBars({ title, labels, series, testId }: { title: string; labels: string[]; series: Series[]; testId: string }) {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotH = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, labels.length);
  const bw = Math.max(2, Math.min(40, slot * 0.7));
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        <Axes labels={labels} max={max} format={(v) => String(Math.round(v))} />
        {labels.map((day, i) => {
          let y = PAD.top + plotH;
          return (
            <g key={day} data-day={day} data-total={totals[i]}>
              {series.map((s) => {
                const v = s.values[i] ?? 0;
                const h = (v / max) * plotH;
                y -= h;
                return v > 0 ? (
                  <rect key={s.name} class="bar" x={PAD.left + i * slot + (slot - bw) / 2} y={y} width={bw} height={h}
                    fill={s.color} data-series={s.name} data-value={v}>
                    <title>{`${day} ${s.name}: ${v}`}</title>
                  </rect>
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </figure>
  );
}

export function LineChart({ title, labels, series, format, testId, fixedMax }: {
  title: string; labels: string[]; series: Series[]; format: (v: number) => string; testId: string; fixedMax?: number;
}) {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = fixedMax ?? niceMax(Math.max(0, ...all));
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + ((i + 0.5) * (W - PAD.left - PAD.right)) / Math.max(1, labels.length);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        <Axes labels={labels} max={max} format={format} />
        {series.map((s) => {
          // Days without a value break the line instead of dropping it to zero.
          const parts: string[] = [];
          let pen = false;
          s.values.forEach((v, i) => {
            if (v === null) { pen = false; return; }
            parts.push(`${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`);
            pen = true;
          });
          return (
            <g key={s.name} data-series={s.name}>
              <path d={parts.join(' ')} fill="none" stroke={s.color} stroke-width="2" />
              {s.values.map((v, i) => (v === null ? null : (
                <circle key={i} class="point" cx={x(i)} cy={y(v)} r="3" fill={s.color} data-day={labels[i]} data-value={v}>
                  <title>{`${labels[i]} ${s.name}: ${format(v)}`}</title>
                </circle>
              )))}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </figure>
  );
}
