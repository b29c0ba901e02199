// Progressive enhancement only: every feature here has a plain-HTML fallback.
(function () {
  "use strict";

  var root = document.documentElement;
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var THEME_ICONS = { light: "bi-sun-fill", dark: "bi-moon-stars-fill", auto: "bi-circle-half" };

  function applyTheme(theme) {
    root.dataset.theme = theme;
    var effective = theme === "auto" ? (darkQuery && darkQuery.matches ? "dark" : "light") : theme;
    root.setAttribute("data-bs-theme", effective);
    document.querySelectorAll("[data-theme-icon]").forEach(function (icon) {
      icon.classList.remove("bi-sun-fill", "bi-moon-stars-fill", "bi-circle-half");
      icon.classList.add(THEME_ICONS[theme]);
    });
    document.querySelectorAll("[data-theme-form] button[name=theme]").forEach(function (button) {
      button.classList.toggle("active", button.value === theme);
    });
  }

  if (darkQuery) {
    darkQuery.addEventListener("change", function () {
      if (root.dataset.theme === "auto") applyTheme("auto");
    });
  }

  // Colour mode: switch at once, remember on the server; without JavaScript the form posts normally.
  document.querySelectorAll("[data-theme-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !window.fetch) return;
      event.preventDefault();
      applyTheme(button.value);
      var body = new FormData(form);
      body.set("theme", button.value);
      fetch(form.action, { method: "POST", body: body, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    });
  });

  // Files over the upload limit are refused before the form is sent: the server could not read such a
  // request and would answer with an error page instead of the form with what was typed.
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var limit = Number(input.dataset.maxBytes);
      var tooLarge = Array.prototype.filter.call(input.files, function (file) { return file.size > limit; });
      var names = tooLarge.map(function (file) { return file.name; }).join(", ");
      input.setCustomValidity(tooLarge.length ? input.dataset.tooLarge + " " + names : "");
      if (tooLarge.length) input.reportValidity();
    });
  });

  // Selects marked data-autosubmit filter as soon as they change.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The reply form shows clearly when it is about to save an internal note.
  document.querySelectorAll("[data-reply-form]").forEach(function (form) {
    var toggle = form.querySelector("input[name=is_internal]");
    var submit = form.querySelector("[data-reply-submit]");
    if (!toggle || !submit) return;
    var update = function () {
      form.classList.toggle("is-internal", toggle.checked);
      submit.querySelector("span").textContent = toggle.checked ? submit.dataset.labelInternal : submit.dataset.labelPublic;
      submit.classList.toggle("btn-warning", toggle.checked);
      submit.classList.toggle("btn-primary", !toggle.checked);
    };
    toggle.addEventListener("change", update);
    update();
  });

  // Paste screenshots: an image on the clipboard is added to the form's file input.
  document.querySelectorAll("form[data-paste-target]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var previews = form.querySelector(".paste-previews");
    if (!input || !previews || typeof DataTransfer === "undefined") return;
    var hint = form.querySelector(".paste-hint");
    if (hint) hint.classList.remove("d-none");

    function setFiles(files) {
      var transfer = new DataTransfer();
      files.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
    }

    function renderPreviews() {
      previews.replaceChildren();
      Array.prototype.forEach.call(input.files, function (file, index) {
        if (!file.type || file.type.indexOf("image/") !== 0) return;
        var item = document.createElement("div");
        item.className = "paste-preview";
        var img = document.createElement("img");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn btn-sm btn-danger rounded-circle";
        remove.setAttribute("aria-label", "×");
        remove.textContent = "×";
        remove.addEventListener("click", function () {
          var files = Array.prototype.slice.call(input.files);
          files.splice(index, 1);
          setFiles(files);
          renderPreviews();
        });
        item.append(img, remove);
        previews.append(item);
      });
    }

    input.addEventListener("change", renderPreviews);
    form.addEventListener("paste", function (event) {
      var items = (event.clipboardData && event.clipboardData.items) || [];
      var pasted = [];
      Array.prototype.forEach.call(items, function (item) {
        if (item.kind === "file" && item.type.indexOf("image/") === 0) {
          var blob = item.getAsFile();
          var stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
          var ext = item.type === "image/jpeg" ? "jpg" : item.type.split("/")[1];
          pasted.push(new File([blob], "screenshot-" + stamp + "-" + (pasted.length + 1) + "." + ext, { type: item.type }));
        }
      });
      if (!pasted.length) return;
      event.preventDefault();
      setFiles(Array.prototype.slice.call(input.files).concat(pasted));
      renderPreviews();
    });
  });

  // Problem-source search: type part of a name, pick one of the matches (tickets.widgets). Without
  // JavaScript the "browse" button next to the box opens the tree instead.
  document.querySelectorAll("[data-source-search]").forEach(function (box) {
    var text = box.querySelector("[data-source-text]");
    var value = box.querySelector("[data-source-value]");
    var list = box.querySelector(".source-search-results");
    if (!text || !value || !list || !window.fetch) return;
    var timer = null;
    var active = -1;
    var chosenText = text.value;

    function close() {
      list.classList.remove("show");
      text.setAttribute("aria-expanded", "false");
      active = -1;
    }

    function choose(item) {
      value.value = item.dataset.id;
      text.value = chosenText = item.textContent;
      close();
      var form = box.closest("form");
      if (form && form.hasAttribute("data-autosubmit")) form.submit();
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.classList.toggle("active", i === active);
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      text.setAttribute("aria-activedescendant", items[active].id);
    }

    function show(results) {
      list.replaceChildren();
      results.forEach(function (result, index) {
        var item = document.createElement("li");
        item.className = "dropdown-item text-wrap" + (result.active ? "" : " text-body-secondary");
        item.id = text.id + "-option-" + index;
        item.setAttribute("role", "option");
        item.dataset.id = result.id;
        item.textContent = result.path;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
        list.appendChild(item);
      });
      list.classList.toggle("show", results.length > 0);
      text.setAttribute("aria-expanded", results.length > 0 ? "true" : "false");
      active = -1;
    }

    text.addEventListener("input", function () {
      clearTimeout(timer);
      var query = text.value.trim();
      if (!query) {
        value.value = "";
        show([]);
        return;
      }
      timer = setTimeout(function () {
        fetch(box.dataset.sourceSearch + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) { if (text.value.trim() === query) show(data.results); })
          .catch(function () { show([]); });
      }, 150);
    });
    text.addEventListener("keydown", function (event) {
      var open = list.classList.contains("show");
      if (event.key === "ArrowDown" && open) { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp" && open) { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(list.querySelectorAll("[role=option]")[active]);
      } else if (event.key === "Escape") { close(); }
    });
    text.addEventListener("blur", function () {
      close();
      if (text.value.trim() && value.value) text.value = chosenText;  // typed but not chosen: keep the choice
    });
  });
})();
