// Small pieces every page uses: status badges, error messages, copy buttons, the progress bar.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';

export function StatusBadge({ status }: { status: string | null | undefined }) {
  const s = status ?? 'unknown';
  return (
    <span class={`badge badge-${s}`} data-status={s}>
      {s}
    </span>
  );
}

export function ErrorMessage({ error, onRetry }: { error: Error | string | undefined; onRetry?: () => void }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : error.message;
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{status === 401 || status === 403 ? 'Not allowed' : 'Something went wrong'}:</strong> {text}
      {onRetry && (
        <button type="button" class="link" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return <div class="notice" role="status">{children}</div>;
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP origins (kiln on a LAN host) have no clipboard API: fall back to a selection.
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('the browser refused to copy');
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      class="copy"
      data-copy={text}
      onClick={() => {
        copyText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        );
        setTimeout(() => setState('idle'), 2000);
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : label}
    </button>
  );
}

export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={p}
      aria-label={label} data-testid="progress" data-progress={p}>
      <div class="progress-fill" style={{ width: `${p}%` }} />
      <span class="progress-label">{label}</span>
    </div>
  );
}
