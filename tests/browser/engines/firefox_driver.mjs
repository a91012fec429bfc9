// Firefox ESR for tests/browser/engines, driven by npm puppeteer-core over WebDriver BiDi (no
// geckodriver): a JSON-lines server on stdin/stdout, one command a line, one answer a line.
//   {"id": 1, "op": "eval", "tab": 0, "js": "document.title"} -> {"id": 1, "value": "..."}
// ops: goto {url}, eval {js: an expression}, type {selector, text}, press {key}, click {selector},
// newTab, closeTab, clearCookies, cookies (the page's), console (what the tab logged so far), close.
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  extraPrefsFirefox: { 'intl.accept_languages': 'en-US' },
});
const tabs = [];
const logs = new Map();
async function open() {
  const page = await browser.newPage();
  const log = [];
  logs.set(page, log);
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e}`));
  tabs.push(page);
  return tabs.length - 1;
}
const first = (await browser.pages())[0];
if (first) await first.close().catch(() => {});
await open();
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
send({ ready: true, version: await browser.version() });

const ops = {
  goto: (p, c) => p.goto(c.url, { waitUntil: 'domcontentloaded' }).then(() => null),
  eval: (p, c) => p.evaluate(c.js),
  type: async (p, c) => { await p.focus(c.selector); await p.keyboard.type(c.text); return null; },
  press: (p, c) => p.keyboard.press(c.key).then(() => null),
  click: (p, c) => p.click(c.selector).then(() => null),
  newTab: () => open(),
  closeTab: async (p, c) => { await p.close(); tabs[c.tab] = null; return null; },
  clearCookies: async () => { await browser.deleteCookie(...(await browser.cookies())); return null; },
  // What the page would send: puppeteer's page.cookies() for the page's URL (path included).
  cookies: async (p) => (await p.cookies()).map((c) => ({
    name: c.name, value: c.value, path: c.path, sameSite: c.sameSite, secure: c.secure, httpOnly: c.httpOnly,
  })),
  console: (p) => logs.get(p).slice(),
  bringToFront: (p) => p.bringToFront().then(() => null),
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  if (c.op === 'close') break;
  try {
    const value = await ops[c.op](tabs[c.tab ?? 0], c);
    send({ id: c.id, value: value === undefined ? null : value });
  } catch (e) {
    send({ id: c.id, error: String(e && e.stack || e) });
  }
}
await browser.close();
process.exit(0);
