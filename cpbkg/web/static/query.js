/* CPB-KG query page: YASGUI on this server's /sparql, with the example queries of queries/*.rq.
 *
 * Offline and private by configuration: YASGUI's "class" and "property" autocompleters ask the
 * Linked Open Vocabularies service on another host, so only "prefixes" (from the list bundled in
 * yasgui.min.js; prefixCcApi stays null) and "variables" are enabled, and two completers of our
 * own take their place with the classes and properties this dataset uses (listed in the page);
 * the endpoint list offers only this server's endpoint; tabs are not persisted in localStorage.
 *
 * Results: a resource is shown by its prefixed name (the query's prefixes and the dataset's) and
 * its label, fetched from this server (/query/labels), and links to its page here. Share links
 * are /query?query=... on this server, which YASGUI reads back (populateFromUrl).
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
  var config = readJson("cpbkg-query-config", {});
  var holder = document.getElementById("yasgui");
  var Yasgui = window.Yasgui;
  if (!holder || !Yasgui) return;
  holder.removeAttribute("hidden");
  var noscript = document.getElementById("editor-fallback");
  if (noscript) noscript.setAttribute("hidden", "");

  var endpoint = new URL("/sparql", window.location.href).href;
  var lang = config.lang || "en";
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasgui.Yasqe.defaults.prefixCcApi = null;
  // the classes and properties of this dataset, in place of LOV's: bulk lists from the page, never fetched
  var terms = config.terms || {};
  if (Yasgui.Yasqe.forkAutocompleter && Yasgui.Yasqe.Autocompleters) {
    [["class", "cpbkg-classes"], ["property", "cpbkg-properties"]].forEach(function (pair) {
      if (!Yasgui.Yasqe.Autocompleters[pair[0]]) return;
      Yasgui.Yasqe.forkAutocompleter(pair[0], {
        name: pair[1], bulk: true, persistenceId: null, autoShow: true,
        get: function () { return (terms[pair[0]] || []).slice(); }
      });
    });
  }
  Yasgui.Yasqe.defaults.value = initial || (queries.length ? queries[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10");
  // share links: this page with the query, which opens it again
  Yasgui.Yasqe.defaults.createShareableLink = function (yasqe) {
    var url = new URL("/query", window.location.href);
    url.searchParams.set("query", yasqe.getValue());
    if (config.explicitLang) url.searchParams.set("lang", lang);
    return url.href;
  };
  // keyboard: Esc leaves the editor for its run button (Tab inside the editor indents)
  Yasgui.Yasqe.defaults.extraKeys = Object.assign({}, Yasgui.Yasqe.defaults.extraKeys, {
    Esc: function (cm) {
      var panel = cm.getWrapperElement().closest(".tabPanel");
      var run = panel && panel.querySelector(".yasqe_queryButton");
      cm.getInputField().blur();
      if (run) run.focus();
    }
  });

  // ---------------------------------------------------------------- results: labels, prefixed names, local links
  var labels = {};
  var base = config.base || "";
  var sitePrefixes = config.prefixes || {};
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function prefixed(iri, prefixes) {
    var all = Object.assign({}, sitePrefixes, prefixes || {});
    var best = null;
    Object.keys(all).forEach(function (p) {
      var ns = all[p];
      if (ns && iri.indexOf(ns) === 0 && /^[\w.\-()%]*$/.test(iri.slice(ns.length)) && (!best || ns.length > all[best].length)) best = p;
    });
    if (best !== null) return best + ":" + iri.slice(all[best].length);
    if (base && iri.indexOf(base + "id/") === 0) return "id:" + iri.slice(base.length + 3);
    return "<" + iri + ">";
  }
  function fetchLabels(results) {
    var wanted = [];
    if (!results || !results.getBindings) return Promise.resolve();
    (results.getBindings() || []).forEach(function (row) {
      Object.keys(row).forEach(function (k) {
        var term = row[k];
        if (term && term.type === "uri" && !(term.value in labels) && wanted.indexOf(term.value) < 0) wanted.push(term.value);
      });
    });
    if (!wanted.length) return Promise.resolve();
    // the page's language: chosen in its URL (then the links keep it), else the browser's
    var url = config.labels + (config.explicitLang ? "?lang=" + encodeURIComponent(lang) : "");
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ iris: wanted.slice(0, 2000) }) })
      .then(function (r) { return r.ok ? r.json() : { labels: {} }; })
      .then(function (data) {
        wanted.forEach(function (iri) { labels[iri] = (data.labels || {})[iri] || null; });
      })
      .catch(function () { /* labels are a help; the table shows without them */ });
  }
  var Table = Yasgui.Yasr && Yasgui.Yasr.plugins && Yasgui.Yasr.plugins.table;
  if (Table) {
    class LabelledTable extends Table {
      draw(persistentConfig) {
        var self = this;
        return fetchLabels(this.yasr.results).then(function () { return Table.prototype.draw.call(self, persistentConfig); });
      }
      getUriLinkFromBinding(binding, prefixes) {
        var iri = binding.value;
        var found = labels[iri];
        var local = found && found.href && found.href.charAt(0) === "/";
        var href = found && found.href ? found.href : iri;
        var shown = prefixed(iri, prefixes);
        var link = "<a class='iri' href='" + escapeHtml(href) + "'" +
          (local ? "" : " target='_blank' rel='noopener noreferrer'") + ">" + escapeHtml(shown) + "</a>";
        if (found && found.label && found.label !== shown) {
          link += " <span class='iri-label'" + (found.lang ? " lang='" + escapeHtml(found.lang === "zh" ? "zh-Hans" : found.lang) + "'" : "") + ">" +
            escapeHtml(found.label) + "</span>";
        }
        return link;
      }
    }
    Yasgui.Yasr.registerPlugin("table", LabelledTable);
  }

  var yasgui = new Yasgui(holder, {
    autofocus: false,  // the page starts at the top for keyboard users, not inside the editor
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: true,  // /query?query=... (a share link, a resource page's "open in the query editor")
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
