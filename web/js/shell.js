// The page frame: tabs, the offline and error banners, a toast. Both pages use it.
import { el, onConnection } from "./api.js";

export function createShell() {
  const tabs = document.getElementById("tabs");
  const main = document.getElementById("main");
  const panels = [];
  const shell = {
    add(id, label, panel) {
      const btn = el("button", { role: "tab", id: `tab-${id}`, "aria-controls": `panel-${id}`,
        "aria-selected": "false", tabindex: "-1", text: label, onclick: () => shell.show(id) });
      panel.id = `panel-${id}`;
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", `tab-${id}`);
      panel.hidden = true;
      tabs.append(btn);
      main.append(panel);
      panels.push({ id, btn, panel });
      if (panels.length === 1) shell.show(id);
    },
    show(id) {
      for (const p of panels) {
        const on = p.id === id;
        p.btn.setAttribute("aria-selected", String(on));
        p.btn.tabIndex = on ? 0 : -1;
        p.panel.hidden = !on;
        if (on) p.panel.dispatchEvent(new Event("shown"));
      }
    },
    error(msg) {
      document.getElementById("error-text").textContent = msg;
      document.getElementById("error").classList.add("show");
    },
    /** Asks before something that cannot be undone; resolves to true for `ok`. */
    confirm(message, { ok = "OK", danger = false } = {}) {
      return new Promise((resolve) => {
        const dlg = document.getElementById("confirm") || document.body.appendChild(el("dialog", { id: "confirm",
          class: "card dialog", "aria-labelledby": "confirm-text" }));
        const yes = el("button", { class: `btn ${danger ? "danger" : "primary"}`, id: "confirm-ok", text: ok, value: "ok" });
        const no = el("button", { class: "btn", id: "confirm-cancel", text: "Cancel", value: "cancel" });
        const form = el("form", { method: "dialog" }, el("p", { id: "confirm-text", text: message }),
          el("div", { class: "row end" }, no, yes));
        dlg.replaceChildren(form);
        dlg.onclose = () => resolve(dlg.returnValue === "ok");
        dlg.returnValue = "";
        dlg.showModal();
        no.focus();
      });
    },
    toast(msg) {
      const t = document.getElementById("toast");
      t.textContent = msg;
      t.classList.add("show");
      clearTimeout(t._h);
      t._h = setTimeout(() => t.classList.remove("show"), 2200);
    },
  };
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  tabs.addEventListener("keydown", (e) => {
    const i = panels.findIndex((p) => p.btn === document.activeElement);
    if (i < 0 || !["ArrowLeft", "ArrowRight"].includes(e.key)) return;
    const n = panels[(i + (e.key === "ArrowRight" ? 1 : panels.length - 1)) % panels.length];
    shell.show(n.id);
    n.btn.focus();
  });
  document.getElementById("error-close").addEventListener("click", () =>
    document.getElementById("error").classList.remove("show"));
  const offline = document.getElementById("offline");
  const setOnline = (ok) => offline.classList.toggle("show", !ok);
  onConnection(setOnline);
  addEventListener("offline", () => setOnline(false));
  addEventListener("online", () => setOnline(true));
  if (!navigator.onLine) setOnline(false);
  return shell;
}
