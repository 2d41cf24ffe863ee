// Browser tests of kiln's dashboard against a running kiln (see run.sh): real builds started
// through the command API, watched in headless chromium. Screenshots go to artifacts/.
// Exits non-zero when any check fails.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyProject, artifacts, call, getBuild, launch, log, makeRepo, registry, signedInPage, startBuild,
  waitFor, webUrl,
} from './kiln.mjs';

const failures = [];
async function step(name, fn, page) {
  const started = Date.now();
  try {
    await fn();
    log(`PASS ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    log(`FAIL ${name}: ${e.message}`);
    if (page) await page.screenshot({ path: join(artifacts, `FAILED-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    return false;
  }
}
function check(cond, message) {
  if (!cond) throw new Error(message);
}

mkdirSync(artifacts, { recursive: true });
const root = mkdtempSync(join(tmpdir(), 'kiln-web-repos-'));
const suffix = Date.now().toString(36).slice(-5);
const slow = `web-live-${suffix}`;
const sleepy = `web-cancel-${suffix}`;
const base = `${registry}/kiln/busybox`;

// ~25 s: coloured lines one per second (live log, progress over four steps), then success.
const slowRepo = makeRepo(root, slow, {
  Dockerfile: [
    `FROM ${base}`,
    // The suffix in every RUN keeps buildah's layer cache from skipping the work.
    `RUN echo ${suffix}; for i in $(seq 1 15); do printf '\\033[32mok\\033[0m live line %d\\n' $i; sleep 1; done`,
    `RUN echo second step ${suffix} && sleep 3`,
    `RUN echo '${suffix}' > /stamp.txt && sleep 2`,
    '',
  ].join('\n'),
});
const sleepyRepo = makeRepo(root, sleepy, {
  Dockerfile: [`FROM ${base}`, `RUN echo about to sleep ${suffix} && sleep 30`, 'RUN echo never', ''].join('\n'),
});

const { browser, close } = await launch();
let exitCode = 1;
try {
  await applyProject(slow, slowRepo.dir);
  await applyProject(sleepy, sleepyRepo.dir);
  const liveId = await startBuild(slow);
  const cancelId = await startBuild(sleepy);
  log(`builds: live ${liveId}, cancel ${cancelId}`);

  const { page, problems } = await signedInPage(browser);

  await step('a wrong token shows a message, not a blank page', async () => {
    const other = await browser.newPage();
    await other.goto(`${webUrl}/`);
    await other.fill('input[name=token]', 'not-a-token');
    await other.click('button[type=submit]');
    const text = await other.locator('[data-testid=error]').innerText({ timeout: 10000 });
    check(/unknown token|401|unauthenticated/i.test(text), `unexpected error text: ${text}`);
    await other.close();
  });

  await step('builds list shows the new builds with live status', async () => {
    await page.goto(`${webUrl}/#/builds`);
    await page.waitForSelector(`[data-build="${liveId}"]`, { timeout: 15000 });
    await page.waitForSelector(`[data-build="${cancelId}"]`, { timeout: 15000 });
    const row = page.locator(`.brow[data-build="${liveId}"]`);
    const text = await row.innerText();
    check(text.includes(slow), `row lacks the project: ${text}`);
    check(text.includes(slowRepo.commit.slice(0, 7)) || text.includes('main'), `row lacks branch/commit: ${text}`);
    check(text.includes('manual'), `row lacks the trigger: ${text}`);
    // Live: the status in the row changes without a reload once the build runs.
    await waitFor('the live row to show building', async () =>
      ['building', 'pushing', 'succeeded'].includes(await row.getAttribute('data-status')), 60000);
    await page.screenshot({ path: join(artifacts, 'builds.png') });
  }, page);

  await step('builds list filters by project', async () => {
    await page.selectOption('select[name=project]', sleepy);
    await waitFor('only the cancel project', async () => {
      const projects = await page.locator('.brow[data-build] a').allInnerTexts();
      return projects.length > 0 && projects.every((t) => t.startsWith(sleepy));
    }, 15000);
    check(page.url().includes(`project=${sleepy}`), `the filter is not in the URL: ${page.url()}`);
    await page.screenshot({ path: join(artifacts, 'builds-filtered.png') });
    await page.selectOption('select[name=project]', '');
  }, page);

  await step('a running build shows log lines arriving live and the progress bar advancing', async () => {
    await page.goto(`${webUrl}/#/builds/${liveId}`);
    await page.waitForSelector('.build-detail');
    const maxLine = async () => {
      const ns = await page.locator('.log-line').evaluateAll((els) => els.map((e) => Number(e.dataset.n)));
      return ns.length ? Math.max(...ns) : 0;
    };
    const first = await waitFor('first log lines', async () => (await maxLine()) || false, 60000);
    const status = await page.locator('.build-detail').getAttribute('data-status');
    check(status !== 'succeeded', `build finished before the page saw it run (${status})`);
    const progress0 = Number(await page.getAttribute('[data-testid=progress]', 'data-progress'));
    await waitFor('more log lines over the live stream', async () => (await maxLine()) >= first + 3, 30000);
    check(await page.locator('[data-testid=stream-state]').innerText() === '● live', 'stream is not live');
    // ANSI colours: the green "ok" is a styled span.
    const green = await page.locator('.log-text span[style*="--ansi-2"]').count();
    check(green > 0, 'no ANSI-coloured span in the log');
    await page.screenshot({ path: join(artifacts, 'build-running.png') });
    await waitFor('the progress bar to advance', async () =>
      Number(await page.getAttribute('[data-testid=progress]', 'data-progress')) > progress0, 60000);
    const label = await page.locator('[data-testid=progress]').innerText();
    check(/Step \d+\/\d+/.test(label) || /succeeded/.test(label), `progress label: ${label}`);
    log(`  log lines ${first} -> ${await maxLine()}, progress ${progress0} -> ${await page.getAttribute('[data-testid=progress]', 'data-progress')}`);
  }, page);

  await step('a finished build shows its image digest and docker pull', async () => {
    await page.waitForSelector('.build-detail[data-status="succeeded"]', { timeout: 120000 });
    const api = await waitFor('the digest in the API', async () => {
      const b = await getBuild(liveId);
      return b.digest ? b : false;
    }, 30000);
    const digest = await page.locator('[data-testid=digest]').innerText({ timeout: 15000 });
    check(digest === api.digest, `page digest ${digest} != API ${api.digest}`);
    const pull = await page.locator('.pull button').getAttribute('data-copy');
    check(pull.endsWith(`@${api.digest}`) && pull.startsWith('docker pull '), `pull command: ${pull}`);
    const steps = await page.locator('[data-testid=steps] tbody tr').count();
    check(steps >= 3, `steps table has ${steps} rows`);
    check(Number(await page.getAttribute('[data-testid=progress]', 'data-progress')) === 100, 'progress not 100');
    check(await page.locator('[data-testid=retry]').count() === 1, 'no Retry for a finished build');
    const lines = await page.locator('[data-testid=log-count]').innerText();
    check(Number(lines.split(' ')[0].replace(/,/g, '')) >= 15, `log count ${lines}`);
    await page.screenshot({ path: join(artifacts, 'build-succeeded.png'), fullPage: true });
  }, page);

  await step('cancelling a running build changes its status to cancelled', async () => {
    await page.goto(`${webUrl}/#/builds/${cancelId}`);
    await page.waitForSelector('.build-detail');
    await waitFor('the sleepy build to run', async () =>
      (await page.locator('.build-detail').getAttribute('data-status')) === 'building', 90000);
    await page.waitForSelector('.log-line', { timeout: 30000 });
    await page.click('[data-testid=cancel]');
    const err = page.locator('.actions [data-testid=error]');
    await waitFor('status cancelled on the page', async () => {
      if (await err.count()) throw new Error(await err.innerText());
      return (await page.locator('.build-detail').getAttribute('data-status')) === 'cancelled';
    }, 60000);
    check((await getBuild(cancelId)).status === 'cancelled', 'the API does not say cancelled');
    await page.screenshot({ path: join(artifacts, 'build-cancelled.png'), fullPage: true });
  }, page);

  await step('performance charts render the numbers the API returns', async () => {
    const tenant = 'default';
    const summary = await call(webUrl, 'GET', `/v1/analytics/summary?days=30&tenant=${tenant}`);
    const today = new Date().toISOString().slice(0, 10);
    const daily = await call(webUrl, 'GET', `/v1/analytics/daily?project=*&tenant=${tenant}&from=${today}`);
    await page.goto(`${webUrl}/#/performance?days=30&tenant=${tenant}`);
    await page.waitForSelector('[data-testid=summary]');
    await page.waitForSelector('[data-testid=chart-outcomes] svg');
    const value = (metric) => page.getAttribute(`[data-metric=${metric}]`, 'data-value');
    check(Number(await value('builds')) === summary.builds, `builds card ${await value('builds')} != ${summary.builds}`);
    if (summary.success_rate !== null) {
      check(Math.abs(Number(await value('success_rate')) - summary.success_rate) < 1e-9, 'success rate differs');
    }
    if (summary.duration_ms.p95 !== null) {
      check(Math.abs(Number(await value('duration_p95')) - summary.duration_ms.p95) < 1e-6, 'p95 differs');
    }
    const row = daily.days.find((d) => d.day === today);
    check(row, `no daily row for ${today}: ${JSON.stringify(daily)}`);
    const total = Number(await page.getAttribute(`[data-testid=chart-outcomes] g[data-day="${today}"]`, 'data-total'));
    check(total === row.succeeded + row.failed + row.cancelled, `chart total ${total} != API ${JSON.stringify(row)}`);
    const bars = await page.locator(`[data-testid=chart-outcomes] g[data-day="${today}"] rect`).evaluateAll(
      (els) => Object.fromEntries(els.map((e) => [e.dataset.series, Number(e.dataset.value)])));
    check((bars.succeeded ?? 0) === row.succeeded && (bars.cancelled ?? 0) === row.cancelled, `bars ${JSON.stringify(bars)}`);
    check(await page.locator('[data-testid=chart-success] circle.point').count() >= 1, 'no success-rate point');
    await page.screenshot({ path: join(artifacts, 'performance.png'), fullPage: true });
    await page.selectOption('select[name=days]', '7');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=chart-outcomes] g[data-day]').length === 7);
  }, page);

  await step('projects page lists webhook URLs, schedules and the last build', async () => {
    await page.goto(`${webUrl}/#/projects`);
    const card = page.locator(`.project[data-project="${slow}"]`);
    await card.waitFor({ timeout: 15000 });
    const hook = await card.locator('[data-testid=hook-github]').innerText();
    check(hook.endsWith('/hooks/github') && hook.includes(':8080'), `webhook URL ${hook}`);
    await card.locator('[data-testid=last-build] [data-status=succeeded]').waitFor({ timeout: 15000 });
    await page.screenshot({ path: join(artifacts, 'projects.png'), fullPage: true });
  }, page);

  await step('phone layout has no horizontal scrolling', async () => {
    const phone = await signedInPage(browser, { width: 390, height: 844 });
    for (const [name, hash] of [['builds', '#/builds'], ['build', `#/builds/${liveId}`], ['performance', '#/performance']]) {
      await phone.page.goto(`${webUrl}/${hash}`);
      await phone.page.waitForTimeout(1500);
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `${name} overflows by ${overflow}px`);
      await phone.page.screenshot({ path: join(artifacts, `phone-${name}.png`) });
    }
    await phone.context.close();
  });

  check(problems.length === 0, problems.join('; '));
  exitCode = failures.length ? 1 : 0;
} catch (e) {
  failures.push(`setup: ${e.stack ?? e.message}`);
} finally {
  await close();
  rmSync(root, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n - ${failures.join('\n - ')}`);
  process.exit(1);
}
log(`all dashboard checks passed; screenshots in ${artifacts}`);
process.exit(exitCode);
