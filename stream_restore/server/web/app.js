// The stream-restore web page: plain JavaScript, no build step, no cookies.
// Every API call carries the bearer token the user pasted (kept in sessionStorage for this tab only)
// in an Authorization header; bodies are JSON, so a cross-site page cannot forge them.
"use strict";

const TOKEN_KEY = "stream-restore-token";
const $ = (id) => document.getElementById(id);
let jobsOn = false;

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, options = {}) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  let body;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST", headers, body, credentials: "omit", cache: "no-store",
  });
  if (options.raw && response.ok) return response;
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

function say(text) { $("message").textContent = text || ""; }

function failed(error) {
  say(error.status === 401 ? "This server needs a token: paste it above. (" + error.message + ")"
                           : error.message);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "-" : String(text);
  row.appendChild(td);
  return td;
}

function entry(list, term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

// -- server -----------------------------------------------------------------------------------
async function refreshServer() {
  try {
    const health = await api("/api/health");
    $("health").textContent = health.status;
    $("health").className = "badge " + (health.status === "SERVING" ? "ok" : "bad");
  } catch (error) {
    $("health").textContent = "unreachable";
    $("health").className = "badge bad";
    return;
  }
  try {
    const info = await api("/api/info");
    const list = $("server-info");
    list.replaceChildren();
    entry(list, "version", info.version);
    entry(list, "device / backend", info.device + " / " + info.backend);
    entry(list, "backends", (info.backends || []).join(", "));
    entry(list, "streams", info.stream_slots.used + " of " + info.stream_slots.limit + " slots in use ("
          + info.streams_started + " started)");
    entry(list, "images", info.image_slots.used + " of " + info.image_slots.limit + " slots in use");
    entry(list, "engines loaded", (info.engines || []).map((e) => e.model + " (" + e.backend + ")").join(", ")
          || "none");
    entry(list, "largest input", info.limits.max_width + "x" + info.limits.max_height + ", "
          + info.limits.max_pixels + " pixels; images up to " + info.limits.max_image_bytes + " bytes");
    entry(list, "authentication", info.auth);
    $("server-info").dataset.activeStreams = info.stream_slots.used;
    if (info.jobs !== jobsOn) {
      jobsOn = info.jobs;
      $("jobs-off").hidden = jobsOn;
      $("job-form").hidden = !jobsOn;
      $("jobs").hidden = !jobsOn;
    }
    if (info.live) refreshLive();
    say("");
  } catch (error) {
    failed(error);
  }
}

// -- models -----------------------------------------------------------------------------------
async function loadModels() {
  let data;
  try {
    data = await api("/api/models");
  } catch (error) {
    failed(error);
    return;
  }
  const body = $("models").tBodies[0];
  body.replaceChildren();
  const selects = [$("model-select"), $("job-model")];
  const chosen = selects.map((s) => s.value);
  selects.forEach((s) => s.replaceChildren());
  for (const model of data.models) {
    const row = body.insertRow();
    row.dataset.model = model.name;
    const name = cell(row, "");
    name.className = "name";
    if (model.card) {
      const link = document.createElement("a");
      link.href = "#card";
      link.textContent = model.name;
      link.addEventListener("click", (event) => { event.preventDefault(); showCard(model.name); });
      name.appendChild(link);
    } else {
      name.textContent = model.name;
    }
    cell(row, model.task);
    cell(row, "x" + model.scale);
    cell(row, model.past_frames + "+1+" + model.future_frames + (model.recurrent ? " (recurrent)" : ""));
    cell(row, model.parameters === null ? "-" : model.parameters.toLocaleString("en"));
    cell(row, model.gflop_per_mpixel === null ? "-" : model.gflop_per_mpixel);
    cell(row, model.loaded ? "yes" : "no");
    cell(row, model.description);
    for (const select of selects) select.add(new Option(model.name, model.name));
  }
  const preferred = data.models.find((m) => m.name === "sr-fast-x2") || data.models[0];
  selects.forEach((s, i) => { s.value = chosen[i] || (preferred ? preferred.name : ""); });
}

async function showCard(name) {
  try {
    const data = await api("/api/models/" + encodeURIComponent(name) + "/card");
    $("card").textContent = data.card || name + " has no card.";
    $("card").hidden = false;
  } catch (error) {
    failed(error);
  }
}

// -- before / after ---------------------------------------------------------------------------
function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function restoreImage(event) {
  event.preventDefault();
  const file = $("image-file").files[0];
  if (!file) return;
  const model = $("model-select").value;
  $("restore-state").textContent = "restoring with " + model + "…";
  $("restore-button").disabled = true;
  try {
    const result = await api("/api/restore-image", { body: { model, image: base64(await file.arrayBuffer()) } });
    const after = $("after-image");
    after.dataset.width = result.width;
    after.dataset.height = result.height;
    after.src = "data:" + result.mime_type + ";base64," + result.image;
    $("before-image").src = URL.createObjectURL(file);
    $("after-caption").textContent = "right: " + model + ", " + result.width + "x" + result.height + " in "
      + result.seconds.toFixed(2) + " s";
    $("compare").hidden = false;
    slide();
    $("restore-state").textContent = "done";
    loadModels();  // the model is loaded now
  } catch (error) {
    $("restore-state").textContent = "failed";
    failed(error);
  } finally {
    $("restore-button").disabled = false;
  }
}

function slide() {
  const shown = Number($("slider").value);
  $("before-image").style.clipPath = "inset(0 " + (100 - shown) + "% 0 0)";
}

// -- jobs ---------------------------------------------------------------------------------------
async function refreshJobs() {
  if (!jobsOn) return;
  let data;
  try {
    data = await api("/api/jobs");
  } catch (error) {
    failed(error);
    return;
  }
  const body = $("jobs").tBodies[0];
  body.replaceChildren();
  for (const job of data.jobs) {
    const state = job.state.replace("JOB_STATE_", "").toLowerCase();
    const row = body.insertRow();
    row.dataset.id = job.id;
    row.dataset.state = state;
    cell(row, job.id);
    cell(row, job.input);
    cell(row, job.output);
    cell(row, state + (job.error ? ": " + job.error : ""));
    const progress = document.createElement("progress");
    progress.max = Math.max(1, Number(job.frames_total));
    progress.value = Number(job.frames_done);
    const td = cell(row, "");
    td.append(progress, " " + job.frames_done + " / " + job.frames_total + " frames");
    cell(row, Number(job.fps).toFixed(1));
    const actions = cell(row, "");
    if (state === "queued" || state === "running") actions.appendChild(button("cancel", () => jobAction(job.id, "cancel")));
    if (state === "cancelled" || state === "failed") actions.appendChild(button("resume", () => jobAction(job.id, "resume")));
    if (state === "done") actions.appendChild(button("download", () => download(job)));
  }
}

function button(text, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.className = text;
  b.addEventListener("click", action);
  return b;
}

async function jobAction(id, action) {
  try {
    await api("/api/jobs/" + encodeURIComponent(id) + "/" + action, { body: {} });
    refreshJobs();
  } catch (error) {
    failed(error);
  }
}

async function download(job) {
  try {
    const response = await api("/api/jobs/" + encodeURIComponent(job.id) + "/output", { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = job.output.split("/").pop();
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    failed(error);
  }
}

async function submitJob(event) {
  event.preventDefault();
  const inputs = $("job-inputs").value.split(",").map((s) => s.trim()).filter((s) => s);
  try {
    await api("/api/jobs", { body: {
      inputs, output_dir: $("job-output").value.trim(), model: { model: $("job-model").value },
      output: { preset: "veryfast" },
    } });
    say("");
    refreshJobs();
  } catch (error) {
    failed(error);
  }
}

// -- live sessions (the Live service; shown where the server allows live sources) ---------------
async function refreshLive() {
  try {
    const data = await api("/api/live");
    $("live-off").hidden = data.available;
    const list = $("live");
    list.replaceChildren();
    for (const s of data.sessions) {
      const item = document.createElement("li");
      item.textContent = s.id + ": " + s.source + " -> " + s.outputs.join(", ") + " (" + s.model + ", " + s.state
        + ", " + s.seconds + " s): in " + s.input_fps + " fps, out " + s.output_fps + " fps, dropped " + s.dropped
        + ", reconnects " + s.reconnects + ", latency p50/p95 " + s.latency_ms.join("/") + " ms"
        + (s.error ? " - " + s.error : "");
      list.appendChild(item);
    }
  } catch (error) {
    failed(error);
  }
}

// -- start ----------------------------------------------------------------------------------------
function useToken(event) {
  event.preventDefault();
  const value = $("token").value.trim();
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
  $("token").value = "";
  $("token-state").textContent = value ? "token set for this tab" : "no token";
  start();
}

function start() {
  loadModels();
  refreshServer().then(refreshJobs);
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", useToken);
  $("restore-form").addEventListener("submit", restoreImage);
  $("job-form").addEventListener("submit", submitJob);
  $("slider").addEventListener("input", slide);
  $("token-state").textContent = token() ? "token set for this tab" : "";
  start();
  setInterval(refreshServer, 2000);
  setInterval(refreshJobs, 1000);
  setInterval(() => { if ($("live-off").hidden) refreshLive(); }, 2000);
});
