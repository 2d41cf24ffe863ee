// A scrolling list that keeps only the visible rows in the DOM (fixed row height), for the
// builds table (10,000 rows) and the log (100,000 lines). Scroll handling is batched to one
// render per animation frame.

import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { atBottom, virtualWindow } from '../lib/virtual';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ComponentChildren;
  class?: string;
  // Keep the view at the end as rows are added, while the user has not scrolled up.
  follow?: boolean;
  onFollowChange?: (following: boolean) => void;
  // Called when the view comes within `nearEndRows` of the last row (load the next page).
  onNearEnd?: () => void;
  nearEndRows?: number;
  overscan?: number;
  testId?: string;
  scrollerRef?: Ref<HTMLDivElement>;
}

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, renderRow, follow, onFollowChange, onNearEnd } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const frame = useRef(0);
  const following = useRef(follow ?? false);
  const programmatic = useRef(false);

  useEffect(() => {
    following.current = follow ?? false;
  }, [follow]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (props.scrollerRef && typeof props.scrollerRef === 'object') {
      (props.scrollerRef as { current: HTMLDivElement | null }).current = el;
    }
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight || 600 });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // New rows while following: jump to the end before the browser paints.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !following.current) return;
    const target = Math.max(0, count * rowHeight - el.clientHeight);
    if (Math.abs(el.scrollTop - target) > 1) {
      programmatic.current = true;
      el.scrollTop = target;
      setView({ top: el.scrollTop, height: el.clientHeight || 600 });
    }
  }, [count, rowHeight, follow]);

  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = scroller.current;
      if (!el) return;
      setView({ top: el.scrollTop, height: el.clientHeight || 600 });
      const bottom = atBottom(el.scrollTop, el.clientHeight, count * rowHeight, rowHeight);
      if (programmatic.current) {
        programmatic.current = false;
      } else if (onFollowChange && bottom !== following.current) {
        following.current = bottom;
        onFollowChange(bottom);
      }
      const lastVisible = (el.scrollTop + el.clientHeight) / rowHeight;
      if (onNearEnd && lastVisible >= count - (props.nearEndRows ?? 20)) onNearEnd();
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // A short list that does not fill the viewport still asks for more.
  useEffect(() => {
    if (onNearEnd && count * rowHeight < view.height) onNearEnd();
  }, [count, view.height]);

  const w = virtualWindow(count, rowHeight, view.top, view.height, props.overscan ?? 10);
  const rows: ComponentChildren[] = [];
  for (let i = w.start; i < w.end; i++) rows.push(renderRow(i));
  return (
    <div class={`vlist ${props.class ?? ''}`} ref={scroller} onScroll={onScroll} data-testid={props.testId}
      data-count={count}>
      <div style={{ height: `${w.totalHeight}px`, position: 'relative' }}>
        <div style={{ transform: `translateY(${w.offsetTop}px)` }}>{rows}</div>
      </div>
    </div>
  );
}
