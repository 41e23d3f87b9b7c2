// Parse RDF documents of a running CPB-KG server with N3.js and rdflib.js, as other people's tools do.
// usage: node parse.mjs URL...   prints one JSON object: URL -> {contentType, n3, rdflib} where each
// parser's entry is the number of triples (or quads) it read, or {"error": message}.
import { Parser } from "n3";
import * as $rdf from "rdflib";

const N3_FORMATS = {
  "text/turtle": "text/turtle", "application/trig": "application/trig",
  "application/n-triples": "application/n-triples", "application/n-quads": "application/n-quads",
};
// rdflib.js reads N-Triples as the Turtle it is (it has no N-Triples media type of its own)
const RDFLIB_FORMATS = {
  "text/turtle": "text/turtle", "application/n-triples": "text/turtle",
  "application/rdf+xml": "application/rdf+xml", "application/n-quads": "application/n-quads",
};

function withN3(text, type, base) {
  const quads = new Parser({ format: N3_FORMATS[type], baseIRI: base }).parse(text);
  return quads.length;
}

// rdflib.js keeps an RDF list as one collection term: the triples are counted in its N-Triples
function withRdflib(text, type, base) {
  const store = $rdf.graph();
  return new Promise((resolve) => {
    $rdf.parse(text, store, base, RDFLIB_FORMATS[type], (error) => {
      if (error) { resolve({ error: String(error).slice(0, 500) }); return; }
      const nt = $rdf.serialize(null, store, base, "application/n-triples") || "";
      resolve(new Set(nt.split("\n").filter((line) => line.trim())).size);
    });
  });
}

async function attempt(run) {
  try { return await run(); } catch (error) { return { error: String(error).slice(0, 500) }; }
}

// every document is fetched before any is parsed: parsing a large one takes longer than the server
// keeps an idle connection open, and fetch would send the next request on a connection being closed
const fetched = [];
for (const url of process.argv.slice(2)) {
  const response = await fetch(url);
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  fetched.push({ url, status: response.status, type, text: await response.text() });
}
const out = {};
for (const { url, status, type, text } of fetched) {
  const entry = { status, contentType: type };
  if (N3_FORMATS[type]) entry.n3 = await attempt(() => withN3(text, type, url));
  if (RDFLIB_FORMATS[type]) entry.rdflib = await attempt(() => withRdflib(text, type, url));
  out[url] = entry;
}
process.stdout.write(JSON.stringify(out) + "\n");
