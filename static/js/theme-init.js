// Loaded synchronously in <head>: pick the colour mode before the first paint, so the page never
// flashes light-then-dark. The server renders data-bs-theme for an explicit choice; for "auto"
// (or an anonymous visitor) the system preference decides.
(function () {
  var root = document.documentElement;
  if (root.dataset.theme === "light" || root.dataset.theme === "dark") return;
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  root.setAttribute("data-bs-theme", dark ? "dark" : "light");
})();
