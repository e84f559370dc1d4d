// The dashboard's only script (served from /static, no library): it takes the pushed updates
// (server-sent events from /events) and sends the controls with the page's token.
(function () {
  "use strict";
  var query = new URLSearchParams(window.location.search);
  var access = query.get("token") || "";  // the configured status.token, when the page was opened with it
  var embedded = document.getElementById("control-token");
  var token = access || (embedded ? embedded.value : "");
  var live = document.getElementById("live");
  var conn = document.getElementById("conn");
  var result = document.getElementById("control-result");
  var state = { loadedAt: Date.now(), updates: 0, seq: null, sentMs: null, receivedMs: null };
  window.traderDashboard = state;

  function withToken(path) {
    return access ? path + "?token=" + encodeURIComponent(access) : path;
  }

  function connect() {
    var source = new EventSource(withToken("events"));
    source.addEventListener("update", function (ev) {
      var doc = JSON.parse(ev.data);
      live.innerHTML = doc.html;  // escaped on the server; the CSP runs no inline script anyway
      document.title = doc.title;
      state.updates += 1;
      state.seq = doc.seq;
      state.sentMs = doc.sent_ms;
      state.receivedMs = Date.now();
      conn.textContent = "live";
      conn.className = "conn ok";
    });
    source.onerror = function () {
      conn.textContent = "reconnecting…";
      conn.className = "conn bad";
    };
  }

  var form = document.getElementById("controls");
  document.getElementById("control-reason").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); }  // Enter in the text box must not press a control
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var button = ev.submitter;
    if (!button) { return; }
    var action = button.getAttribute("formaction").split("/").pop();
    if ((action === "halt" || action === "flatten") && !window.confirm(button.textContent + "?")) { return; }
    var reason = document.getElementById("control-reason").value;
    var body = { reason: reason };
    if (button.name === "approval_id") { body.approval_id = button.value; }  // approve / reject name the entry
    result.textContent = action + "…";
    fetch(withToken("control/" + action), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Trader-Token": token },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json();
    }).then(function (doc) {
      var said = doc.approval_id !== undefined || doc.outcome === null
        ? (doc.outcome ? "entry " + doc.approval_id + " " + doc.outcome : "nothing done") + ": " + doc.detail
        : "trading is " + String(doc.risk_state || "?").toUpperCase();
      result.textContent = doc.ok ? action + " sent by " + doc.by + ": " + said : "refused: " + doc.error;
      result.className = doc.ok ? "muted" : "neg";
    }).catch(function (err) {
      result.textContent = "failed: " + err;
      result.className = "neg";
    });
  });

  connect();
}());
