// Parts of a page loaded after it is shown, so the page itself stays within its few queries: every
// element with data-fragment-url is filled with the server's HTML fragment (rendered by our
// auto-escaping templates, forms with their CSRF tokens). Without JavaScript its fallback link stays.
(function () {
  "use strict";
  document.querySelectorAll("[data-fragment-url]").forEach(function (element) {
    fetch(element.dataset.fragmentUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        element.innerHTML = html;
      })
      .catch(() => {});
  });
})();
