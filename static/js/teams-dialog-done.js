// The last page of the ticket dialog: hand the new ticket's number to the bot (task/submit), which
// closes the dialog; the bot then posts the ticket's card in the chat. Outside Teams the page stays.
(function () {
  "use strict";
  var root = document.getElementById("teams-dialog-done");
  if (!root || typeof microsoftTeams === "undefined") return;
  var ticket = parseInt(root.dataset.ticket, 10);
  var botId = root.dataset.botId;
  microsoftTeams.app
    .initialize()
    .then(function () {
      microsoftTeams.dialog.url.submit({ ticket: ticket }, botId ? [botId] : undefined);
    })
    .catch(function () { /* not inside Teams: the page with its link stays */ });
})();
