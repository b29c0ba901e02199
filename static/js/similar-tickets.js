// Similar tickets while an employee types a title (tickets:similar): asks 300 ms after the last key,
// cancels a question still under way when a newer one starts, and shows the server's HTML fragment.
(function () {
  "use strict";
  const box = document.querySelector("[data-similar-url]");
  const title = document.querySelector("#id_title");
  if (!box || !title) return;
  let timer = null;
  let running = null;
  function ask() {
    const text = title.value.trim();
    if (running) running.abort();
    if (text.length < 3) { box.replaceChildren(); return; }
    running = new AbortController();
    const url = box.dataset.similarUrl + "?" + new URLSearchParams({ title: text });
    fetch(url, { signal: running.signal, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : ""))
      .then((html) => {
        // The fragment is rendered by our auto-escaping template.
        box.innerHTML = html;
      })
      .catch((error) => { if (error.name !== "AbortError") box.replaceChildren(); });
  }
  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
  if (title.value.trim()) ask();
})();

