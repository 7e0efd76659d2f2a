// Runs the npm package `libretranslate` (pinned in package.json) against a server, unchanged, and prints every
// HTTP exchange it made as one JSON line, then its result: node client.mjs BASE_URL "text to translate"
import { createRequire } from "node:module";
const { translate } = createRequire(import.meta.url)("libretranslate");

const [apiurl, query] = process.argv.slice(2);
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const response = await realFetch(url, init);
  const body = await response.clone().text();
  console.log(JSON.stringify({ sent: { method: init.method || "GET", url: String(url), body: init.body ?? null }, got: { status: response.status, body } }));
  return response;
};
const result = await translate({ query, source: "en", target: "es", apiurl });
console.log(JSON.stringify({ result }));
