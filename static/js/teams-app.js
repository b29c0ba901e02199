// Pages of the app inside the Teams tab (/teams/app/...): follow Teams' theme while the tab is open.
(function () {
  "use strict";
  if (typeof microsoftTeams === "undefined") return;
  var THEMES = { default: "light", dark: "dark", contrast: "dark" };
  var meta = document.querySelector("meta[name=teams-theme-url]");
  var csrf = document.querySelector("meta[name=csrf-token]");
  microsoftTeams.app.initialize().then(function () {
    microsoftTeams.app.registerOnThemeChangeHandler(function (theme) {
      document.documentElement.setAttribute("data-bs-theme", THEMES[theme] || "light");
      document.documentElement.classList.toggle("teams-contrast", theme === "contrast");
      if (meta && csrf) {
        var body = new FormData();
        body.set("theme", theme);
        fetch(meta.content, { method: "POST", body: body, headers: { "X-CSRFToken": csrf.content }, credentials: "same-origin" });
      }
    });
  }).catch(function () { /* opened outside Teams: nothing to follow */ });
})();
