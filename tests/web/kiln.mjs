// Shared helpers of the dashboard's browser tests and benchmark: a real kiln (command API,
// query API), a local Git repository per test project, and headless Debian chromium.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, 'artifacts');
export const webUrl = (process.env.KILN_WEB_URL ?? 'http://127.0.0.1:8081').replace(/\/$/, '');
export const commandUrl = (process.env.KILN_COMMAND_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
export const token = process.env.KILN_TOKEN ?? 'kiln-demo-admin-token';
export const registry = process.env.KILN_REGISTRY ?? '127.0.0.1:5000';
export const chromiumPath = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export async function call(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function waitFor(what, fn, timeoutMs = 60000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// A Git repository with `files` committed on main, as infra/demo.sh makes its sample.
export function makeRepo(root, name, files) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const git = (...args) => execFileSync('git', ['-C', dir, ...args], { stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'web-test@kiln.local');
  git('config', 'user.name', 'kiln web test');
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  git('add', '-A');
  git('commit', '-q', '-m', `web test: ${name}`);
  return { dir, commit: git('rev-parse', 'HEAD').toString().trim() };
}

export async function applyProject(name, repoDir) {
  return call(commandUrl, 'PUT', `/v1/projects/${name}`, {
    repository_url: `file://${repoDir}`,
    repository_name: `kiln-web/${name}`,
    default_branch: 'main',
    registry,
    image_repository: `kiln-web/${name}`,
  });
}

export async function startBuild(project) {
  const answer = await call(commandUrl, 'POST', '/v1/builds', { project });
  return answer.build_id;
}

export const getBuild = (id) => call(webUrl, 'GET', `/v1/builds/${id}`);

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'kiln-web-chromium-'));
  // A fresh profile per run (Playwright passes it to chromium as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Diagnosis only, until webhook-ingest answers CORS: lets the page call the command API.
      ...(process.env.KILN_WEB_NO_CORS_CHECK === '1' ? ['--disable-web-security'] : []),
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A page signed in through the login form, with browser console errors collected.
export async function signedInPage(browser, viewport = { width: 1400, height: 900 }) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const context = { close: () => page.close() };
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${webUrl}/`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.top');
  return { page, context, problems };
}
