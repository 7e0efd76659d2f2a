// The page is the LibreTranslate API's first client: it reads /frontend/settings and posts to /translate.
"use strict";
const $ = (id) => document.getElementById(id);
let settings = null;

async function loadSettings() {
  const response = await fetch("frontend/settings");
  settings = await response.json();
  const { source, target } = settings.language || {};
  if (source && target) $("pair").textContent = `${source.name} → ${target.name}`;
  $("model").textContent = `model ${settings.model} · decoder ${settings.decoder}`;
  $("source").maxLength = settings.charLimit;
  if (settings.maxAlternatives > 0) {
    for (let n = 0; n <= settings.maxAlternatives; n++) $("alternatives").add(new Option(String(n), String(n)));
    $("alternatives-label").hidden = false;
  }
  $("api-key-label").hidden = !settings.keyRequired;
  document.body.dataset.ready = "true";
}

async function translate(event) {
  event.preventDefault();
  if (!settings || !settings.language) { showError("this server does not know its model's language codes"); return; }
  const body = {
    q: $("source").value,
    source: settings.language.source.code,
    target: settings.language.target.code,
    format: "text",
    alternatives: Number($("alternatives").value || 0),
  };
  if (settings.keyRequired) body.api_key = $("api-key").value;
  $("translate").disabled = true;
  $("error").hidden = true;
  const started = performance.now();
  try {
    const response = await fetch("translate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) { showError(answer.error || `HTTP ${response.status}`); return; }
    $("result").textContent = answer.translatedText;
    const list = $("alternatives-list");
    list.replaceChildren(...(answer.alternatives || []).map((text) => Object.assign(document.createElement("li"), { textContent: text })));
    const server = /dur=([\d.]+)/.exec(response.headers.get("Server-Timing") || "");
    const total = performance.now() - started;
    $("timing").textContent = `${settings.decoder} · server ${server ? Number(server[1]).toFixed(1) : "?"} ms · round trip ${total.toFixed(0)} ms`;
  } catch (error) {
    showError(String(error));
  } finally {
    $("translate").disabled = false;
  }
}

function showError(message) {
  $("result").textContent = "";
  $("error").textContent = message;
  $("error").hidden = false;
}

$("form").addEventListener("submit", translate);
loadSettings().catch((error) => showError(`cannot read the server's settings: ${error}`));
