// The Teams sign-in popup: the start page posts the Microsoft sign-in form at once; the end page
// tells Teams how it went, which closes the popup and resumes the tab.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit-form]");
  if (form) {
    form.submit();
    return;
  }
  var result = document.querySelector("[data-auth-result]");
  if (!result || typeof microsoftTeams === "undefined") return;
  microsoftTeams.app.initialize().then(function () {
    if (result.dataset.authResult === "success") microsoftTeams.authentication.notifySuccess("signed-in");
    else microsoftTeams.authentication.notifyFailure("sign-in-failed");
  });
})();
