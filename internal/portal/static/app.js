// lockgate portal: progressive enhancement only. Every action is a form
// that works without this file; it adds passkeys (which need the WebAuthn
// API), the countdown of timed unlocks and live attempts.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : "{}"
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.message || ("HTTP " + r.status)); }
        return j;
      });
    });
  }

  function status(msg) {
    var s = document.getElementById("passkey-status");
    if (s) { s.textContent = msg; }
  }

  var webauthn = window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  if (webauthn) {
    document.querySelectorAll(".js-only").forEach(function (e) { e.hidden = false; });
    document.querySelectorAll(".needs-js").forEach(function (e) { e.hidden = true; });
  }

  var signin = document.getElementById("passkey-signin");
  if (signin && webauthn) {
    signin.addEventListener("click", function () {
      status("Waiting for your passkey…");
      post("/portal/passkey/login/begin").then(function (opts) {
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey) });
      }).then(function (cred) {
        return post("/portal/passkey/login/finish", cred.toJSON());
      }).then(function (res) {
        window.location.assign(res.redirect);
      }).catch(function (err) {
        status("Sign-in with a passkey did not work: " + err.message);
      });
    });
  }

  var register = document.getElementById("passkey-register");
  if (register && webauthn) {
    register.addEventListener("click", function () {
      status("Follow your browser's steps to create the passkey…");
      post("/portal/passkey/register/begin").then(function (opts) {
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) });
      }).then(function (cred) {
        return post("/portal/passkey/register/finish", cred.toJSON());
      }).then(function (res) {
        window.location.assign(res.redirect);
      }).catch(function (err) {
        status("The passkey was not created: " + err.message);
      });
    });
  }

  // Timed unlocks: the end in local time, and the time left, each second.
  function two(n) { return (n < 10 ? "0" : "") + n; }
  document.querySelectorAll("time[data-countdown]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    t.textContent = two(d.getHours()) + ":" + two(d.getMinutes());
  });
  var lefts = document.querySelectorAll("[data-left-for]");
  function tick() {
    var now = Date.now(), ended = false;
    lefts.forEach(function (e) {
      var ms = new Date(e.getAttribute("data-left-for")).getTime() - now;
      if (ms <= 0) { e.textContent = "relocking now"; ended = true; return; }
      var s = Math.floor(ms / 1000);
      e.textContent = Math.floor(s / 60) + ":" + two(s % 60) + " left";
    });
    if (ended) { setTimeout(function () { window.location.reload(); }, 2000); return; }
    setTimeout(tick, 1000);
  }
  if (lefts.length) { tick(); }

  // Live attempts: new rows appear at the top. Text only, never markup:
  // the values come from integrations and are not trusted.
  var table = document.querySelector("table[data-live]");
  if (table) {
    var body = table.tBodies[0];
    var newest = function () {
      var r = body.querySelector("tr[data-id]");
      return r ? r.getAttribute("data-id") : "";
    };
    var poll = function () {
      fetch(table.getAttribute("data-live") + "?after=" + encodeURIComponent(newest()), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (j) {
          var empty = body.querySelector("tr.empty");
          if (j.items.length && empty) { empty.remove(); }
          j.items.slice().reverse().forEach(function (a) {
            var tr = document.createElement("tr");
            tr.setAttribute("data-id", a.id);
            tr.className = "fresh" + (a.locked ? " locked" : "");
            var d = new Date(a.at);
            [d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"), a.app, a.username, a.ip, a.country, a.device, a.locked ? "locked" : "unlocked"]
              .forEach(function (v) { var td = document.createElement("td"); td.textContent = v || ""; tr.appendChild(td); });
            body.insertBefore(tr, body.firstChild);
          });
        })
        .catch(function () {})
        .then(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 3000);
  }
})();
