// Benchmark of the dashboard's two big views in headless chromium against a running kiln:
//  - the builds list with 10,000 builds (real rows inserted into PostgreSQL's builds table,
//    removed afterwards), and
//  - the log of a real build that prints 100,000 lines (some coloured).
// Reports time to first render, time until everything is loaded, and the scroll frame rate
// counted with requestAnimationFrame while the list scrolls every frame. Prints JSON at the end.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyProject, artifacts, getBuild, launch, log, makeRepo, registry, signedInPage, startBuild, waitFor,
  webUrl,
} from './kiln.mjs';

const BUILDS = Number(process.env.KILN_BENCH_BUILDS ?? 10000);
const LINES = Number(process.env.KILN_BENCH_LINES ?? 100000);
const databaseUrl = process.env.KILN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/kiln';
const suffix = Date.now().toString(36).slice(-5);
const listProject = `bench-list-${suffix}`;
const logProject = `bench-log-${suffix}`;

const psql = (sql) => execFileSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]).toString().trim();

function insertBuilds() {
  // Shaped like real projections: every status, trigger, branch, commit and image tag filled.
  psql(`INSERT INTO builds (build_id, build_number, project, tenant, status, trigger, actor, repo_url, ref,
      branch, commit_sha, commit_message, author, image_repository, registry, progress, current_step,
      attempt, requested_at, started_at, finished_at, image_url, digest, created_seq, last_seq)
    SELECT 'bench-${suffix}-' || lpad(i::text, 6, '0'), i, '${listProject}', 'bench',
      (ARRAY['succeeded','succeeded','succeeded','failed','cancelled','building','queued'])[1 + i % 7],
      (ARRAY['webhook','manual','schedule','retry'])[1 + i % 4], 'bench', 'file:///bench', 'refs/heads/main',
      (ARRAY['main','develop','feature/x'])[1 + i % 3], md5(i::text) || 'abcdefgh',
      'bench commit number ' || i || ': a message long enough to be cut in the table column', 'bench',
      'kiln/bench', '${registry}', 100, 'RUN make', 1,
      now() - make_interval(secs => i * 60), now() - make_interval(secs => i * 60 - 5),
      now() - make_interval(secs => i * 60 - 65),
      '${registry}/kiln/bench:sha-' || substr(md5(i::text), 1, 7), 'sha256:' || md5(i::text) || md5((i + 1)::text), 0, 0
    FROM generate_series(1, ${BUILDS}) AS i`);
}

const removeBuilds = () => psql(`DELETE FROM builds WHERE project = '${listProject}'`);

// Navigates to `hash` in the page and measures, in the page, until `selector` is painted.
async function timeTo(page, hash, selector) {
  return page.evaluate(([h, sel]) => new Promise((resolve, reject) => {
    const start = performance.now();
    location.hash = h;
    const poll = () => {
      if (document.querySelector(sel)) {
        // The frame after the DOM has it: painted.
        requestAnimationFrame(() => resolve(Math.round(performance.now() - start)));
      } else if (performance.now() - start > 120000) reject(new Error(`${sel} never appeared`));
      else requestAnimationFrame(poll);
    };
    poll();
  }), [hash, selector]);
}

// Scrolls `selector` by `px` every animation frame for `ms` and counts frames.
async function scrollFps(page, selector, ms, px) {
  return page.evaluate(
    ([sel, duration, step]) => new Promise((resolve) => {
      const el = document.querySelector(sel);
      let frames = 0;
      let worst = 0;
      let over50 = 0;
      let first = 0;
      let last = 0;
      const tick = (t) => {
        if (!first) { first = t; last = t; }
        else {
          frames++;
          worst = Math.max(worst, t - last);
          if (t - last > 50) over50++;
          last = t;
        }
        el.scrollTop += step;
        if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) el.scrollTop = 0;
        if (t - first < duration) requestAnimationFrame(tick);
        else resolve({ fps: Math.round((frames * 10000) / (t - first)) / 10, worst_frame_ms: Math.round(worst), frames_over_50ms: over50 });
      };
      requestAnimationFrame(tick);
    }),
    [selector, ms, px],
  );
}

// Random jumps across the whole list (dragging the scrollbar): frame time per jump.
async function jumpFps(page, selector, jumps) {
  return page.evaluate(
    ([sel, n]) => new Promise((resolve) => {
      const el = document.querySelector(sel);
      let i = 0;
      let last = 0;
      let total = 0;
      let worst = 0;
      const tick = (t) => {
        if (last) { total += t - last; worst = Math.max(worst, t - last); }
        last = t;
        el.scrollTop = Math.random() * (el.scrollHeight - el.clientHeight);
        if (++i <= n) requestAnimationFrame(tick);
        else resolve({ jumps: n, mean_frame_ms: Math.round((total / n) * 10) / 10, worst_frame_ms: Math.round(worst) });
      };
      requestAnimationFrame(tick);
    }),
    [selector, jumps],
  );
}

mkdirSync(artifacts, { recursive: true });
const root = mkdtempSync(join(tmpdir(), 'kiln-web-bench-'));
const results = { builds: BUILDS, log_lines: LINES };
const { browser, close } = await launch();
let failed = false;
try {
  // The log build runs while the list is measured.
  const repo = makeRepo(root, logProject, {
    Dockerfile: [
      `FROM ${registry}/kiln/busybox`,
      `RUN echo bench ${suffix} && seq 1 ${LINES} | awk '{ if ($1 % 10 == 0) printf "\\033[31mred line %d\\033[0m\\n", $1; else print "plain line " $1 }'`,
      '',
    ].join('\n'),
  });
  await applyProject(logProject, repo.dir);
  const logBuild = await startBuild(logProject);
  log(`log build ${logBuild}`);

  insertBuilds();
  log(`inserted ${BUILDS} builds into PostgreSQL (project ${listProject})`);
  const { page } = await signedInPage(browser);

  // --- builds list -----------------------------------------------------------------------
  await page.goto(`${webUrl}/#/settings`);
  results.list_first_render_ms = await timeTo(page, `#/builds?project=${listProject}`, '.brow[data-build]');
  // Scroll to the end until every page is loaded (500 per request).
  const tAllStart = Date.now();
  await waitFor('all builds loaded', async () => {
    const n = await page.evaluate(() => {
      const el = document.querySelector('[data-testid=builds-table]');
      el.scrollTop = el.scrollHeight;
      return Number(el.dataset.count);
    });
    return n >= BUILDS;
  }, 120000, 100);
  results.list_all_loaded_ms = Date.now() - tAllStart;
  results.list_dom_rows = await page.locator('.brow[data-build]').count();
  results.list_scroll = await scrollFps(page, '[data-testid=builds-table]', 3000, 120);
  results.list_jumps = await jumpFps(page, '[data-testid=builds-table]', 60);
  await page.screenshot({ path: join(artifacts, 'bench-builds.png') });
  log('list', JSON.stringify(results));

  // --- log of 100,000 lines ----------------------------------------------------------------
  await waitFor('the log build to finish', async () => {
    const b = await getBuild(logBuild);
    if (b.status === 'failed' || b.status === 'cancelled') throw new Error(`log build ${b.status}: ${b.failure_reason}`);
    return b.status === 'succeeded';
  }, 600000, 1000);
  await page.goto(`${webUrl}/#/settings`);
  results.log_first_render_ms = await timeTo(page, `#/builds/${logBuild}`, '.log-line');
  // Loaded when the count reaches the build's lines, or stops growing (the server sent all it has).
  const tLog = Date.now();
  let previous = -1;
  let stableSince = Date.now();
  await waitFor('the whole log', async () => {
    const n = Number(await page.getAttribute('[data-testid=log]', 'data-count'));
    if (n !== previous) { previous = n; stableSince = Date.now(); }
    return n >= LINES || Date.now() - stableSince > 5000;
  }, 180000, 100);
  results.log_all_loaded_ms = Date.now() - tLog - (previous >= LINES ? 0 : 5000);
  results.log_total_lines = previous;
  if (previous < LINES) log(`WARNING: the page has ${previous} log lines; the build printed ${LINES} (+ kiln's own lines)`);
  results.log_dom_rows = await page.locator('.log-line').count();
  results.log_scroll = await scrollFps(page, '[data-testid=log]', 3000, 90);
  results.log_jumps = await jumpFps(page, '[data-testid=log]', 60);
  await page.screenshot({ path: join(artifacts, 'bench-log.png') });
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  try { removeBuilds(); } catch (e) { console.error(`removing the bench rows: ${e.message}`); failed = true; }
  await close();
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);
