/* CPB-KG query page: YASGUI on this server's /sparql, with the example queries of queries/*.rq.
 *
 * Offline and private by configuration: YASGUI's "class" and "property" autocompleters ask the
 * Linked Open Vocabularies service on another host, so only "prefixes" (from the list bundled in
 * yasgui.min.js; prefixCcApi stays null) and "variables" are enabled; the endpoint list offers
 * only this server's endpoint; tabs are not persisted in localStorage across visits.
 */
(function () {
  "use strict";
  function readJson(id, fallback) {
    var el = document.getElementById(id);
    if (!el) return fallback;
    try { return JSON.parse(el.textContent); } catch (e) { return fallback; }
  }
  var queries = readJson("cpbkg-queries", []);
  var initial = readJson("cpbkg-initial-query", "");
  var holder = document.getElementById("yasgui");
  var Yasgui = window.Yasgui;
  if (!holder || !Yasgui) return;
  holder.removeAttribute("hidden");
  var noscript = document.getElementById("editor-fallback");
  if (noscript) noscript.setAttribute("hidden", "");

  var endpoint = new URL("/sparql", window.location.href).href;
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasgui.Yasqe.defaults.prefixCcApi = null;
  Yasgui.Yasqe.defaults.value = initial || (queries.length ? queries[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10");
  // keyboard: Esc leaves the editor for its run button (Tab inside the editor indents)
  Yasgui.Yasqe.defaults.extraKeys = Object.assign({}, Yasgui.Yasqe.defaults.extraKeys, {
    Esc: function (cm) {
      var panel = cm.getWrapperElement().closest(".tabPanel");
      var run = panel && panel.querySelector(".yasqe_queryButton");
      cm.getInputField().blur();
      if (run) run.focus();
    }
  });

  var yasgui = new Yasgui(holder, {
    autofocus: false,  // the page starts at the top for keyboard users, not inside the editor
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; }
    }
  });
  window.cpbkgYasgui = yasgui;

  function openQuery(q) {
    var tab = yasgui.addTab(true, { name: q.title.slice(0, 40), yasqe: { value: q.query },
                                    requestConfig: { endpoint: endpoint, method: "POST" } });
    if (tab && typeof tab.setQuery === "function" && tab.getYasqe && tab.getYasqe()) tab.setQuery(q.query);
  }
  var picker = document.getElementById("query-picker");
  var form = document.getElementById("query-picker-form");
  if (picker && form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = queries[picker.selectedIndex];
      if (q) openQuery(q);
    });
  }
  document.querySelectorAll("[data-open-query]").forEach(function (button) {
    button.removeAttribute("hidden");
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-open-query");
      for (var i = 0; i < queries.length; i++) {
        if (queries[i].name === name) { openQuery(queries[i]); holder.scrollIntoView(); break; }
      }
    });
  });
})();
