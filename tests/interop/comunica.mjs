// Run a SPARQL query with Comunica over the given sources (a CPB-KG /sparql endpoint, RDF files).
// usage: node comunica.mjs QUERY SOURCE...   (a source ending in /sparql is a SPARQL endpoint)
// prints {"rows": N} (bindings) or {"triples": N} (CONSTRUCT), or {"error": message} and exits 1.
import { QueryEngine } from "@comunica/query-sparql";

const [query, ...urls] = process.argv.slice(2);
const sources = urls.map((url) => (url.endsWith("/sparql") ? { type: "sparql", value: url } : url));
const engine = new QueryEngine();
try {
  const result = await engine.query(query, { sources, lenient: false });
  let count = 0;
  const stream = await result.execute();
  await new Promise((resolve, reject) => {
    stream.on("data", () => { count += 1; });
    stream.on("error", reject);
    stream.on("end", resolve);
  });
  process.stdout.write(JSON.stringify(result.resultType === "quads" ? { triples: count } : { rows: count }) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error && error.stack || error).slice(0, 2000) }) + "\n");
  process.exit(1);
}
