// The model view: what searches with now (or why nothing does), a model folder to install, or
// the one explicit download MedShelf ever makes, with its progress.
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api } from "../api";
import { describe } from "../problem";
import { onDownload } from "./ingest";
import { loadStatus } from "./status";
import { $, onShow, onStatus, showView, state } from "./state";

onShow("model", renderModelState);
onStatus(() => {
  if (state.view === "model") renderModelState();
});
onDownload(showDownload);

function renderModelState() {
  const s = state.status;
  $("model-state").textContent = s?.model
    ? `In use now: ${s.model.name} (${s.model.dim} dimensions).`
    : (s?.model_error ?? "No model is installed: MedShelf searches by keywords only, and works fully that way.");
}

$("model-import").addEventListener("click", async () => {
  const err = $("model-error");
  err.hidden = true;
  const dir = await openDialog({ directory: true, title: "Choose the model folder" });
  if (!dir || Array.isArray(dir)) return;
  const button = $<HTMLButtonElement>("model-import");
  button.disabled = true;
  button.textContent = "Checking the model…";
  try {
    const info = await api.importModel(dir);
    await loadStatus();
    $("model-state").textContent = `Installed: ${info.name} (${info.dim} dimensions). Searching by meaning now.`;
  } catch (e) {
    err.textContent = `This folder cannot be used: ${describe(e)}`;
    err.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = "Choose model folder…";
  }
});

$("model-fetch").addEventListener("click", async () => {
  const err = $("model-error");
  err.hidden = true;
  const button = $<HTMLButtonElement>("model-fetch");
  button.disabled = true;
  button.textContent = "Downloading…";
  $("model-download").hidden = false;
  $("model-download-text").textContent = "Asking the hub…";
  try {
    const info = await api.fetchModel();
    await loadStatus();
    $("model-state").textContent = `Installed: ${info.name} (${info.dim} dimensions), every file verified. Searching by meaning now.`;
  } catch (e) {
    err.textContent = `The download did not complete: ${describe(e)}`;
    err.hidden = false;
  } finally {
    $("model-download").hidden = true;
    button.disabled = false;
    button.textContent = "Download MedEmbed-small-v0.1";
  }
});

function showDownload(file: string, done: number, size: number) {
  const bar = $<HTMLProgressElement>("model-download-bar");
  bar.max = Math.max(1, size);
  bar.value = done;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  $("model-download-text").textContent = `${file}: ${mb(done)} of ${mb(size)} MB`;
}

$("model-skip").addEventListener("click", () => {
  localStorage.setItem("medshelf.model-screen-seen", "1");
  showView("search");
});
$("notice-action").addEventListener("click", () => showView("model"));
