// The runtime downloads start when the loader (tools/pyodide-snapshot.mjs) is first run:
// index.html runs it as an async module, sooner than this file runs; importing it here too
// covers a page that only preloads it. PyScript imports the same module when it gets there
// and takes the downloads over. A failure here is PyScript's to report, not ours.
const loader = document.querySelector('script[src$="pyodide-snapshot.mjs"]');
if (loader) import(loader.src).catch(() => {});

// The app's own files, requested now too instead of one after the other once the runtime is
// up (PyScript fetches pyapp.zip after the interpreter, then main.py; the app then reads
// config.json): three round trips off the critical path. The first GET of each URL, whoever
// makes it, gets the response already under way (revalidated as those callers ask:
// `no-cache`); then `fetch` is the browser's own again. Keep the list in step with
// pyscript.toml's [files] and index.html's <script type="py" src> (tests/static/test_build.py).
const EARLY_FILES = ["pyapp.zip", "main.py", "config.json"];
const early = new Map();
for (const path of EARLY_FILES) {
  const url = new URL(path, document.baseURI).href;
  const response = fetch(url, { cache: "no-cache", credentials: "same-origin" });
  response.catch(() => {}); // the caller that takes it over handles a failure
  early.set(url, response);
}
const browserFetch = window.fetch;
window.fetch = function fetch(input, init) {
  const request = input instanceof Request ? input : null;
  const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
  if (method === "GET" && early.size) {
    const url = new URL(request ? request.url : String(input), document.baseURI).href;
    const response = early.get(url);
    if (response) {
      early.delete(url);
      if (!early.size && window.fetch === fetch) window.fetch = browserFetch;
      return response;
    }
  }
  return browserFetch.call(this, input, init);
};

// Boot progress before Python is up: plain JS, no framework, no inline script (CSP).
// Steps: runtime downloading -> Python started (py:ready) -> app rendering (py:done).
// The texts follow the language the app will use (stored choice, else the browser's);
// they mirror the "boot.*" and "nav.*" keys of pyapp/i18n (a unit test keeps them equal).
const TEXTS = {
  en: {
    "boot.loading": "Loading the Python runtime…",
    "boot.starting": "Starting the app…",
    "boot.rendering": "Rendering…",
    "boot.failed": "The app could not start. Reload the page to try again.",
    "boot.hint": "The first visit downloads about 6 MB on a slow connection, 9 MB on a fast one; later visits come from the cache.",
    "boot.hint.micropython": "The first visit downloads about 0.5 MB; later visits come from the cache.",
    "boot.progress": "Start-up progress",
    "nav.label": "Main",
    "nav.home": "Home",
    "nav.playground": "Playground",
    "nav.skip": "Skip to content",
    "error.title": "Something went wrong",
    "error.reload": "Reload the page",
    "login.title": "Sign in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.busy": "Signing in…",
  },
  zh: {
    "boot.loading": "正在加载 Python 运行时…",
    "boot.starting": "正在启动应用…",
    "boot.rendering": "正在渲染…",
    "boot.failed": "应用无法启动,请刷新页面重试。",
    "boot.hint": "首次访问在慢速网络下约需下载 6 MB,在快速网络下约 9 MB;之后从缓存加载。",
    "boot.hint.micropython": "首次访问约需下载 0.5 MB;之后从缓存加载。",
    "boot.progress": "启动进度",
    "nav.label": "主导航",
    "nav.home": "首页",
    "nav.playground": "演示",
    "nav.skip": "跳到正文",
    "error.title": "出错了",
    "error.reload": "刷新页面",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.busy": "正在登录…",
  },
};
const pickLang = () => {
  let stored = null;
  try {
    stored = window.localStorage.getItem("pyauth.lang");
  } catch (_) {
    // storage disabled: fall back to the browser's language
  }
  if (stored === "en" || stored === "zh") return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
};
const lang = pickLang();
const t = (key) => TEXTS[lang][key] || TEXTS.en[key] || key;
document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
  node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
}

// The sign-in form before Python is up, where the app will show its login view: #/login or a
// protected route (pyapp/router.py: home, playground), without a session cookie. Typing goes into
// it while the runtime loads; a submit is kept (data-pending) and sent by the Python login view
// once it is up (pyapp/browser/shell.py hands the values over and removes this form).
const routePath = () => {
  let path = location.hash.replace(/^#/, "").split("?")[0];
  try {
    path = decodeURIComponent(path);
  } catch (_) {
    // a malformed escape: the router will answer not-found, and so no form here
  }
  path = path || "/";
  if (!path.startsWith("/")) path = "/" + path;
  if (path.length > 1) path = path.replace(/\/+$/, "") || "/";
  return path;
};
const hasSession = () => document.cookie.split(";").some((c) => c.trim().startsWith("access_token="));
const preboot = document.getElementById("preboot");
const prebootForm = document.getElementById("preboot-login");
const showPreboot = () => {
  const path = routePath();
  // With a session the app shows no login view (it moves on from #/login by itself); back from an
  // OpenID provider (code/state/error in the query) the app signs in before it shows a view.
  // A site that signs in at a provider (the build marks <html data-sign-in="provider">) has no
  // password form at all.
  const providerAnswer = /[?&](code|state|error)=/.test(location.search);
  const atProvider = document.documentElement.dataset.signIn === "provider";
  return ["/login", "/", "/playground"].includes(path) && !hasSession() && !providerAnswer && !atProvider;
};
if (preboot && prebootForm && showPreboot()) {
  preboot.hidden = false;
  prebootForm.addEventListener("submit", (event) => {
    event.preventDefault();
    prebootForm.dataset.pending = "submit";
    const button = prebootForm.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.textContent = t("login.busy");
    }
  });
  // No autofocus here: with the username focused from the start (and that focus carried into
  // the Python view), tests/static/test_demo_site.py's two-tab test saw an extra refresh in
  // the second tab (a focus that lands changes when the app's wake-up checks run). Focus the
  // person gave a field themselves is carried over (pyapp/browser/shell.py).
} else if (preboot) {
  preboot.remove();
}

const text = document.getElementById("boot-text");
const bar = document.getElementById("boot-progress");
const step = (value, key) => {
  if (document.documentElement.dataset.appState !== "loading") return;
  if (bar && Number(bar.value) < value) bar.value = value;
  if (text) text.textContent = t(key);
};
step(1, "boot.loading");
const onReady = () => step(2, "boot.starting");
const onDone = () => step(3, "boot.rendering");
for (const target of [document, window]) {
  target.addEventListener("py:ready", onReady, { once: true, capture: true });
  target.addEventListener("py:done", onDone, { once: true, capture: true });
}
// A boot that fails says so instead of spinning forever: a friendly screen with a reload
// button (no traceback: PyScript's error plugin is off; the details are in the console).
const failed = () => {
  const html = document.documentElement;
  if (html.dataset.appState === "error") return;
  html.dataset.appState = "error";
  const screen = document.createElement("div");
  screen.className = "card error-screen";
  screen.setAttribute("role", "alert");
  screen.dataset.testid = "error-screen";
  const heading = document.createElement("h1");
  heading.textContent = t("error.title");
  const body = document.createElement("p");
  body.textContent = t("boot.failed");
  const reload = document.createElement("button");
  reload.type = "button";
  reload.className = "primary";
  reload.dataset.testid = "reload";
  reload.textContent = t("error.reload");
  reload.addEventListener("click", () => location.reload());
  screen.append(heading, body, reload);
  document.getElementById("preboot")?.remove();
  const boot = document.getElementById("boot");
  if (boot) boot.replaceChildren(screen);
  else document.getElementById("main")?.replaceChildren(screen);
  reload.focus();
};
document.addEventListener("pyauth:boot-failed", failed);
window.addEventListener("error", (event) => {
  if (document.documentElement.dataset.appState !== "loading") return;
  console.error("boot error", event.message);
  failed();
});
