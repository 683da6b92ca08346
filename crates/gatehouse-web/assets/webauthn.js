// Gatehouse WebAuthn glue for the hosted pages (served as /assets/webauthn.js,
// allowed by the pages' CSP as script-src 'self'; no inline script).
//
// A form marked data-webauthn="create" or "get" carries the server's options
// (webauthn-rs JSON, binary values in base64url) in a hidden input named
// webauthn_options. Submitting it calls navigator.credentials, writes the
// answer as base64url JSON into the hidden input webauthn_response and posts
// the form. A form marked data-webauthn-conditional also starts conditional
// mediation (passkeys offered in the username field's autofill). Without
// JavaScript these forms stay hidden and the other factors work as before.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function decode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function encode(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    (list || []).forEach(function (c) {
      c.id = decode(c.id);
    });
  }

  function creationOptions(json) {
    var pk = json.publicKey;
    pk.challenge = decode(pk.challenge);
    pk.user.id = decode(pk.user.id);
    decodeList(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(json, mediation) {
    var pk = json.publicKey;
    pk.challenge = decode(pk.challenge);
    decodeList(pk.allowCredentials);
    var options = { publicKey: pk };
    if (mediation) {
      options.mediation = mediation;
    }
    return options;
  }

  function registration(cred) {
    return {
      id: cred.id,
      rawId: encode(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: encode(cred.response.attestationObject),
        clientDataJSON: encode(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : undefined
      },
      extensions: cred.getClientExtensionResults()
    };
  }

  function assertion(cred) {
    return {
      id: cred.id,
      rawId: encode(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: encode(cred.response.authenticatorData),
        clientDataJSON: encode(cred.response.clientDataJSON),
        signature: encode(cred.response.signature),
        userHandle: encode(cred.response.userHandle)
      },
      extensions: cred.getClientExtensionResults()
    };
  }

  // The form's options: inline, or (data-options-url) a fresh ceremony
  // fetched from this server, which also sets the ceremony handle.
  function options(form) {
    var inline = form.elements.webauthn_options.value;
    if (inline) {
      return Promise.resolve(JSON.parse(inline));
    }
    var url = form.getAttribute("data-options-url");
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("options: " + response.status);
      }
      return response.json();
    }).then(function (body) {
      form.elements.webauthn_ceremony.value = body.ceremony;
      form.elements.webauthn_options.value = JSON.stringify(body.options);
      return JSON.parse(form.elements.webauthn_options.value);
    });
  }

  function post(form, answer) {
    form.elements.webauthn_response.value = JSON.stringify(answer);
    form.elements.webauthn_options.value = "";
    form.submit();
  }

  function report(form, error) {
    var out = form.querySelector(".webauthn-error");
    if (out) {
      out.hidden = false;
      out.textContent = "The security key or passkey did not answer (" + error.name + "). Try again.";
    }
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    var mode = form.getAttribute("data-webauthn");
    var started = false;
    var conditional = null;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (started) {
        return;
      }
      started = true;
      if (conditional) {
        conditional.abort();
        conditional = null;
      }
      var call = options(form).then(function (json) {
        return mode === "create"
          ? navigator.credentials.create(creationOptions(json)).then(registration)
          : navigator.credentials.get(requestOptions(json)).then(assertion);
      });
      call.then(function (answer) {
        post(form, answer);
      }, function (error) {
        started = false;
        report(form, error);
      });
    });
    if (form.hasAttribute("data-webauthn-conditional") &&
        PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) {
          return;
        }
        var controller = new AbortController();
        conditional = controller;
        options(form).then(function (json) {
          var request = requestOptions(json, "conditional");
          request.signal = controller.signal;
          return navigator.credentials.get(request);
        })
          .then(assertion)
          .then(function (answer) {
            post(form, answer);
          }, function () {});
      });
    }
  });
})();
