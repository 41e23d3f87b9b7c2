/* CPB-KG API documentation: the vendored Swagger UI on this server's OpenAPI description.
 * validatorUrl null: no badge fetched from the online validator (the only remote look-up). */
(function () {
  "use strict";
  var el = document.getElementById("api-docs-config");
  var config = {};
  try { config = JSON.parse(el ? el.textContent : "{}"); } catch (e) { config = {}; }
  if (!window.SwaggerUIBundle) return;
  window.cpbkgApiDocs = window.SwaggerUIBundle({
    url: config.url || "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
