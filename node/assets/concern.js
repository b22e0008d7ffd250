// Kaitiaki community pages: raise a concern from the browser.
//
// An enhancement only. The page already explains how to raise a concern
// with the `kaitiaki` command; this script shows the form instead only if
// the browser can make Ed25519 signatures itself (WebCrypto). It makes a
// new key for this one concern, signs a `concern.raise` statement exactly
// as PROTOCOL.md §3–4 describe (DSSE over the exact payload bytes), and
// posts it to this node. The key is not extractable and is never stored.
"use strict";
(function () {
  var form = document.getElementById("concern-form");
  var configNode = document.getElementById("concern-config");
  if (!form || !configNode || !window.crypto || !crypto.subtle || !window.fetch) return;
  var config = JSON.parse(configNode.textContent);
  var TYPE = "application/vnd.kaitiaki.statement.v1+json";
  var ALG = { name: "Ed25519" };

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function base64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }
  function say(result, text, href) {
    result.textContent = text;
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = " See your concern's record.";
      result.appendChild(a);
    }
  }

  // Only show the form if signing really works here.
  crypto.subtle.generateKey(ALG, false, ["sign", "verify"]).then(function () {
    form.hidden = false;
    var nojs = document.getElementById("concern-nojs");
    if (nojs) {
      var note = document.createElement("p");
      note.className = "small";
      note.textContent = "Or use the form below, which signs in your browser.";
      nojs.appendChild(note);
    }
  }, function () { /* No Ed25519 here: the written explanation stays. */ });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var result = document.getElementById("concern-result");
    var button = form.querySelector("button");
    var text = form.elements.text.value.replace(/\r\n?/g, "\n");
    if (!text.trim()) { say(result, "Please write your concern first."); return; }
    button.disabled = true;
    say(result, "Making a key and signing…");
    var keys;
    crypto.subtle.generateKey(ALG, false, ["sign", "verify"]).then(function (k) {
      keys = k;
      return crypto.subtle.exportKey("raw", k.publicKey);
    }).then(function (raw) {
      var author = hex(new Uint8Array(raw));
      // Outer members in the protocol's order, body members sorted by name.
      var payload = new TextEncoder().encode(JSON.stringify({
        network: config.network,
        author: author,
        created_at: new Date().toISOString(),
        kind: "concern.raise",
        body: { subject: config.subject, text: text }
      }));
      var prefix = new TextEncoder().encode("DSSEv1 " + TYPE.length + " " + TYPE + " " + payload.length + " ");
      return crypto.subtle.sign(ALG, keys.privateKey, concat(prefix, payload)).then(function (sig) {
        return {
          payloadType: TYPE,
          payload: base64(payload),
          signatures: [{ keyid: author, sig: base64(new Uint8Array(sig)) }]
        };
      });
    }).then(function (envelope) {
      say(result, "Sending…");
      return fetch("/v1/statements", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(envelope)
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (r) {
      if (r.ok) {
        form.elements.text.value = "";
        // The node answers with the leaf index, which counts from 0: people count from 1.
        say(result, "Thank you. Your concern is recorded as record " + (Number(r.body.index) + 1) + " in this node's log. Reload the page to see it.", "/records/" + r.body.id);
      } else {
        say(result, "The node did not accept it: " + (r.body && r.body.message ? r.body.message : "unknown reason") + ". Nothing was recorded.");
      }
    }).catch(function (e) {
      say(result, "Something went wrong before your concern was recorded (" + e + "). Nothing was sent, or the node could not be reached.");
    }).then(function () { button.disabled = false; });
  });
})();
