// The Teams tab entry page: learn who and where we are from Teams, sign in with the Teams SSO token,
// then open the app under /teams/app/. Outside Teams the page simply goes to the normal site.
(function () {
  "use strict";
  var root = document.getElementById("teams-tab");
  if (!root) return;
  var data = root.dataset;
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var THEMES = { default: "light", dark: "dark", contrast: "dark" };

  function show(state, message) {
    root.querySelectorAll("[data-state]").forEach(function (el) { el.hidden = el.dataset.state !== state; });
    if (message) root.querySelector("[data-role=error]").textContent = message;
  }

  function target(context) {
    // A deep link from a notification carries "ticket-<id>" as the sub-page id.
    var sub = (context && context.page && context.page.subPageId) || "";
    var match = /^ticket-(\d+)$/.exec(sub);
    return match ? "/teams/app/tickets/" + match[1] + "/" : data.tabUrl;
  }

  function applyTheme(theme) {
    document.documentElement.setAttribute("data-bs-theme", THEMES[theme] || "light");
    document.documentElement.classList.toggle("teams-contrast", theme === "contrast");
  }

  function signIn(context) {
    var theme = (context.app && context.app.theme) || "default";
    return microsoftTeams.authentication.getAuthToken().then(function (token) {
      return fetch(data.ssoUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ token: token, theme: theme }),
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || response.statusText);
        });
      });
    });
  }

  function popupSignIn(context) {
    microsoftTeams.authentication
      .authenticate({ url: window.location.origin + data.authStartUrl, width: 600, height: 600 })
      .then(function () { window.location.assign(target(context)); })
      .catch(function (error) { show("failed", String(error && error.message ? error.message : error)); });
  }

  var outside = window.setTimeout(function () { window.location.replace(data.siteUrl); }, 4000);
  microsoftTeams.app
    .initialize()
    .then(function () { return microsoftTeams.app.getContext(); })
    .then(function (context) {
      window.clearTimeout(outside);
      applyTheme(context.app && context.app.theme);
      if (data.signedIn === "1" || data.ssoEnabled !== "1") {
        window.location.replace(target(context));
        return;
      }
      root.querySelector("[data-action=sign-in]").addEventListener("click", function () { popupSignIn(context); });
      return signIn(context)
        .then(function () { window.location.replace(target(context)); })
        .catch(function (error) { show("failed", String(error && error.message ? error.message : error)); });
    })
    .catch(function () {
      // Not inside Teams: behave like the normal site.
      window.clearTimeout(outside);
      window.location.replace(data.siteUrl);
    });
})();
