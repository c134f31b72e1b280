// Runs before first paint (a plain script in <head>): applies the saved theme so the page
// never flashes in the wrong colours.
(function () {
  try {
    var p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
    var t = p.theme || "system";
    if (t === "system") t = matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
    document.documentElement.dataset.theme = t;
  } catch (e) {
    document.documentElement.dataset.theme = "dark";
  }
})();
