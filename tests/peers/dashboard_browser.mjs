// Drives Debian's chromium with playwright-core through the ops dashboard:
// signs in with the admin key, generates traffic as a tenant, waits until the
// page shows it and the charts have points, saves a screenshot, and prints
// what the page showed as one JSON line.
//   TOLLGATE_ADMIN_KEY=… TOLLGATE_TENANT_KEY=… node dashboard_browser.mjs \
//     --url http://127.0.0.1:PORT --tenant tnt_… --requests N --screenshot FILE --profile DIR
// Keys come from the environment, not argv (argv is visible to every user).
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const base = arg('url');
const tenant = arg('tenant');
const requests = Number(arg('requests') || '0');
const screenshot = arg('screenshot');
const profile = arg('profile');
const adminKey = process.env.TOLLGATE_ADMIN_KEY;
const tenantKey = process.env.TOLLGATE_TENANT_KEY;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base || '') || !tenant || !screenshot || !profile || !adminKey || !tenantKey) {
  console.error('usage: see the comment at the top of dashboard_browser.mjs');
  process.exit(64);
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  viewport: { width: 1500, height: 1000 },
});
const problems = [];
const requestsSeen = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Everything the page loads must come from tollgate itself (no CDN).
  page.on('request', (r) => requestsSeen.push(r.url()));

  await page.goto(`${base}/dashboard`);
  await page.fill('#admin_key', adminKey);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  await page.waitForSelector('#chart-requests', { timeout: 10000 });
  await page.waitForFunction(() => Number(document.body.dataset.polls || 0) >= 1, null, { timeout: 15000 });

  // Traffic: `requests` calls as the tenant, spread over a few polls so the rate chart moves.
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`${base}/v1/providers`, { headers: { Authorization: `Bearer ${tenantKey}` } });
    if (res.status !== 200) throw new Error(`traffic call answered ${res.status}`);
    await res.arrayBuffer();
    if (i % Math.max(1, Math.floor(requests / 4)) === 0) await page.waitForTimeout(0);
  }

  // The page must show the tenant's count; the charts must have several points.
  await page.waitForFunction(
    ({ tenant, requests }) => {
      const row = document.querySelector(`#tenants tr[data-key="${tenant}"] td.count`);
      return row && row.textContent.replace(/,/g, '') === String(requests);
    },
    { tenant, requests },
    { timeout: 20000 },
  );
  await page.waitForFunction(
    () => ['chart-requests', 'chart-errors', 'chart-latency'].every((id) => Number(document.getElementById(id).dataset.points || 0) >= 3),
    null,
    { timeout: 30000 },
  );
  await page.screenshot({ path: screenshot, fullPage: true });

  const shown = await page.evaluate((tenant) => ({
    tenant_requests: document.querySelector(`#tenants tr[data-key="${tenant}"] td.count`)?.textContent,
    requests_total: document.getElementById('requests-total').textContent,
    needs_reauth: document.getElementById('needs-reauth').textContent,
    points: ['chart-requests', 'chart-errors', 'chart-latency'].map((id) => Number(document.getElementById(id).dataset.points)),
    status: document.getElementById('status').textContent,
  }), tenant);
  const cookies = await context.cookies(`${base}/dashboard`);
  const session = cookies.find((c) => c.name === 'tollgate_dashboard');
  const foreign = requestsSeen.filter((u) => !u.startsWith(`${base}/`));
  process.stdout.write(JSON.stringify({
    shown,
    cookie: session ? { httpOnly: session.httpOnly, sameSite: session.sameSite, path: session.path, holds_admin_key: session.value.includes(adminKey) } : null,
    foreign_requests: foreign,
    problems,
  }) + '\n');
} finally {
  await context.close();
}
