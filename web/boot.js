// Boot progress before Python is up: plain JS, no framework, no inline script (CSP).
// Steps: runtime downloading -> Python started (py:ready) -> app rendering (py:done).
const text = document.getElementById("boot-text");
const bar = document.getElementById("boot-progress");
const step = (value, message) => {
  if (document.documentElement.dataset.appState !== "loading") return;
  if (bar && Number(bar.value) < value) bar.value = value;
  if (text) text.textContent = message;
};
step(1, "Loading the Python runtime…");
const onReady = () => step(2, "Starting the app…");
const onDone = () => step(3, "Rendering…");
for (const target of [document, window]) {
  target.addEventListener("py:ready", onReady, { once: true, capture: true });
  target.addEventListener("py:done", onDone, { once: true, capture: true });
}
// A boot that fails says so instead of spinning forever.
window.addEventListener("error", (event) => {
  if (document.documentElement.dataset.appState !== "loading") return;
  if (text) {
    text.textContent = "The app could not start. Reload the page to try again.";
    text.classList.add("boot-error");
  }
  console.debug("boot error", event.message);
});
