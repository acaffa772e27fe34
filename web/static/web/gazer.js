// Gazer's pages work without this file. It adds three things, all plain GET requests
// to pages or fragments the server renders: the profile's progress panel polls until
// the pipeline is done and then the finished profile replaces the page's content; the
// heatmap's form redraws the map in place instead of reloading the page; the kindred
// developers (the slowest read) are pulled in after the page has loaded.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function get(url) {
    return fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" }).then(
      function (response) {
        if (!response.ok) throw new Error(url + ": " + response.status);
        return response.text();
      }
    );
  }

  // ------------------------------------------------------------------ progress
  function pollProgress() {
    var panel = document.getElementById("progress");
    if (!panel || !panel.dataset.poll) return;
    var url = panel.dataset.poll;
    window.setTimeout(function () {
      get(url)
        .then(function (html) {
          var fresh = parse(html).getElementById("progress");
          if (!fresh) return;
          if (fresh.dataset.state === "ready" || fresh.dataset.state === "failed") {
            return showFinished();
          }
          var current = document.getElementById("progress");
          if (current) current.replaceWith(document.importNode(fresh, true));
          pollProgress();
        })
        .catch(function () {
          pollProgress();
        });
    }, POLL_MS);
  }

  function showFinished() {
    // The whole finished page, swapped in: no reload, nothing in flight is cancelled.
    return get(window.location.href).then(function (html) {
      var page = parse(html);
      var main = page.getElementById("main");
      if (!main) return window.location.reload();
      document.getElementById("main").replaceWith(document.importNode(main, true));
      document.title = page.title;
      init();
    });
  }

  // ------------------------------------------------------------------ heatmap
  function bindHeatmap() {
    var form = document.getElementById("hm-form");
    if (!form || form.dataset.bound) return;
    form.dataset.bound = "1";
    form.classList.add("js");
    var repo = form.elements.repo;
    var language = form.elements.language;
    function redraw(event) {
      if (event && event.target === repo && repo.value) language.value = "";
      if (event && event.target === language && language.value) repo.value = "";
      var query = new URLSearchParams(new FormData(form));
      if (query.get("mode") === "repos") query.delete("mode");
      if (!query.get("repo")) query.delete("repo");
      if (!query.get("language")) query.delete("language");
      var qs = query.toString();
      get(form.dataset.fragment + (qs ? "?" + qs : "")).then(function (html) {
        var fresh = parse(html).getElementById("hm-figure");
        var figure = document.getElementById("hm-figure");
        if (!fresh || !figure) return;
        ["mode", "repo", "language"].forEach(function (key) {
          figure.dataset[key] = fresh.dataset[key] || "";
        });
        [".hm-scroll", ".hm-legend", ".hm-summary"].forEach(function (sel) {
          var from = fresh.querySelector(sel);
          var to = figure.querySelector(sel);
          if (from && to) to.replaceWith(document.importNode(from, true));
        });
        scrollToEnd();
        var url = window.location.pathname + (qs ? "?" + qs : "") + "#activity";
        window.history.replaceState(null, "", url);
      });
    }
    form.addEventListener("change", redraw);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      redraw();
    });
  }

  function scrollToEnd() {
    var box = document.querySelector(".hm-scroll");
    if (box) box.scrollLeft = box.scrollWidth;
  }

  // ------------------------------------------------------------------ kindred
  function loadKindred() {
    var section = document.getElementById("kindred");
    if (!section || !section.dataset.fragment || section.dataset.loaded) return;
    section.dataset.loaded = "1";
    section.setAttribute("aria-busy", "true");
    get(section.dataset.fragment)
      .then(function (html) {
        var list = parse(html).querySelector(".kindred-list");
        var wait = section.querySelector(".kindred-wait");
        if (list && wait) wait.replaceWith(document.importNode(list, true));
      })
      .catch(function () {})
      .then(function () {
        section.removeAttribute("aria-busy");
      });
  }

  function init() {
    loadKindred();
    bindHeatmap();
    scrollToEnd();
    pollProgress();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
