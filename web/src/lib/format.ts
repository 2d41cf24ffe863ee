// Text for numbers and times as the dashboard shows them. Nulls (a build still running, a day
// with no finished build) become an en dash rather than "NaN" or "0".

const DASH = '–';

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 10) return `${totalSeconds.toFixed(1)} s`;
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  return rest === 0 ? `${m} min` : `${m} min ${rest} s`;
}

// Duration of a build: until finished_at, or until `now` while it still runs.
export function buildDurationMs(
  build: { requested_at?: string | null; finished_at?: string | null; duration_ms?: number | null },
  now: number = Date.now(),
): number | null {
  if (build.duration_ms !== null && build.duration_ms !== undefined) return build.duration_ms;
  if (!build.requested_at) return null;
  const start = Date.parse(build.requested_at);
  const end = build.finished_at ? Date.parse(build.finished_at) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null;
}

export function formatPercent(ratio: number | null | undefined, digits = 0): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH;
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : DASH;
}

export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return DASH;
  const [algo, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  return algo ? `${algo}:${hex.slice(0, 12)}` : hex.slice(0, 12);
}

// "3 min ago", "in 2 h"; absolute dates beyond a week.
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return DASH;
  const diff = t - now;
  const abs = Math.abs(diff);
  const say = (n: number, unit: string) => (diff < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`);
  if (abs < 45_000) return diff < 0 ? 'just now' : 'in a moment';
  if (abs < 3_600_000) return say(Math.round(abs / 60_000), 'min');
  if (abs < 86_400_000) return say(Math.round(abs / 3_600_000), 'h');
  if (abs < 7 * 86_400_000) return say(Math.round(abs / 86_400_000), 'd');
  return new Date(t).toISOString().slice(0, 10);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return DASH;
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

// The first line of a commit message, cut to `max` characters.
export function commitTitle(message: string | null | undefined, max = 72): string {
  if (!message) return '';
  const first = message.split('\n', 1)[0].trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

// The image tag of a build: the part of image_url after the last ':' not inside the host.
export function imageTag(imageUrl: string | null | undefined): string {
  if (!imageUrl) return DASH;
  const at = imageUrl.indexOf('@');
  const ref = at >= 0 ? imageUrl.slice(0, at) : imageUrl;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(colon + 1) : 'latest';
}

// `docker pull` of exactly the pushed bytes: repository@digest (a tag is replaced by the digest).
export function pullCommand(imageUrl: string, digest: string): string {
  const at = imageUrl.indexOf('@');
  let ref = at >= 0 ? imageUrl.slice(0, at) : imageUrl;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  return `docker pull ${ref}@${digest}`;
}

export function formatNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
